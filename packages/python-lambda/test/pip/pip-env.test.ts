import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SYSTEM_PYTHON, makeWheels } from '../../../../test/fixtures/python/wheels.js';
import { pipEnvironment } from '../../src/pip/pip-run.js';

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'lbuild-pip-env-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('the environment lbuild runs pip with', () => {
  it('keeps pip quiet about running as root, whatever the user set', () => {
    expect(pipEnvironment({ PATH: '/bin' }).env.PIP_ROOT_USER_ACTION).toBe('ignore');
    const { env, ignored } = pipEnvironment({ PATH: '/bin', PIP_ROOT_USER_ACTION: 'warn' });
    expect(env.PIP_ROOT_USER_ACTION).toBe('ignore');
    expect(ignored).toEqual([]);
  });

  it('a real pip install under it prints no root warning (as a build environment does)', async () => {
    const [wheel] = await makeWheels(join(root, 'wheels'), [
      { name: 'tiny', version: '1.0', files: { 'tiny/__init__.py': '' } },
    ]);
    if (!wheel) throw new Error('no wheel made');
    const run = spawnSync(
      SYSTEM_PYTHON,
      ['-m', 'pip', 'install', '--disable-pip-version-check', '--no-index', '--no-deps'].concat([
        '--target',
        join(root, 'target'),
        wheel,
      ]),
      { env: pipEnvironment(process.env).env, encoding: 'utf8' },
    );
    expect(run.stdout).toContain('Successfully installed tiny-1.0');
    expect(run.status).toBe(0);
    expect(run.stderr).not.toMatch(/Running pip as the 'root' user/);
  });
});
