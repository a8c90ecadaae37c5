import { readdirSync, rmSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { ownerTag, ownerTagLiveness } from './process-liveness.js';

/**
 * Temporary files and directories are named `.BASE.TAG.UNIQUE.tmp`, TAG being the
 * {@link ownerTag} of the process that made them. A process killed outright (SIGKILL, a power
 * cut) cannot remove its own; the next process to write in that directory sees from TAG that
 * their maker is gone and removes them. No directory tree is walked for this: each directory is
 * looked at once per process, the first time it gets a temporary of its own.
 */
const TEMPORARY = /^\..+\.(\d+(?:-\d+)?)\.[0-9a-z]+\.tmp$/;

let counter = 0;
const swept = new Set<string>();

/**
 * A fresh temporary name in `dir` for `base`, unique to this process and call. (No crypto for
 * the random part: loading node:crypto costs a no-op check milliseconds, and the name needs to
 * be unique, not secret.)
 */
export function temporaryName(dir: string, base: string): string {
  if (!swept.has(dir)) {
    swept.add(dir);
    sweepTemporaries(dir);
  }
  counter++;
  const unique = counter.toString(36) + Math.random().toString(36).slice(2, 8);
  return join(dir, `.${base}.${ownerTag()}.${unique}.tmp`);
}

/** A temporary name beside `path`, so that the final rename stays on one file system. */
export function temporarySibling(path: string): string {
  return temporaryName(dirname(path), basename(path));
}

/**
 * Removes the temporaries in `dir` whose maker has certainly ended (a live process's, or one
 * this machine cannot judge, are left alone). Returns the names removed.
 */
export function sweepTemporaries(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    const tag = TEMPORARY.exec(name)?.[1];
    if (tag === undefined || ownerTagLiveness(tag) !== 'dead') continue;
    try {
      rmSync(join(dir, name), { recursive: true, force: true });
      removed.push(name);
    } catch {
      // Not ours to remove after all (permissions): leave it.
    }
  }
  return removed;
}
