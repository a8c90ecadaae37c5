import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LbuildError, type DescribedFailure } from '@lbuild/core';
import { SYSTEM_PYTHON } from '../../../../test/fixtures/python/wheels.js';
import { findIndexFailure } from '../../src/pip/index-failures.js';
import { expandVariables, resolvePackageSources } from '../../src/pip/package-sources.js';
import { parseIni, pipConfigFiles, readPipConfiguration } from '../../src/pip/pip-config.js';

let root: string;
beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'lbuild-pip-config-'));
});
afterAll(() => {
  rmSync(root, { recursive: true, force: true });
});

const PREFIX = spawnSync(SYSTEM_PYTHON, ['-c', 'import sys; print(sys.prefix)'], {
  encoding: 'utf8',
}).stdout.trim();

/** The files `pip config debug` lists per level, with whether they exist. */
function pipsOwnList(env: Record<string, string>): Record<string, string[]> {
  const run = spawnSync(SYSTEM_PYTHON, ['-m', 'pip', 'config', 'debug'], {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env },
    encoding: 'utf8',
  });
  expect(run.status, run.stderr).toBe(0);
  const levels: Record<string, string[]> = {};
  let level = '';
  for (const line of run.stdout.split('\n')) {
    const header = /^(\w+):$/.exec(line);
    if (header !== null) level = header[1] ?? '';
    const file = /^ {2}(\S.*), exists: (True|False)$/.exec(line);
    if (file !== null && level !== 'env_var')
      (levels[level] ??= []).push(`${file[1] ?? ''} ${file[2] === 'True'}`);
  }
  return levels;
}

function ourList(env: Record<string, string>): Record<string, string[]> {
  const levels: Record<string, string[]> = {};
  for (const file of pipConfigFiles({ env, prefix: PREFIX, command: 'download' }))
    (levels[file.level] ??= []).push(`${file.path} ${file.exists}`);
  return levels;
}

describe("pip's configuration files", () => {
  it('are the ones pip itself lists (pip config debug), under several environments', () => {
    const home = join(root, 'home');
    mkdirSync(join(home, '.config', 'pip'), { recursive: true });
    mkdirSync(join(home, 'xdg', 'pip'), { recursive: true });
    writeFileSync(join(home, '.config', 'pip', 'pip.conf'), '[global]\n');
    writeFileSync(join(home, 'xdg', 'pip', 'pip.conf'), '[global]\n');
    const own = join(root, 'own.conf');
    writeFileSync(own, '[global]\n');
    const cases: Record<string, string>[] = [
      { HOME: home },
      { HOME: home, XDG_CONFIG_HOME: join(home, 'xdg'), XDG_CONFIG_DIRS: `${root}/a:${root}/b` },
      // An existing PIP_CONFIG_FILE replaces the user's files; a missing one does not.
      { HOME: home, PIP_CONFIG_FILE: own },
      { HOME: home, PIP_CONFIG_FILE: join(root, 'missing.conf') },
    ];
    for (const env of cases) {
      const theirs = pipsOwnList(env);
      const ours = ourList(env);
      expect({ env, files: ours }).toEqual({
        env,
        files: {
          global: theirs.global,
          ...(theirs.user === undefined ? {} : { user: theirs.user }),
          site: theirs.site,
          ...(theirs.env === undefined || theirs.env.length === 0 ? {} : { env: theirs.env }),
        },
      });
    }
    // /dev/null loads none at all.
    expect(
      pipConfigFiles({
        env: { PIP_CONFIG_FILE: '/dev/null' },
        prefix: PREFIX,
        command: 'download',
      }),
    ).toEqual([]);
  });

  it('merge as pip does: [global] < [command] across files, then PIP_* variables', () => {
    const home = join(root, 'merge');
    mkdirSync(join(home, '.config', 'pip'), { recursive: true });
    mkdirSync(join(home, 'etc', 'pip'), { recursive: true });
    writeFileSync(
      join(home, 'etc', 'pip', 'pip.conf'),
      '[download]\nfind_links = /from/global/download\n',
    );
    writeFileSync(
      join(home, '.config', 'pip', 'pip.conf'),
      [
        '# a comment',
        '[global]',
        'index-url = https://user.example/simple/',
        'extra-index-url =',
        '    https://one.example/simple/',
        '    https://two.example/simple/',
        '--find-links: /from/user/global',
        'no-binary = :all:',
        '',
      ].join('\n'),
    );
    const env = { HOME: home, XDG_CONFIG_DIRS: join(home, 'etc'), PIP_NO_INDEX: 'yes' };
    const config = readPipConfiguration({ env, prefix: undefined, command: 'download' });
    const value = (key: string) => config.values.get(key)?.value;
    expect(value('index-url')).toBe('https://user.example/simple/');
    expect(value('extra-index-url')?.split(/\s+/).filter(Boolean)).toEqual([
      'https://one.example/simple/',
      'https://two.example/simple/',
    ]);
    // The command's section beats [global], even from a file loaded earlier.
    expect(config.values.get('find-links')).toEqual({
      value: '/from/global/download',
      origin: { kind: 'file', file: join(home, 'etc', 'pip', 'pip.conf'), section: 'download' },
    });
    expect(config.values.get('no-index')?.origin).toEqual({
      kind: 'variable',
      name: 'PIP_NO_INDEX',
    });
    // Under `pip wheel` the [download] section does not count.
    const wheel = readPipConfiguration({ env, prefix: undefined, command: 'wheel' });
    expect(wheel.values.get('find-links')?.value).toBe('/from/user/global');

    const sources = resolvePackageSources({
      keys: { 'find-links': ['wheels'] },
      mode: 'use',
      env,
      prefix: undefined,
      command: 'download',
      projectRoot: root,
      location: (key) => ({ file: join(root, 'lbuild.toml'), key }),
      table: '[bundle.fn]',
    });
    expect(sources.index).toEqual({
      indexUrl: 'https://user.example/simple/',
      extraIndexUrls: ['https://one.example/simple/', 'https://two.example/simple/'],
      findLinks: ['wheels'],
      noIndex: true,
    });
    expect(sources.origins.findLinks).toEqual({ kind: 'lbuild.toml', key: 'find-links' });
    expect(sources.ignored).toEqual([
      `no-binary (${join(home, '.config', 'pip', 'pip.conf')} [global])`,
    ]);
  });

  it('parses continuation lines, [DEFAULT] and both separators as configparser does', () => {
    const ini = parseIni('[DEFAULT]\ntimeout = 5\n[global]\nA_Key: x\n  y\n; note\n[install]\n');
    expect(Object.fromEntries([...ini].map(([k, v]) => [k, Object.fromEntries(v)]))).toEqual({
      global: { a_key: 'x\ny', timeout: '5' },
      install: { timeout: '5' },
    });
  });
});

describe('${VAR} in lbuild.toml package sources', () => {
  const where = {
    table: '[bundle.fn]',
    key: 'index-url',
    location: { file: 'lbuild.toml', line: 3 },
  };

  it('expands set variables and defaults as a shell does', () => {
    const env = { HOST: 'pkgs.example', TOKEN: 't0k', EMPTY: '' };
    expect(expandVariables('https://x:${TOKEN}@${HOST}/simple/', env, where)).toBe(
      'https://x:t0k@pkgs.example/simple/',
    );
    expect(expandVariables('${PORT:-8080}/${EMPTY:-e}/${EMPTY}', env, where)).toBe('8080/e/');
  });

  it('an unset variable is a config error naming it, the key and where', () => {
    let error: unknown;
    try {
      expandVariables('https://${NOT_SET_ANYWHERE}@x/', {}, where);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(LbuildError);
    const failure = (error as LbuildError).failure as DescribedFailure;
    expect(failure).toMatchObject({
      kind: 'config',
      reason: 'unset-variable',
      location: where.location,
    });
    expect(failure.message).toContain('${NOT_SET_ANYWHERE}');
    expect(failure.message).toContain('index-url');
  });
});

describe('index failures in pip output', () => {
  it('tell refused logins, unreachable hosts and TLS from a missing project', () => {
    const fetch = (reason: string) => [
      `Could not fetch URL https://pkgs.example/simple/foo/: ${reason} - skipping`,
    ];
    expect(
      findIndexFailure(
        fetch(
          "HTTPSConnectionPool(host='pkgs.example', port=443): Max retries exceeded with url: /simple/foo/ (Caused by NameResolutionError(\"<urllib3.connection.HTTPSConnection object>: Failed to resolve 'pkgs.example' ([Errno -2] Name or service not known)\"))",
        ),
      ),
    ).toMatchObject({ problem: 'unreachable', detail: 'the host name did not resolve (DNS)' });
    expect(
      findIndexFailure(
        fetch(
          "HTTPSConnectionPool(host='pkgs.example', port=443): Read timed out. (read timeout=15)",
        ),
      ),
    ).toMatchObject({ problem: 'unreachable', detail: 'timed out' });
    expect(
      findIndexFailure(
        fetch(
          "There was a problem confirming the ssl certificate: HTTPSConnectionPool(host='pkgs.example', port=443): Max retries exceeded with url: /simple/foo/ (Caused by SSLError(SSLCertVerificationError(1, '[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: self-signed certificate (_ssl.c:1006)')))",
        ),
      ),
    ).toMatchObject({
      problem: 'tls',
      detail: 'certificate verify failed: self-signed certificate',
    });
    expect(
      findIndexFailure(
        fetch('403 Client Error: Forbidden for url: https://pkgs.example/simple/foo/'),
      ),
    ).toMatchObject({ problem: 'refused-credentials', detail: '403 Forbidden' });
    // An index without the project answers 404: that is not a failure of the index.
    expect(
      findIndexFailure(
        fetch('404 Client Error: Not Found for url: https://pkgs.example/simple/foo/'),
      ),
    ).toBeUndefined();
  });
});
