import { mkdtempSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { LbuildError } from '@lbuild/core';
import { findRuntimePython } from '../../src/pip/runtime-python.js';

// The Python this machine runs as python3: its version is the one a runtime can be found for.
const here = execFileSync('python3', ['-c', 'import sys; print("%d.%d" % sys.version_info[:2])'], {
  encoding: 'utf8',
}).trim();
const dir = mkdtempSync(join(tmpdir(), 'runtime-python-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function failure(run: Promise<unknown>): Promise<LbuildError> {
  try {
    await run;
  } catch (error) {
    if (error instanceof LbuildError) return error;
    throw error;
  }
  throw new Error('expected a failure');
}

describe('findRuntimePython', () => {
  it('takes a configured interpreter of the runtime version', async () => {
    const python = await findRuntimePython(here, 'python3', { cwd: dir });
    expect(python.pythonVersion).toBe(here);
    expect(python.command).toBe('python3');
  });

  it('refuses an interpreter of another version, naming both', async () => {
    const other = here === '3.9' ? '3.10' : '3.9';
    const error = await failure(findRuntimePython(other, 'python3', { cwd: dir }));
    expect(error.failure.reason).toBe('runtime-python-not-found');
    expect(error.message).toContain(`No Python ${other} interpreter`);
    expect(error.message).toContain(`is Python ${here}.`);
    expect((error.failure as { hint?: string }).hint).toContain('runtime-python');
  });

  it('names the missing pythonX.Y and how to install it', async () => {
    const error = await failure(
      findRuntimePython('3.14', undefined, { cwd: dir, env: { PATH: dir } }),
    );
    expect(error.failure.reason).toBe('runtime-python-not-found');
    expect(error.message).toContain('"python3.14"');
    expect((error.failure as { hint?: string }).hint).toContain('pyenv install 3.14');
  });

  it('treats a command that cannot start (an unselected pyenv shim) as missing', async () => {
    const shim = join(dir, 'python3.13');
    writeFileSync(shim, '#!/bin/sh\necho "pyenv: python3.13: command not found" >&2\nexit 127\n');
    chmodSync(shim, 0o755);
    const error = await failure(
      findRuntimePython('3.13', undefined, { cwd: dir, env: { PATH: dir } }),
    );
    expect(error.failure.reason).toBe('runtime-python-not-found');
  });
});
