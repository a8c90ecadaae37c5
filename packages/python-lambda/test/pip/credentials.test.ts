import { execFileSync } from 'node:child_process';
import { mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LbuildError, type DescribedFailure } from '@lbuild/core';
import { PipCredentials } from '../../src/pip/index.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lbuild-credentials-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** What pip's HTTP layer (its vendored requests) finds in the netrc for each URL. */
function pipLogins(netrc: string, urls: string[]): unknown {
  const script = `
import json, sys
from pip._vendor.requests.utils import get_netrc_auth
print(json.dumps([get_netrc_auth(u) for u in sys.argv[1:]]))
`;
  return JSON.parse(
    execFileSync('python3', ['-c', script, ...urls], {
      encoding: 'utf8',
      env: { PATH: process.env.PATH ?? '', NETRC: netrc, HOME: dir },
    }),
  );
}

const noHome = () => ({ HOME: dir });

describe('PipCredentials', () => {
  it('writes the logins to a 0600 netrc that pip reads per host', async () => {
    const credentials = new PipCredentials();
    expect(credentials.take('https://aws:T%2Fok%20x@pkgs.example.com:8443/simple/')).toBe(
      'https://pkgs.example.com:8443/simple/',
    );
    expect(credentials.take('https://ghp_abc@pypi.fury.io/me/')).toBe('https://pypi.fury.io/me/');
    expect(credentials.take('http://user:SECRET@127.0.0.1:9/simple/')).toBe(
      'http://127.0.0.1:9/simple/',
    );
    // The same login again is fine; a URL without one, or a path, is left alone.
    expect(credentials.take('https://aws:T%2Fok%20x@pkgs.example.com/other/')).toBe(
      'https://pkgs.example.com/other/',
    );
    expect(credentials.take('https://plain.example.com/simple')).toBe(
      'https://plain.example.com/simple',
    );
    expect(credentials.take('./wheels')).toBe('./wheels');
    const env = await credentials.write(dir, { pythonVersion: '3.11', env: noHome() });
    const file = join(dir, 'netrc');
    expect(env).toEqual({ NETRC: file });
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(
      pipLogins(file, [
        'https://pkgs.example.com:8443/simple/',
        'https://pypi.fury.io/me/',
        'http://127.0.0.1:9/simple/',
        'https://plain.example.com/simple',
      ]),
    ).toEqual([['aws', 'T/ok x'], ['ghp_abc', ''], ['user', 'SECRET'], null]);
  });

  it("keeps the user's own netrc, with lbuild's logins winning", async () => {
    const own = join(dir, 'own-netrc');
    await writeFile(
      own,
      'machine other.example.com login me password mine\nmachine pkgs.example.com login old password stale\n',
    );
    const credentials = new PipCredentials();
    credentials.take('https://new:fresh@pkgs.example.com/simple/');
    const env = await credentials.write(dir, { pythonVersion: '3.11', env: { NETRC: own } });
    expect(
      pipLogins(env.NETRC ?? '', ['https://other.example.com/', 'https://pkgs.example.com/']),
    ).toEqual([
      ['me', 'mine'],
      ['new', 'fresh'],
    ]);
  });

  it('writes nothing when no URL carried a login', async () => {
    const credentials = new PipCredentials();
    credentials.take('https://pypi.org/simple');
    expect(await credentials.write(dir, { pythonVersion: '3.11', env: noHome() })).toEqual({});
    expect(await readdir(dir)).toEqual([]);
  });

  it('refuses two logins for one host, naming the host but not the logins', () => {
    const credentials = new PipCredentials();
    credentials.take('https://a:tok-AAA@gitlab.example.com/api/v4/projects/1/packages/pypi/simple');
    let error: unknown;
    try {
      credentials.take(
        'https://a:tok-BBB@gitlab.example.com/api/v4/projects/2/packages/pypi/simple',
      );
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(LbuildError);
    const failure = (error as LbuildError).failure as DescribedFailure;
    expect(failure).toMatchObject({ reason: 'index-credentials-conflict', kind: 'config' });
    expect(failure.message).toContain('gitlab.example.com');
    expect(JSON.stringify(failure)).not.toMatch(/tok-/);
  });

  it('refuses what an old Python cannot read from netrc', async () => {
    const token = new PipCredentials();
    token.take('https://ghp_abc@pypi.fury.io/me/');
    await expect(token.write(dir, { pythonVersion: '3.9', env: noHome() })).rejects.toMatchObject({
      failure: { reason: 'index-credentials-unsupported' },
    });
    const plain = new PipCredentials();
    plain.take('https://user:p4ss-word@pkgs.example.com/simple/');
    expect(await plain.write(dir, { pythonVersion: '3.9', env: noHome() })).toEqual({
      NETRC: join(dir, 'netrc'),
    });
  });
});
