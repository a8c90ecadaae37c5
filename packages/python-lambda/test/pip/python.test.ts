import { realpathSync } from 'node:fs';
import {
  chmod,
  copyFile,
  mkdir,
  mkdtemp,
  readFile,
  rm,
  symlink,
  unlink,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runProcess } from '@lbuild/core';
import type { DescribedFailure, LbuildError, ProcessRunner } from '@lbuild/core';
import { probePython } from '../../src/pip/index.js';
import { SYSTEM_PYTHON } from '../../../../test/fixtures/python/wheels.js';
import { makePosingPython } from '../../../../test/fixtures/python/posing-python.js';

let root: string;
let calls: number;
const counting: ProcessRunner = (request) => {
  calls++;
  return runProcess(request);
};

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'lbuild-probe-'));
  calls = 0;
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

const realPython = execFileSync('python3', ['-c', 'import sys; print(sys.executable)'], {
  encoding: 'utf8',
}).trim();

/**
 * An interpreter whose real path differs from `python`'s: the system Python, or, where `python3`
 * already is the system Python (one Python on the machine, or a PATH that puts /usr/bin first), a
 * copy of its binary, which runs as itself.
 */
async function anotherInterpreter(python: string): Promise<string> {
  if (realpathSync(python) !== realpathSync(SYSTEM_PYTHON)) return SYSTEM_PYTHON;
  const copy = join(root, 'other', 'python3');
  await mkdir(dirname(copy), { recursive: true });
  await copyFile(realpathSync(SYSTEM_PYTHON), copy);
  await chmod(copy, 0o755);
  return copy;
}

describe('probePython', () => {
  it('describes the interpreter, its pip, wheel and setuptools', async () => {
    const probe = await probePython(SYSTEM_PYTHON, { runner: counting });
    const expected = JSON.parse(
      execFileSync(
        SYSTEM_PYTHON,
        [
          '-c',
          'import json, platform, os, pip; print(json.dumps([platform.python_version(), pip.__version__, os.confstr("CS_GNU_LIBC_VERSION")]))',
        ],
        { encoding: 'utf8' },
      ),
    ) as [string, string, string];
    expect(probe).toMatchObject({
      command: SYSTEM_PYTHON,
      executable: SYSTEM_PYTHON,
      version: expected[0],
      pythonVersion: expected[0].split('.').slice(0, 2).join('.'),
      implementation: 'cpython',
      system: 'linux',
      glibc: expected[2].replace('glibc ', ''),
      hasWheel: true,
      hasSetuptools: true,
    });
    expect(probe.pip?.version).toBe(expected[1]);
    expect(['x86_64', 'aarch64']).toContain(probe.machine);
    expect(probe).toMatchObject({ abiflags: '', freeThreaded: false });
    expect(calls).toBe(1);
  });

  it('tells a free-threaded interpreter by sys.abiflags', async () => {
    const posing = await makePosingPython(join(root, 'ft'), { abiflags: 't' });
    const cacheFile = join(root, 'probe.json');
    const probe = await probePython(posing, { cacheFile, runner: counting });
    expect(probe).toMatchObject({ command: posing, abiflags: 't', freeThreaded: true });
    // A cache written before lbuild knew free-threading holds no answer for it: probe again.
    const cache = JSON.parse(await readFile(cacheFile, 'utf8')) as {
      entries: Record<string, { python: Record<string, unknown> }>;
    };
    for (const entry of Object.values(cache.entries)) {
      delete entry.python.abiflags;
      delete entry.python.freeThreaded;
    }
    await writeFile(cacheFile, JSON.stringify(cache));
    expect(await probePython(posing, { cacheFile, runner: counting })).toEqual(probe);
    expect(calls).toBe(2);
  });

  it('answers from the cache without starting Python while nothing changed', async () => {
    const cacheFile = join(root, 'state', 'python-probe.json');
    const first = await probePython('python3', { cacheFile, runner: counting, cwd: root });
    expect(calls).toBe(1);
    const cache = JSON.parse(await readFile(cacheFile, 'utf8')) as {
      entries: Record<string, { python: unknown }>;
    };
    expect(Object.values(cache.entries).map((e) => e.python)).toEqual([first]);
    const second = await probePython('python3', { cacheFile, runner: counting, cwd: root });
    expect(calls).toBe(1);
    expect(second).toEqual(first);
  });

  it('starts one Python for callers that ask at once, and asks again once that probe is over', async () => {
    // No cache file: only the probe in flight is shared, so a later call probes afresh (a
    // watch session sees a new interpreter).
    const [a, b] = await Promise.all([
      probePython('python3', { runner: counting, cwd: root }),
      probePython('python3', { runner: counting, cwd: root }),
    ]);
    expect(calls).toBe(1);
    expect(b).toEqual(a);
    await probePython('python3', { runner: counting, cwd: root });
    expect(calls).toBe(2);
    // Another command, directory or environment is another probe.
    await Promise.all([
      probePython('python3', { runner: counting, cwd: root }),
      probePython(realPython, { runner: counting, cwd: root }),
      probePython('python3', { runner: counting, cwd: join(root, '..') }),
      probePython('python3', { runner: counting, cwd: root, env: { ...process.env } }),
    ]);
    expect(calls).toBe(6);
  });

  it('lets a caller that joined a probe stop waiting for it without stopping the others', async () => {
    const controller = new AbortController();
    const first = probePython('python3', { runner: counting, cwd: root });
    const joined = probePython('python3', {
      runner: counting,
      cwd: root,
      signal: controller.signal,
    });
    controller.abort(new Error('stopped by its caller'));
    await expect(joined).rejects.toThrow('stopped by its caller');
    expect((await first).version).toMatch(/^3\./);
    expect(calls).toBe(1);
  });

  it('probes again when the interpreter behind the command changes', async () => {
    const cacheFile = join(root, 'probe.json');
    const bin = join(root, 'bin');
    await mkdir(bin);
    const link = join(bin, 'python');
    await symlink(realPython, link);
    const a = await probePython(link, { cacheFile, runner: counting });
    await probePython(link, { cacheFile, runner: counting });
    expect(calls).toBe(1);
    await unlink(link);
    await symlink(await anotherInterpreter(realPython), link);
    const b = await probePython(link, { cacheFile, runner: counting });
    expect(calls).toBe(2);
    expect(b.executable).toBe(link);
    expect(b.realpath).not.toBe(a.realpath);
  });

  it('probes again when packages are installed next to pip (site-packages changed)', async () => {
    const cacheFile = join(root, 'probe.json');
    const venv = join(root, 'venv');
    execFileSync('python3', ['-m', 'venv', '--without-pip', venv]);
    const python = join(venv, 'bin', 'python');
    const probe = await probePython(python, { cacheFile, runner: counting });
    expect(probe.pip).toBeUndefined();
    expect(probe.executable).toBe(python);
    await probePython(python, { cacheFile, runner: counting });
    expect(calls).toBe(1);
    await mkdir(join(probe.sitePackages, 'wheel'));
    await writeFile(join(probe.sitePackages, 'wheel', '__init__.py'), '');
    const again = await probePython(python, { cacheFile, runner: counting });
    expect(calls).toBe(2);
    expect(again.hasWheel).toBe(true);
  });

  it('probes again behind a version-manager shim when .python-version changes', async () => {
    const cacheFile = join(root, 'probe.json');
    const shims = join(root, 'pyenv', 'shims');
    await mkdir(shims, { recursive: true });
    const shim = join(shims, 'python3');
    await writeFile(shim, `#!/bin/sh\nexec ${realPython} "$@"\n`);
    await chmod(shim, 0o755);
    const project = join(root, 'project');
    await mkdir(project);
    const env = { ...process.env, PATH: `${shims}:${process.env.PATH ?? ''}` };
    await probePython('python3', { cacheFile, runner: counting, cwd: project, env });
    await probePython('python3', { cacheFile, runner: counting, cwd: project, env });
    expect(calls).toBe(1);
    await writeFile(join(project, '.python-version'), '3.12\n');
    await probePython('python3', { cacheFile, runner: counting, cwd: project, env });
    expect(calls).toBe(2);
    await probePython('python3', {
      cacheFile,
      runner: counting,
      cwd: project,
      env: { ...env, PYENV_VERSION: 'system' },
    });
    expect(calls).toBe(3);
  });

  it('says which build Python is missing, as a config error', async () => {
    const failure = await probePython('no-such-python3', { runner: counting }).then(
      () => undefined,
      (error: unknown) => (error as LbuildError).failure as DescribedFailure,
    );
    expect(failure).toMatchObject({
      kind: 'config',
      reason: 'python-not-found',
      message: 'The build Python "no-such-python3" was not found on PATH.',
    });
    expect(failure?.hint).toContain('build-python');
    const byPath = await probePython(join(root, 'nope', 'python'), {}).catch(
      (error: unknown) => (error as LbuildError).failure as DescribedFailure,
    );
    expect(byPath).toMatchObject({
      reason: 'python-not-found',
      message: `The build Python "${join(root, 'nope', 'python')}" does not exist or is not executable.`,
    });
    expect(calls).toBe(0);
  });
});
