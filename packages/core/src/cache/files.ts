import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { chmod, mkdir, rename, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { mapLimit } from '../limit.js';
import { temporarySibling } from '../temporary-files.js';
import type { ManifestFile } from './manifest.js';
import type { CacheStore } from './store.js';

export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** How many blobs one target's restore or store moves at once. */
export const TRANSFERS = 4;

/** A root-relative path as an entry may name it: no `..`, nothing absolute, `/` only. */
export function safeRelativePath(path: string): boolean {
  if (path === '' || path.startsWith('/') || path.includes('\\') || /^[A-Za-z]:/.test(path))
    return false;
  return path.split('/').every((part) => part !== '' && part !== '.' && part !== '..');
}

/** The declared output `path` belongs to (itself, or a directory above it), if any. */
export function owningOutput(path: string, declared: readonly string[]): string | undefined {
  return declared.find((d) => path === d || path.startsWith(d + '/'));
}

/** A blob that could not be restored: a miss, with this said once. */
export class RestoreMiss extends Error {}

/**
 * Puts an entry's files in place: each blob is fetched beside where it goes, its SHA-256
 * checked, and only when every one of them is right are the declared outputs replaced (each by
 * one rename) and the extra files renamed over theirs. A missing or wrong blob leaves the disk as
 * it was and throws RestoreMiss; the temporaries are removed in every case.
 */
export async function restoreFiles(options: {
  store: CacheStore;
  root: string;
  declared: readonly string[];
  outputs: readonly ManifestFile[];
  extra: readonly ManifestFile[];
  signal: AbortSignal;
}): Promise<void> {
  const { store, root, signal } = options;
  const temporaries: string[] = [];
  /** Declared output → its temporary (a file, or a directory of its files). */
  const replaced = new Map<string, string>();
  const moves: [string, string][] = [];
  try {
    const fetchTo = async (file: ManifestFile, to: string) => {
      await mkdir(dirname(to), { recursive: true });
      // Hashed as the bytes arrive: with the download, not after it.
      const hash = createHash('sha256');
      if (!(await store.getBlob(file.sha256, to, signal, (chunk) => hash.update(chunk))))
        throw new RestoreMiss(`blob ${file.sha256.slice(0, 12)} of ${file.path} is missing`);
      const digest = hash.digest('hex');
      if (digest !== file.sha256)
        throw new RestoreMiss(
          `blob ${file.sha256.slice(0, 12)} of ${file.path} does not match its SHA-256 (got ${digest.slice(0, 12)})`,
        );
      await chmod(to, file.exec ? 0o755 : 0o644);
    };
    const fetches: [ManifestFile, string][] = [];
    for (const output of options.declared) {
      const tmp = temporarySibling(join(root, output));
      temporaries.push(tmp);
      replaced.set(output, tmp);
      const files = options.outputs.filter((f) => owningOutput(f.path, [output]) === output);
      if (files.length === 0) await mkdir(tmp, { recursive: true });
      for (const file of files)
        fetches.push([
          file,
          file.path === output ? tmp : join(tmp, file.path.slice(output.length + 1)),
        ]);
    }
    for (const file of options.extra) {
      const to = join(root, file.path);
      const tmp = temporarySibling(to);
      temporaries.push(tmp);
      fetches.push([file, tmp]);
      moves.push([tmp, to]);
    }
    // A few at once: a remote store's latency per request, not its bandwidth, bounds a
    // wheelhouse of many small wheels. mapLimit waits for the running ones before it throws, so
    // nothing is still writing when the temporaries are removed.
    await mapLimit(fetches, TRANSFERS, ([file, to]) => fetchTo(file, to));
    for (const [output, tmp] of replaced) {
      const to = join(root, output);
      await rm(to, { recursive: true, force: true });
      await mkdir(dirname(to), { recursive: true });
      await rename(tmp, to);
    }
    for (const [tmp, to] of moves) await rename(tmp, to);
  } finally {
    for (const tmp of temporaries)
      if (await exists(tmp)) await rm(tmp, { recursive: true, force: true });
  }
}

async function exists(path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined)) !== undefined;
}
