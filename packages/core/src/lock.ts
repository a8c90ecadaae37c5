import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { configError } from './failure.js';

export interface ProjectLock {
  release(): Promise<void>;
}

const STALE_MS = 10_000;

/**
 * One lbuild builds a project at a time. proper-lockfile holds `.lbuild/build.lock` (an atomic
 * mkdir, refreshed while held, taken over when stale); a second build waits for it with a
 * message. The owner file lets a waiter see at once that the holder was killed (SIGKILL leaves
 * the lock behind) instead of waiting for it to go stale.
 */
export async function acquireProjectLock(
  stateDir: string,
  options: { signal?: AbortSignal; onWait?: (holder: string | undefined) => void },
): Promise<ProjectLock> {
  const lockfile = await import('proper-lockfile');
  await mkdir(stateDir, { recursive: true });
  const target = join(stateDir, 'build');
  const owner = join(stateDir, 'build.owner');
  await writeFile(target, '', { flag: 'a' });
  let warned = false;
  for (;;) {
    try {
      const release = await lockfile.lock(target, {
        stale: STALE_MS,
        update: STALE_MS / 4,
        realpath: false,
        onCompromised: () => {
          // Another process took the lock over (we were stalled longer than STALE_MS): the
          // stamps we write are still atomic, so carry on rather than crash mid-build.
        },
      });
      await writeFile(owner, JSON.stringify({ pid: process.pid, host: hostname() }));
      return {
        release: async () => {
          await rm(owner, { force: true });
          await release().catch(() => undefined);
        },
      };
    } catch (error) {
      if ((error as { code?: string }).code !== 'ELOCKED') throw error;
    }
    const holder = await readOwner(owner);
    if (holder && holder.host === hostname() && !isAlive(holder.pid)) {
      await rm(target + '.lock', { recursive: true, force: true });
      continue;
    }
    if (!warned) {
      options.onWait?.(holder ? `pid ${holder.pid}` : undefined);
      warned = true;
    }
    if (options.signal?.aborted) {
      throw configError('interrupted', 'interrupted while waiting for another lbuild to finish');
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function readOwner(path: string): Promise<{ pid: number; host: string } | undefined> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as { pid: number; host: string };
  } catch {
    return undefined;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as { code?: string }).code === 'EPERM';
  }
}
