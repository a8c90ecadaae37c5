import { readdirSync, rmdirSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { acquireProjectLock } from './lock.js';
import type { TargetGraph } from './graph.js';
import { keyToFileName, type TargetKey } from './key.js';
import { StampStore } from './stamp.js';

export interface CleanResult {
  /** Root-relative files removed. */
  removed: string[];
  /** Targets whose stamps were removed. */
  targets: TargetKey[];
}

/**
 * Removes what builds made: the outputs recorded in each target's stamp, the stamp and the
 * target's private state. Only files a stamp says this tool wrote are touched, never a file it
 * did not create. With `all`, the shared caches (the wheelhouse) go too.
 */
export async function clean(options: {
  root: string;
  stateDir: string;
  graph: TargetGraph;
  targets?: TargetKey[];
  all?: boolean;
  onWait?: (holder: string | undefined) => void;
  /** Ends a wait for another lbuild's lock (an `interrupted` failure); cleaning itself is not cut short. */
  signal?: AbortSignal;
}): Promise<CleanResult> {
  const lock = await acquireProjectLock(options.stateDir, {
    ...(options.onWait ? { onWait: options.onWait } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
  });
  try {
    const stamps = new StampStore(options.stateDir);
    const keys = options.targets ?? [...options.graph.targets.keys()];
    const removed: string[] = [];
    const cleaned: TargetKey[] = [];
    for (const key of keys) {
      const stamp = stamps.read(key);
      if (stamp) {
        for (const file of stamp.outputs.paths) {
          await rm(join(options.root, file), { force: true });
          removed.push(file);
          pruneEmptyDirs(options.root, dirname(file));
        }
        cleaned.push(key);
      }
      await stamps.remove(key);
      await rm(join(options.stateDir, 'targets', keyToFileName(key)), {
        recursive: true,
        force: true,
      });
    }
    if (options.all && !options.targets) {
      await rm(join(options.stateDir, 'cache'), { recursive: true, force: true });
    }
    return { removed, targets: cleaned };
  } finally {
    await lock.release();
  }
}

/** Removes directories left empty by removing outputs, up to (not including) the root. */
function pruneEmptyDirs(root: string, dir: string): void {
  let current = dir;
  while (current && current !== '.' && current !== '/') {
    const abs = join(root, current);
    try {
      if (readdirSync(abs).length > 0) return;
      rmdirSync(abs);
    } catch {
      return;
    }
    current = dirname(current);
  }
}
