import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LbuildError, isAbortError, ownerTag } from '@lbuild/core';
import {
  fillWheelhouse,
  probePython,
  readRequirements,
  runtimePlatform,
  wheelhousePath,
} from '../../src/pip/index.js';
import { resolveStaging } from './resolve-staging.js';
import type {
  BuildPython,
  FillWheelhouseArgs,
  IndexOptions,
  PipFailure,
  ProcessRunner,
  RuntimePlatform,
} from '../../src/pip/index.js';
import {
  SYSTEM_PYTHON,
  makeCExtensionWheel,
  makeForeignWheel,
  makeLocalProject,
  makeWheels,
} from '../../../../test/fixtures/python/wheels.js';
import { makePosingPython } from '../../../../test/fixtures/python/posing-python.js';

let root: string;
let findLinks: string;
let python: BuildPython;
let systemPython: BuildPython;
let cextWheel: string;
let counter = 0;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'lbuild-wheelhouse-'));
  findLinks = join(root, 'find-links');
  await makeWheels(findLinks, [
    { name: 'alpha', version: '1.0', deps: ['beta>=2'] },
    { name: 'beta', version: '2.0' },
    { name: 'beta', version: '2.1' },
    { name: 'gamma', version: '1.0' },
    { name: 'Delta_Thing', version: '0.5', deps: ['gamma'] },
  ]);
  await makeForeignWheel(findLinks, {
    name: 'foreign',
    version: '1.0',
    python: '3.12',
    arch: 'aarch64',
  });
  await makeForeignWheel(findLinks, {
    name: 'fastthing',
    version: '1.0',
    python: '3.12',
    arch: 'aarch64',
  });
  await makeForeignWheel(findLinks, {
    name: 'fastthing',
    version: '1.0',
    python: '3.12',
    arch: 'x86_64',
  });
  // A real C extension built by Debian's Python (cp311), tagged as auditwheel would.
  cextWheel = await makeCExtensionWheel(findLinks, { retag: 'manylinux_2_17_x86_64' });
  const env = { ...process.env };
  python = await probePython('python3', { env });
  systemPython = await probePython(SYSTEM_PYTHON, {});
}, 120_000);

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

interface Project {
  dir: string;
  wheelhouse: string;
  staging: string;
  requirements: string;
}

async function project(requirements: string): Promise<Project> {
  const dir = join(root, `project-${++counter}`);
  await mkdir(dir, { recursive: true });
  const file = join(dir, 'requirements.txt');
  await writeFile(file, requirements);
  return {
    dir,
    wheelhouse: join(dir, '.lbuild', 'wheelhouse'),
    staging: join(dir, '.lbuild', 'staging', 'api'),
    requirements: file,
  };
}

const offline: IndexOptions = { extraIndexUrls: [], findLinks: [], noIndex: true };

function args(
  p: Project,
  platform: RuntimePlatform,
  extra: Partial<FillWheelhouseArgs> = {},
): FillWheelhouseArgs {
  return {
    python,
    requirements: p.requirements,
    platform,
    index: { ...offline, findLinks: [findLinks] },
    wheelhouseDir: p.wheelhouse,
    cwd: p.dir,
    ...extra,
  };
}

async function fillAndStage(
  p: Project,
  platform: RuntimePlatform,
  extra: Partial<FillWheelhouseArgs> = {},
  allowHostBuiltWheels = false,
) {
  const output: string[] = [];
  const a = { ...args(p, platform, extra), onOutput: (line: string) => output.push(line) };
  const filled = await fillWheelhouse(a);
  const staged = await resolveStaging({
    python: a.python,
    requirements: a.requirements,
    platform,
    wheelhouseDir: p.wheelhouse,
    stagingDir: p.staging,
    cwd: p.dir,
    strategy: extra.strategy,
    allowHostBuiltWheels,
    onOutput: (line) => output.push(line),
  });
  return { filled, staged, output };
}

const names = (paths: string[]) => paths.map((p) => basename(p));

async function failure(promise: Promise<unknown>): Promise<PipFailure> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof LbuildError) return error.failure as PipFailure;
    throw error;
  }
  throw new Error('expected a failure');
}

const py312 = () => runtimePlatform('3.12', 'x86_64');

describe('fillWheelhouse + resolveStaging', () => {
  it('downloads wheels for python3.12 on a 3.11 machine: pins, a dependency chain, a local project', async () => {
    const p = await project('alpha==1.0\nbeta==2.0\n./localpkg\nfastthing==1.0\n');
    await makeLocalProject(join(p.dir, 'localpkg'), {
      name: 'localpkg',
      version: '0.1',
      deps: ['Delta-Thing==0.5'],
    });
    const { filled, staged, output } = await fillAndStage(p, py312());
    expect(filled.strategy).toBe('pip-download');
    expect(filled.mismatches).toContain(
      `the build Python is ${python.pythonVersion}, the runtime is python3.12`,
    );
    expect(filled.dir).toBe(join(p.wheelhouse, 'cp312-manylinux_2_34_x86_64'));
    expect(names(filled.wheels)).toEqual([
      'Delta_Thing-0.5-py3-none-any.whl',
      'alpha-1.0-py3-none-any.whl',
      'beta-2.0-py3-none-any.whl',
      'fastthing-1.0-cp312-cp312-manylinux_2_17_x86_64.whl',
      'gamma-1.0-py3-none-any.whl',
      'localpkg-0.1-py3-none-any.whl',
    ]);
    expect(staged.dir).toBe(p.staging);
    expect(names(staged.wheels)).toEqual(names(filled.wheels));
    expect(staged.wheels.every((w) => w.startsWith(`${p.staging}/`))).toBe(true);
    expect((await readdir(p.staging)).sort()).toEqual(names(staged.wheels).sort());
    // The local project's wheel is kept apart from the shared cache.
    expect(await readdir(filled.dir)).not.toContain('localpkg-0.1-py3-none-any.whl');
    // The user's project tree is untouched by the build.
    expect((await readdir(join(p.dir, 'localpkg'))).sort()).toEqual([
      '_lbuild_fixture_backend.py',
      'lbuild-fixture.json',
      'localpkg',
      'pyproject.toml',
    ]);
    expect(output.join('\n')).toContain('Saved');
    // No scratch directories are left behind.
    expect((await readdir(filled.dir)).filter((f) => f.startsWith('.'))).toEqual([]);
  });

  it('picks the arm64 wheel for an arm64 runtime, in its own wheelhouse directory', async () => {
    const p = await project('fastthing==1.0\nforeign==1.0\n');
    const platform = runtimePlatform('3.12', 'arm64');
    const { filled, staged } = await fillAndStage(p, platform);
    expect(filled.dir).toBe(wheelhousePath(p.wheelhouse, platform));
    expect(basename(filled.dir)).toBe('cp312-manylinux_2_34_aarch64');
    expect(names(staged.wheels)).toEqual([
      'fastthing-1.0-cp312-cp312-manylinux_2_17_aarch64.whl',
      'foreign-1.0-cp312-cp312-manylinux_2_17_aarch64.whl',
    ]);
  });

  it('stages a real C-extension wheel when it suits the runtime (python3.11, manylinux_2_17)', async () => {
    const p = await project('cext_fixture==1.0\n');
    const { staged } = await fillAndStage(p, runtimePlatform('3.11', 'x86_64'));
    expect(names(staged.wheels)).toEqual([basename(cextWheel)]);
    expect(readFileSync(staged.wheels[0]!)).toEqual(readFileSync(cextWheel));
  });

  it('builds with pip wheel when the build Python matches the runtime, C extensions included', async () => {
    const p = await project('./cextpkg\ncext_fixture==1.0\n');
    await makeLocalProject(join(p.dir, 'cextpkg'), {
      name: 'cextpkg',
      version: '0.3',
      backend: 'setuptools',
      ext: true,
    });
    const platform = runtimePlatform(systemPython.pythonVersion, 'x86_64');
    const cp = `cp${systemPython.pythonVersion.replace('.', '')}`;
    // This machine's glibc may be newer than Amazon Linux's, so force what a matching machine would do.
    const forced = { python: systemPython, strategy: 'pip-wheel', noBuildIsolation: true } as const;
    // The local C extension becomes a linux_* wheel: refused unless the bundle opts in.
    const refused = await failure(fillAndStage(p, platform, forced));
    expect(refused).toMatchObject({
      reason: 'host-built-wheel',
      found: [`cextpkg-0.3-${cp}-${cp}-linux_x86_64.whl`],
    });
    await expect(stat(p.staging)).rejects.toThrow();
    const { filled, staged } = await fillAndStage(p, platform, forced, true);
    expect(filled.strategy).toBe('pip-wheel');
    expect(names(staged.wheels)).toEqual([
      basename(cextWheel),
      `cextpkg-0.3-${cp}-${cp}-linux_x86_64.whl`,
    ]);
    // Built from a copy: no build/ or egg-info in the user's tree.
    expect((await readdir(join(p.dir, 'cextpkg'))).sort()).toEqual(['cextpkg', 'setup.py', 'src']);
    // A second run finds the cached wheel in the wheelhouse, with no other source.
    const again = await fillWheelhouse({
      ...args(p, platform, { python: systemPython, strategy: 'pip-wheel', noBuildIsolation: true }),
      index: offline,
    });
    expect(names(again.wheels)).toEqual(names(staged.wheels));
  }, 180_000);

  it('removes a dropped requirement from staging while the wheelhouse keeps it', async () => {
    const p = await project('alpha==1.0\ngamma==1.0\n');
    const first = await fillAndStage(p, py312());
    expect(names(first.staged.wheels)).toEqual([
      'alpha-1.0-py3-none-any.whl',
      'beta-2.1-py3-none-any.whl',
      'gamma-1.0-py3-none-any.whl',
    ]);
    await writeFile(p.requirements, 'gamma==1.0\n');
    const second = await fillAndStage(p, py312());
    expect(names(second.staged.wheels)).toEqual(['gamma-1.0-py3-none-any.whl']);
    expect((await readdir(p.staging)).sort()).toEqual(['gamma-1.0-py3-none-any.whl']);
    expect(await readdir(second.filled.dir)).toContain('alpha-1.0-py3-none-any.whl');
    await writeFile(p.requirements, '# nothing left\n');
    const third = await fillAndStage(p, py312());
    expect(third.staged.wheels).toEqual([]);
    expect(await readdir(p.staging)).toEqual([]);
  });

  it('reuses the wheelhouse with no source at all once it is filled', async () => {
    const p = await project('alpha==1.0\n');
    await fillWheelhouse(args(p, py312()));
    const again = await fillWheelhouse(args(p, py312(), { index: offline }));
    expect(names(again.wheels)).toEqual([
      'alpha-1.0-py3-none-any.whl',
      'beta-2.1-py3-none-any.whl',
    ]);
  });

  it('sweeps scratch directories of dead lbuild processes, not of live ones', async () => {
    const p = await project('gamma==1.0\n');
    const dir = wheelhousePath(p.wheelhouse, py312());
    // No process has pid 4194304 (above Linux's pid_max); this test process is alive.
    await mkdir(join(dir, '.tmp-scratch.4194304-1.dead.tmp'), { recursive: true });
    const alive = `.tmp-scratch.${ownerTag()}.alive.tmp`;
    await mkdir(join(dir, alive), { recursive: true });
    await fillWheelhouse(args(p, py312()));
    expect((await readdir(dir)).sort()).toEqual([alive, 'gamma-1.0-py3-none-any.whl']);
  });

  it('says which requirement pip cannot find', async () => {
    const p = await project('alpha==1.0\nbeta==9.9\n');
    const f = await failure(fillWheelhouse(args(p, py312())));
    expect(f).toMatchObject({
      kind: 'build',
      reason: 'requirement-not-found',
      requirement: 'beta==9.9',
      message: 'No distribution found for beta==9.9. Versions available: 2.0, 2.1.',
    });
    expect(f.hint).toContain('find-links');
    expect(await readdir(join(p.wheelhouse, py312().key))).toEqual([]);
  });

  it('says when a dependency of a requirement is missing, and who needs it', async () => {
    const p = await project('localpkg @ file:./localpkg\n');
    await makeLocalProject(join(p.dir, 'localpkg'), {
      name: 'localpkg',
      version: '0.1',
      deps: ['missing-dep>=1'],
    });
    const f = await failure(fillWheelhouse(args(p, py312())));
    expect(f).toMatchObject({
      reason: 'requirement-not-found',
      requirement: 'missing-dep>=1',
      message: 'No distribution found for missing-dep>=1 (required by localpkg).',
    });
  });

  it("says 'no-suitable-wheel' when the only wheel is for another platform", async () => {
    const p = await project('foreign==1.0\n');
    const platform = py312();
    const f = await failure(fillWheelhouse(args(p, platform)));
    expect(f).toMatchObject({
      kind: 'build',
      reason: 'no-suitable-wheel',
      requirement: 'foreign==1.0',
      platforms: platform.platforms,
      found: ['foreign-1.0-cp312-cp312-manylinux_2_17_aarch64.whl'],
      message:
        'No wheel of foreign==1.0 suits the Lambda runtime python3.12 x86_64 (tags tried: cp312/abi3/none on manylinux_2_34_x86_64 down to manylinux_2_5_x86_64). ' +
        'Found: foreign-1.0-cp312-cp312-manylinux_2_17_aarch64.whl: built for another CPU (cp312-cp312-manylinux_2_17_aarch64).',
    });
    expect(f.hint).toContain('architecture in lbuild.toml (now "x86_64")');
  });

  it("says 'no-suitable-wheel' for a wheel built for another Python", async () => {
    const p = await project('cext_fixture==1.0\n');
    const f = await failure(fillWheelhouse(args(p, py312())));
    expect(f).toMatchObject({
      reason: 'no-suitable-wheel',
      requirement: 'cext_fixture==1.0',
      found: [basename(cextWheel)],
    });
    expect(f.message).toContain('built for another Python (cp311-cp311-manylinux_2_17_x86_64)');
    expect(f.hint).toContain('CPython 3.12');
  });

  it('refuses a local project that is not pure Python when downloading for another runtime', async () => {
    const p = await project('./cextpkg\n');
    await makeLocalProject(join(p.dir, 'cextpkg'), {
      name: 'cextpkg',
      version: '0.3',
      backend: 'setuptools',
      ext: true,
    });
    const f = await failure(
      fillWheelhouse(args(p, py312(), { python: systemPython, noBuildIsolation: true })),
    );
    const cp = `cp${systemPython.pythonVersion.replace('.', '')}`;
    expect(f.reason).toBe('local-project-not-pure');
    expect(f.message).toContain(
      `The local project ./cextpkg (${join(p.dir, 'cextpkg')}) is not pure Python: it built cextpkg-0.3-${cp}-${cp}-linux_x86_64.whl`,
    );
  });

  it('refuses a free-threaded build Python before pip runs, as a config error', async () => {
    const posing = await makePosingPython(join(root, 'free-threaded'), { abiflags: 't' });
    const ft = await probePython(posing, {});
    const p = await project('gamma==1.0\n');
    let started = 0;
    const runner: ProcessRunner = () => {
      started++;
      throw new Error('pip must not run');
    };
    const f = await failure(fillWheelhouse({ ...args(p, py312(), { python: ft }), runner }));
    const abi = `cp${ft.pythonVersion.replace('.', '')}t`;
    expect(f).toMatchObject({
      reason: 'free-threaded-build-python',
      kind: 'config',
      message: `The build Python ${JSON.stringify(posing)} (${ft.executable}, ${ft.version}, ABI ${abi}) is a free-threaded build. Lambda runs the standard CPython build, which cannot load extension modules built for ${abi}.`,
    });
    expect(started).toBe(0);
  });

  it('says when the build Python has no pip, as a config error', async () => {
    const p = await project('gamma==1.0\n');
    const venv = join(p.dir, 'venv');
    execFileSync('python3', ['-m', 'venv', '--without-pip', venv]);
    const noPip = await probePython(join(venv, 'bin', 'python'), {});
    const f = await failure(fillWheelhouse(args(p, py312(), { python: noPip })));
    expect(f).toMatchObject({
      kind: 'config',
      reason: 'pip-not-found',
      message: 'The build Python has no pip.',
    });
    expect(f.hint).toContain('build-python');
  });

  it('reports a missing requirements file exactly', async () => {
    const p = await project('');
    const missing = join(p.dir, 'nope.txt');
    const f = await failure(fillWheelhouse({ ...args(p, py312()), requirements: missing }));
    expect(f).toMatchObject({
      kind: 'config',
      reason: 'requirements-not-found',
      message: `Requirements file not found: ${missing}`,
    });
  });

  it('checks hashes when the requirements use them', async () => {
    const gamma = join(findLinks, 'gamma-1.0-py3-none-any.whl');
    const sha = createHash('sha256').update(readFileSync(gamma)).digest('hex');
    const good = await project(`gamma==1.0 --hash=sha256:${sha}\n`);
    const { staged } = await fillAndStage(good, py312());
    expect(names(staged.wheels)).toEqual(['gamma-1.0-py3-none-any.whl']);
    // A local project in hash-checking mode: lbuild hashes the wheel it built.
    const withLocal = await project(`gamma==1.0 --hash=sha256:${sha}\n./localpkg\n`);
    await makeLocalProject(join(withLocal.dir, 'localpkg'), { name: 'localpkg', version: '0.1' });
    const local = await fillAndStage(withLocal, py312());
    expect(names(local.staged.wheels)).toEqual([
      'gamma-1.0-py3-none-any.whl',
      'localpkg-0.1-py3-none-any.whl',
    ]);
    const bad = await project(`gamma==1.0 --hash=sha256:${'0'.repeat(64)}\n`);
    const f = await failure(fillWheelhouse(args(bad, py312())));
    expect(f.reason).toBe('hash-mismatch');
  });

  it('ignores PIP_* variables that choose packages, and says so', async () => {
    const p = await project('gamma==1.0\n');
    const warnings: string[] = [];
    const f = await failure(
      fillWheelhouse({
        ...args(p, py312(), { index: offline }),
        env: {
          ...process.env,
          PIP_FIND_LINKS: findLinks,
          PIP_CERT: '/etc/ssl/certs/ca-certificates.crt',
          PIP_DISABLE_PIP_VERSION_CHECK: '1',
        },
        onWarning: (m) => warnings.push(m),
      }),
    );
    expect(f.reason).toBe('requirement-not-found');
    expect(warnings.join('\n')).toContain('PIP_FIND_LINKS');
    expect(warnings.join('\n')).not.toContain('PIP_CERT');
    expect(warnings.join('\n')).not.toContain('PIP_DISABLE_PIP_VERSION_CHECK');
  });

  it('never prints index credentials', async () => {
    const server = await listen((_req, res) => {
      res.writeHead(404).end();
    });
    try {
      const port = (server.address() as AddressInfo).port;
      const p = await project('gamma==1.0\n');
      const output: string[] = [];
      const f = await failure(
        fillWheelhouse({
          ...args(p, py312(), {
            index: {
              indexUrl: `http://user:s3cret-token@127.0.0.1:${port}/simple/`,
              extraIndexUrls: [],
              findLinks: [],
              noIndex: false,
            },
          }),
          onOutput: (line) => output.push(line),
        }),
      );
      // The server answers 404 for everything, the index root included: a wrong index URL.
      expect(f.reason).toBe('index-not-found');
      expect(f.message).toContain(`http://user:****@127.0.0.1:${port}/simple/`);
      // pip never sees the login: it logs in from a private netrc file.
      expect(output.join('\n')).toContain(`Looking in indexes: http://127.0.0.1:${port}/simple`);
      expect(JSON.stringify({ f, output })).not.toContain('s3cret-token');
    } finally {
      server.close();
    }
  });

  it('kills pip when aborted, and leaves neither wheels nor scratch files (nor the login file)', async () => {
    let requested: () => void = () => undefined;
    const gotRequest = new Promise<void>((resolve) => {
      requested = resolve;
    });
    const server = await listen(() => {
      requested(); // and never answer
    });
    try {
      const port = (server.address() as AddressInfo).port;
      const p = await project('hangs==1.0\n');
      const controller = new AbortController();
      const started = Date.now();
      const run = fillWheelhouse({
        ...args(p, py312(), {
          index: {
            indexUrl: `http://user:pw@127.0.0.1:${port}/simple/`,
            extraIndexUrls: [],
            findLinks: [],
            noIndex: false,
          },
        }),
        signal: controller.signal,
      });
      const outcome = run.then(
        () => 'finished',
        (error: unknown) => error,
      );
      await gotRequest;
      const dir = join(p.wheelhouse, py312().key);
      const [scratch] = await readdir(dir);
      expect(await readdir(join(dir, scratch ?? ''))).toContain('netrc');
      controller.abort();
      const error = await outcome;
      expect(isAbortError(error)).toBe(true);
      expect(Date.now() - started).toBeLessThan(10_000);
      expect(await pipProcessesMentioning(p.wheelhouse)).toEqual([]);
      expect(await readdir(dir)).toEqual([]);
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });

  it('accepts parsed requirements as well as a file', async () => {
    const p = await project('gamma==1.0\n');
    const requirements = await readRequirements(p.requirements, { cwd: p.dir });
    const filled = await fillWheelhouse({ ...args(p, py312()), requirements });
    expect(names(filled.wheels)).toEqual(['gamma-1.0-py3-none-any.whl']);
    expect((await stat(filled.wheels[0]!)).isFile()).toBe(true);
  });
});

function listen(handler: Parameters<typeof createServer>[1]): Promise<Server> {
  return new Promise((resolve) => {
    const server = createServer(handler);
    server.listen(0, '127.0.0.1', () => {
      resolve(server);
    });
  });
}

/** Live processes whose command line mentions `text` (pip gets the wheelhouse path as an argument). */
async function pipProcessesMentioning(text: string): Promise<string[]> {
  const found: string[] = [];
  for (const pid of await readdir('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const cmdline = (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0').join(' ');
      const state = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(' ')[2];
      if (cmdline.includes(text) && state !== 'Z') found.push(`${pid}: ${cmdline}`);
    } catch {
      // The process ended while we looked.
    }
  }
  return found;
}
