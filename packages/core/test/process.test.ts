import { tmpdir } from 'node:os';
import { describe, expect, it } from 'vitest';
import { isAbortError, runProcess } from '../src/index.js';
import { isRunning } from '../../../test/helpers/project.js';

async function gone(pid: number, withinMs: number): Promise<boolean> {
  for (const end = Date.now() + withinMs; Date.now() < end;) {
    if (!isRunning(pid)) return true;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return !isRunning(pid);
}

describe.runIf(process.platform === 'linux')('runProcess', () => {
  it('ends the whole process group on abort, not just the direct child', async () => {
    const controller = new AbortController();
    const pids: number[] = [];
    let printed: () => void = () => undefined;
    const started = new Promise<void>((resolve) => {
      printed = resolve;
    });
    // The shell prints its own pid and its background child's, then waits for that child.
    const running = runProcess({
      file: 'sh',
      args: ['-c', 'sleep 30 & echo $$ $!; wait'],
      cwd: tmpdir(),
      env: { PATH: process.env.PATH },
      signal: controller.signal,
      onLine: (line) => {
        pids.push(...line.split(' ').map(Number));
        printed();
      },
    }).catch((error: unknown) => error);
    await started;
    const [shell, sleeper] = pids as [number, number];
    expect(sleeper).toBeGreaterThan(0);
    controller.abort();
    try {
      expect(await gone(shell, 5_000)).toBe(true);
      // The grandchild, which a kill of the direct child alone leaves running (holding the
      // output pipe, so that the run would not end either).
      expect(await gone(sleeper, 5_000)).toBe(true);
      const outcome = await running;
      expect(isAbortError(outcome), String(outcome)).toBe(true);
    } finally {
      for (const pid of pids) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // Gone, as it should be.
        }
      }
    }
  });

  it('reports a program that cannot be started, and a complete environment', async () => {
    const missing = await runProcess({ file: 'no-such-program-lbuild', args: [], cwd: tmpdir() });
    expect(missing.spawnError).toBe('ENOENT');
    const env = await runProcess({
      file: '/usr/bin/env',
      args: [],
      cwd: tmpdir(),
      env: { ONLY: 'this' },
    });
    expect(env).toMatchObject({ exitCode: 0, lines: ['ONLY=this'] });
  });
});
