/**
 * Environment markers are judged for the Lambda runtime, not the build machine: real pip (the
 * build Python on PATH, 3.11 on x86_64 in CI) fills a wheelhouse and stages it for runtimes that
 * differ from it, from fixture wheels whose `Requires-Dist` carry one marker kind each.
 *
 * Some marker fields (sys_platform, implementation_name, …) have the same value on this Linux
 * CPython as on Lambda. To show that they are judged for Lambda too, those tests make pip see a
 * Windows PyPy build machine: a sitecustomize on PYTHONPATH replaces the marker environment of
 * pip's own `packaging`, which is where pip reads the build machine's.
 */
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LbuildError, type DescribedFailure } from '@lbuild/core';
import { fillWheelhouse, probePython, runtimePlatform } from '../../src/pip/index.js';
import { resolveStaging } from './resolve-staging.js';
import type { BuildPython, FillWheelhouseArgs, RuntimePlatform } from '../../src/pip/index.js';
import { makeWheels } from '../../../../test/fixtures/python/wheels.js';

let root: string;
let findLinks: string;
let python: BuildPython;
let counter = 0;

/** Each dependency of `app` and `plugins`, and the runtimes whose markers let it in. */
const APP_DEPS = [
  'depa; python_version >= "3.12"',
  'exgroup; python_version < "3.11"',
  'tyext; python_version < "3.12"',
  'armdep; platform_machine == "aarch64"',
  'x86dep; platform_machine == "x86_64"',
  'windep; sys_platform == "win32"',
  'winsys; platform_system == "Windows" or os_name == "nt"',
  'pypydep; implementation_name == "pypy"',
  'pypyimpl; platform_python_implementation == "PyPy"',
  'backport; python_full_version < "3.11.4"',
  'plugins[fast]',
];
const LEAVES = [
  'depa',
  'exgroup',
  'tyext',
  'armdep',
  'x86dep',
  'windep',
  'winsys',
  'pypydep',
  'pypyimpl',
  'backport',
  'speedup',
  'slowpath',
  'top312',
  'top310',
  'nowhere-near',
];

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'lbuild-markers-'));
  findLinks = join(root, 'find-links');
  await makeWheels(findLinks, [
    { name: 'app', version: '1.0', deps: APP_DEPS },
    {
      name: 'plugins',
      version: '1.0',
      deps: ['speedup; extra == "fast" and python_version >= "3.12"', 'slowpath; extra == "slow"'],
    },
    // Needs beta below 2.1, but only on 3.12: pip on a 3.11 machine picks beta 2.1.
    { name: 'capper', version: '1.0', deps: ['beta<2.1; python_version >= "3.12"'] },
    { name: 'beta', version: '2.0' },
    { name: 'beta', version: '2.1' },
    // Needs something no source has, but only on 3.12.
    { name: 'lost', version: '1.0', deps: ['nowhere; python_version >= "3.12"'] },
    ...LEAVES.map((name) => ({ name, version: '1.0' })),
  ]);
  python = await probePython('python3', {});
}, 120_000);

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

/**
 * How pip sees the build machine: `real` (this one), `windows-pypy` (its marker environment says
 * Windows PyPy), or `pinned` (pip evaluates markers for this machine however it is asked to, as a
 * pip whose internals lbuild cannot reach would: only lbuild's own walk of the metadata is left).
 */
type Host = 'real' | 'windows-pypy' | 'pinned';

const SITECUSTOMIZE = `
import json, os
mode = os.environ.get("LBUILD_TEST_PIP_HOST")
if mode:
    from pip._vendor.packaging import markers
    host = markers.default_environment()
    if mode == "windows-pypy":
        host.update(sys_platform="win32", platform_system="Windows", os_name="nt",
                    implementation_name="pypy", platform_python_implementation="PyPy")
        markers.default_environment = lambda: dict(host)
    elif mode == "pinned":
        evaluate = markers.Marker.evaluate
        def pinned(self, environment=None, *args, **kwargs):
            saved = markers.default_environment
            markers.default_environment = lambda: dict(host)
            try:
                return evaluate(self, environment, *args, **kwargs)
            finally:
                markers.default_environment = saved
        markers.Marker.evaluate = pinned
`;

async function hostEnv(host: Host): Promise<Record<string, string | undefined>> {
  const base = Object.fromEntries(
    Object.entries(process.env).filter(([key]) => !key.startsWith('PIP_')),
  );
  if (host === 'real') return base;
  const dir = join(root, 'sitecustomize');
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'sitecustomize.py'), SITECUSTOMIZE);
  return { ...base, PYTHONPATH: dir, LBUILD_TEST_PIP_HOST: host };
}

interface Built {
  /** Project names of the wheels filled and staged (the same list, checked). */
  projects: string[];
  dropped: string[];
  added: string[];
  output: string[];
}

async function build(
  requirements: string,
  platform: RuntimePlatform,
  host: Host = 'real',
  extra: Partial<FillWheelhouseArgs> = {},
): Promise<Built> {
  const dir = join(root, `project-${++counter}`);
  await mkdir(dir, { recursive: true });
  const file = join(dir, 'requirements.txt');
  await writeFile(file, requirements);
  const env = await hostEnv(host);
  const output: string[] = [];
  const wheelhouseDir = join(dir, '.lbuild', 'wheelhouse');
  const filled = await fillWheelhouse({
    python,
    requirements: file,
    platform,
    index: { extraIndexUrls: [], findLinks: [findLinks], noIndex: true },
    wheelhouseDir,
    cwd: dir,
    env,
    onOutput: (line) => output.push(line),
    ...extra,
  });
  const staged = await resolveStaging({
    python,
    requirements: file,
    platform,
    wheelhouseDir,
    stagingDir: join(dir, 'staging'),
    cwd: dir,
    env,
  });
  // Project names; beta with its version, which some runtimes bound.
  const projects = (paths: string[]) =>
    paths
      .map((p) => {
        const [name = '', version = ''] = basename(p).split('-');
        return name === 'beta' ? `${name}-${version}` : name;
      })
      .sort();
  expect(projects(staged.wheels)).toEqual(projects(filled.wheels));
  expect((await readdir(join(dir, 'staging'))).sort()).toEqual(
    staged.wheels.map((w) => basename(w)).sort(),
  );
  return {
    projects: projects(filled.wheels),
    dropped: filled.dropped,
    added: filled.added,
    output,
  };
}

/**
 * The project: `app` (a dependency of each marker kind), two top-level lines with markers, and
 * `capper`, which bounds beta below 2.1 on 3.12 only (pip on a 3.11 machine would pick 2.1).
 */
const PROJECT = [
  'app==1.0',
  'top312; python_version >= "3.12"',
  'top310 ; python_version < "3.11"',
  'capper==1.0',
  'beta>=2',
].join('\n');

describe('markers judged for the Lambda runtime (real pip, this machine as build machine)', () => {
  it('python3.12 from a 3.11 machine: python_version >= "3.12" added, < "3.12" dropped, extras followed', async () => {
    const built = await build(PROJECT, runtimePlatform('3.12', 'x86_64'));
    expect(built.projects).toEqual([
      'app',
      'beta-2.0',
      'capper',
      'depa',
      'plugins',
      'speedup',
      'top312',
      'x86dep',
    ]);
  });

  it('python3.10: python_version < "3.11" (exceptiongroup-like) and python_full_version < "3.11.4" added', async () => {
    const built = await build(PROJECT, runtimePlatform('3.10', 'x86_64'));
    expect(built.projects).toEqual([
      'app',
      'backport',
      'beta-2.1',
      'capper',
      'exgroup',
      'plugins',
      'top310',
      'tyext',
      'x86dep',
    ]);
  });

  it('python3.11 from 3.11.7: python_full_version is judged as 3.11.0, not the build machine’s patch', async () => {
    const built = await build('app==1.0\n', runtimePlatform('3.11', 'x86_64'));
    expect(built.projects).toEqual(['app', 'backport', 'plugins', 'tyext', 'x86dep']);
  });

  it('arm64: platform_machine == "aarch64" added, == "x86_64" dropped', async () => {
    const built = await build('app==1.0\n', runtimePlatform('3.12', 'arm64'));
    expect(built.projects).toEqual(['app', 'armdep', 'depa', 'plugins', 'speedup']);
  });

  it('a dependency the runtime needs and no source has fails, naming the requirer and the requirement', async () => {
    const error = await build('lost==1.0\n', runtimePlatform('3.12', 'x86_64')).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(LbuildError);
    expect((error as LbuildError).failure).toMatchObject({
      reason: 'requirement-not-found',
      message: expect.stringMatching(/nowhere.*required by lost/),
    });
    // For 3.11 nothing is missing.
    expect((await build('lost==1.0\n', runtimePlatform('3.11', 'x86_64'))).projects).toEqual([
      'lost',
    ]);
  });
});

describe('markers judged for the Lambda runtime whatever the build machine', () => {
  it('sys_platform, platform_system, os_name, implementation_name, platform_python_implementation: Windows PyPy deps dropped', async () => {
    const built = await build('app==1.0\n', runtimePlatform('3.12', 'x86_64'), 'windows-pypy');
    expect(built.projects).toEqual(['app', 'depa', 'plugins', 'speedup', 'x86dep']);
  });

  it('with a pip that judges markers for the build machine, the Requires-Dist walk drops, adds and bounds', async () => {
    const built = await build(PROJECT, runtimePlatform('3.12', 'arm64'), 'pinned');
    expect(built.projects).toEqual([
      'app',
      'armdep',
      'beta-2.0',
      'capper',
      'depa',
      'plugins',
      'speedup',
      'top312',
    ]);
    // pip pinned to this machine also takes backport when the build Python is older than
    // 3.11.4 (python_full_version); Lambda's 3.12 never needs it, so the walk drops it too.
    const [minor = 0, patch = 0] = python.version.split('.').slice(1).map(Number);
    const hostTakesBackport = minor < 11 || (minor === 11 && patch < 4);
    expect(built.dropped).toEqual([
      ...(hostTakesBackport ? ['backport-1.0-py3-none-any.whl'] : []),
      'tyext-1.0-py3-none-any.whl',
      'x86dep-1.0-py3-none-any.whl',
    ]);
    expect(built.added).toEqual([
      'top312 (for requirements.txt line 2)',
      'depa (for app 1.0)',
      'armdep (for app 1.0)',
      'speedup (for plugins[fast] 1.0)',
      'beta<2.1 (for capper 1.0)',
    ]);
  });

  it('with such a pip, an unsatisfiable dependency names the requirer', async () => {
    const error = await build('lost==1.0\n', runtimePlatform('3.12', 'x86_64'), 'pinned').catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(LbuildError);
    expect(((error as LbuildError).failure as DescribedFailure).message).toMatch(
      /^python3\.12 x86_64 needs nowhere \(required by lost 1\.0\), which pip skipped on this machine .*No distribution found for nowhere/,
    );
  });
});
