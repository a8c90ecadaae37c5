import {
  mkdir,
  readFile,
  readdir,
  rename,
  rm,
  rmdir,
  stat,
  unlink,
  utimes,
  writeFile,
} from 'node:fs/promises';
import { basename, join } from 'node:path';
import { LbuildError } from './failure.js';
import { processLiveness, thisProcess, type ProcessRecord } from './process-liveness.js';
import { temporaryName } from './temporary-files.js';

export interface ProjectLock {
  release(): Promise<void>;
}

/** A holder this process cannot see is presumed dead when its heartbeat is this old. */
const STALE_MS = 10_000;
const HEARTBEAT_MS = STALE_MS / 4;
const POLL_MS = 100;

/**
 * One lbuild builds a project at a time. The lock is the directory `.lbuild/build.lock`, holding
 * one file, `owner.ID.json`: who holds it (see {@link ProcessRecord}). Both appear in one step: the
 * directory is filled under a temporary name and renamed into place, and rename does not replace
 * a directory that has entries, so of several runs exactly one gets it, and whoever finds the lock
 * finds its owner too.
 *
 * A holder killed outright leaves the lock behind. A run that finds its owner dead takes it over
 * by deleting the owner file (by its unique name: of several takers exactly one succeeds, and
 * none can delete a newer holder's), then removing the directory, which fails once a newer
 * holder's directory is there (`rmdir` removes only an empty one), and then acquires as usual.
 * An empty lock directory (a takeover cut short) holds nothing: rename replaces it.
 *
 * Whether the owner is dead is judged by pid and process start time on one kernel boot (see
 * {@link processLiveness}), so a reused pid or a reboot do not keep a dead lock, and a holder
 * stalled for any time keeps its lock. A holder this process cannot see (another machine
 * sharing the directory, another pid namespace) refreshes its owner file's mtime; it counts as
 * dead once that is STALE_MS old.
 */
export async function acquireProjectLock(
  stateDir: string,
  options: {
    signal?: AbortSignal;
    onWait?: (holder: string | undefined) => void;
    /** Tests: runs between judging the owner dead and taking the lock over, to widen races. */
    beforeTakeover?: () => Promise<void>;
  },
): Promise<ProjectLock> {
  await mkdir(stateDir, { recursive: true });
  const lockDir = join(stateDir, 'build.lock');
  const record = thisProcess();
  // The lock as it will be, under a temporary name (a killed run's is swept by the next one).
  const filled = temporaryName(stateDir, 'build.lock');
  const ownerFile = `owner.${basename(filled).slice(1, -'.tmp'.length)}.json`;
  await mkdir(filled);
  let warned = false;
  try {
    await writeFile(join(filled, ownerFile), JSON.stringify(record));
    let written = Date.now();
    for (;;) {
      // The owner file's mtime is the heartbeat: fresh when the lock appears, however long this
      // run waited for it.
      if (Date.now() - written > HEARTBEAT_MS) {
        written = Date.now();
        await utimes(join(filled, ownerFile), new Date(written), new Date(written));
      }
      if (await tryRename(filled, lockDir)) return holding(lockDir, ownerFile);
      const holder = await readHolder(lockDir);
      if (holder === undefined) continue;
      if (holder.stale) {
        await options.beforeTakeover?.();
        await takeOver(lockDir, holder.file);
        continue;
      }
      if (!warned) {
        options.onWait?.(holder.record && describeHolder(holder.record));
        warned = true;
      }
      if (options.signal?.aborted) {
        throw new LbuildError({ kind: 'interrupted', reason: 'interrupted', during: 'lock-wait' });
      }
      await pause(POLL_MS, options.signal);
    }
  } catch (error) {
    await rm(filled, { recursive: true, force: true });
    throw error;
  }
}

/** Renames the filled directory to the lock; false when a lock is there. */
async function tryRename(filled: string, lockDir: string): Promise<boolean> {
  try {
    await rename(filled, lockDir);
    return true;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    // ENOTEMPTY or EEXIST: a lock with its owner is there. EPERM: Windows does not rename
    // over a directory at all, even an empty one; readHolder removes an empty one.
    if (code === 'ENOTEMPTY' || code === 'EEXIST') return false;
    if (code === 'EPERM' && (await exists(lockDir))) return false;
    throw error;
  }
}

interface Holder {
  /** The owner file's name; the record is undefined when it is not readable as one. */
  file: string;
  record: ProcessRecord | undefined;
  stale: boolean;
}

/** The lock's owner and whether it is gone; undefined when there is no lock to wait for now. */
async function readHolder(lockDir: string): Promise<Holder | undefined> {
  let names: string[];
  try {
    names = await readdir(lockDir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  const file = names.find((name) => name.startsWith('owner.') && name.endsWith('.json'));
  if (file === undefined) {
    // Empty: released, or a takeover cut short. (Anything else was not made by lbuild: wait.)
    if (names.length === 0) {
      await rmdir(lockDir).catch(ignoreCodes('ENOENT', 'ENOTEMPTY', 'EEXIST'));
      return undefined;
    }
    return { file: '', record: undefined, stale: false };
  }
  const path = join(lockDir, file);
  let record: ProcessRecord | undefined;
  let modified: number;
  try {
    const text = await readFile(path, 'utf8');
    modified = (await stat(path)).mtimeMs;
    record = parseRecord(text);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  const liveness = record === undefined ? 'unknown' : processLiveness(record);
  const stale = liveness === 'dead' || (liveness === 'unknown' && Date.now() - modified > STALE_MS);
  return { file, record, stale };
}

/** Removes a dead owner's lock; does nothing to a lock that is no longer that owner's. */
async function takeOver(lockDir: string, ownerFile: string): Promise<void> {
  try {
    await unlink(join(lockDir, ownerFile));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return; // another run took it over
    throw error;
  }
  await rmdir(lockDir).catch(ignoreCodes('ENOENT', 'ENOTEMPTY', 'EEXIST'));
}

function holding(lockDir: string, ownerFile: string): ProjectLock {
  const owner = join(lockDir, ownerFile);
  // The heartbeat only matters to runs that cannot see this process (see STALE_MS).
  const heartbeat = setInterval(() => {
    const now = new Date();
    utimes(owner, now, now).catch(() => undefined);
  }, HEARTBEAT_MS);
  heartbeat.unref();
  return {
    release: async () => {
      clearInterval(heartbeat);
      // Gone already when another run judged this one dead and took over: leave its lock alone.
      await unlink(owner).catch(ignoreCodes('ENOENT'));
      await rmdir(lockDir).catch(ignoreCodes('ENOENT', 'ENOTEMPTY', 'EEXIST'));
    },
  };
}

function describeHolder(record: ProcessRecord): string {
  const host = record.host === thisProcess().host ? '' : ` on ${record.host}`;
  return `pid ${record.pid}${host}`;
}

function parseRecord(text: string): ProcessRecord | undefined {
  try {
    const value = JSON.parse(text) as Partial<ProcessRecord>;
    return typeof value.pid === 'number' && typeof value.host === 'string'
      ? (value as ProcessRecord)
      : undefined;
  } catch {
    return undefined;
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

function pause(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

function ignoreCodes(...codes: string[]): (error: unknown) => void {
  return (error) => {
    if (!codes.includes((error as NodeJS.ErrnoException).code ?? '')) throw error;
  };
}
