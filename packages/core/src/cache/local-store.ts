import {
  copyFile,
  link,
  mkdir,
  readdir,
  readFile,
  rename,
  rm,
  stat,
  utimes,
  writeFile,
} from 'node:fs/promises';
import { constants, createReadStream } from 'node:fs';
import { join } from 'node:path';
import { temporaryName } from '../temporary-files.js';
import { CacheStoreError, storeContents, type CacheStore, type StoreContents } from './store.js';

/**
 * The cache in a directory of this machine, shared by every checkout and worktree:
 *
 *     entries/<2 hex>/<key>      entry bodies
 *     blobs/<2 hex>/<sha256>     file contents
 *
 * Every write goes through a temporary in the same directory and a rename (a link for entries,
 * which fails when one is there: the first write wins), so several builds at once only ever see
 * whole files. An entry's modification time is its last use, for `lbuild cache prune`.
 */
export class LocalDirStore implements CacheStore {
  readonly name: string;
  readonly dir: string;

  constructor(dir: string, name = dir) {
    this.dir = dir;
    this.name = name;
  }

  async getEntry(key: string): Promise<Uint8Array | undefined> {
    const path = this.#entry(key);
    const body = await this.#attempt(() => readFile(path));
    if (body === undefined) return undefined;
    const now = new Date();
    await utimes(path, now, now).catch(() => undefined);
    return body;
  }

  async putEntry(key: string, body: Uint8Array): Promise<boolean> {
    const path = this.#entry(key);
    return (
      (await this.#attempt(async () => {
        const tmp = await this.#temporary(path);
        try {
          await writeFile(tmp, body);
          try {
            await link(tmp, path);
            return true;
          } catch (error) {
            if (code(error) === 'EEXIST') return false;
            throw error;
          }
        } finally {
          await rm(tmp, { force: true });
        }
      })) ?? false
    );
  }

  async hasBlob(digest: string): Promise<boolean> {
    return (await this.#attempt(() => stat(this.#blob(digest)))) !== undefined;
  }

  async getBlob(
    digest: string,
    file: string,
    _signal?: AbortSignal,
    onData?: (chunk: Uint8Array) => void,
  ): Promise<boolean> {
    const copied =
      (await this.#attempt(async () => {
        // A clone where the file system can (one metadata write), else a copy; the bytes are
        // read once more only for a caller that hashes them.
        await copyFile(this.#blob(digest), file, constants.COPYFILE_FICLONE);
        return true;
      })) ?? false;
    if (copied && onData) for await (const chunk of createReadStream(file)) onData(chunk as Buffer);
    return copied;
  }

  async putBlob(digest: string, file: string): Promise<void> {
    const path = this.#blob(digest);
    await this.#attempt(async () => {
      if (await stat(path).catch(() => undefined)) return true;
      const tmp = await this.#temporary(path);
      try {
        await copyFile(file, tmp, constants.COPYFILE_FICLONE);
        await rename(tmp, path);
      } finally {
        await rm(tmp, { force: true });
      }
      return true;
    });
  }

  #entry(key: string): string {
    return join(this.dir, 'entries', shard(key), key);
  }

  #blob(digest: string): string {
    return join(this.dir, 'blobs', shard(digest), digest);
  }

  async #temporary(path: string): Promise<string> {
    const dir = join(path, '..');
    await mkdir(dir, { recursive: true });
    return temporaryName(dir, 'part');
  }

  /** Runs `work`; undefined when a file it needs is not there; other failures as store errors. */
  async #attempt<T>(work: () => Promise<T>): Promise<T | undefined> {
    try {
      return await work();
    } catch (error) {
      const c = code(error);
      if (c === 'ENOENT') return undefined;
      const denied = c === 'EACCES' || c === 'EPERM' || c === 'EROFS';
      throw new CacheStoreError(
        denied ? 'denied' : 'other',
        error instanceof Error ? error.message : String(error),
        { cause: error },
      );
    }
  }
}

/** Keys and digests are hex; anything else would be a path. */
function shard(name: string): string {
  if (!/^[0-9a-f]{16,128}$/.test(name)) throw new Error(`not a cache key: ${name}`);
  return name.slice(0, 2);
}

function code(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | undefined)?.code;
}

/** What the local directory holds; its entries' times are their last use (a hit touches one). */
export type LocalCacheStats = StoreContents;

async function filesBelow(
  dir: string,
): Promise<{ path: string; name: string; size: number; mtime: Date }[]> {
  const out: { path: string; name: string; size: number; mtime: Date }[] = [];
  let shards: string[];
  try {
    shards = await readdir(dir);
  } catch {
    return out;
  }
  for (const s of shards) {
    let names: string[];
    try {
      names = await readdir(join(dir, s));
    } catch {
      continue;
    }
    for (const name of names) {
      if (name.startsWith('.')) continue;
      const path = join(dir, s, name);
      const stats = await stat(path).catch(() => undefined);
      if (stats?.isFile()) out.push({ path, name, size: stats.size, mtime: stats.mtime });
    }
  }
  return out;
}

export async function localCacheStats(dir: string): Promise<LocalCacheStats> {
  const entries = await filesBelow(join(dir, 'entries'));
  const blobs = await filesBelow(join(dir, 'blobs'));
  return storeContents(
    entries.map((e) => ({ size: e.size, time: e.mtime })),
    blobs,
  );
}

/**
 * Removes the entries not used for `olderThanMs`, then the blobs no remaining entry names. A blob
 * younger than that is kept even so: a build may have stored it and not yet its entry.
 */
export async function pruneLocalCache(
  dir: string,
  olderThanMs: number,
  now = Date.now(),
): Promise<{ entries: number; blobs: number; bytes: number }> {
  const cutoff = now - olderThanMs;
  const removed = { entries: 0, blobs: 0, bytes: 0 };
  const referenced = new Set<string>();
  for (const entry of await filesBelow(join(dir, 'entries'))) {
    if (entry.mtime.getTime() < cutoff) {
      await rm(entry.path, { force: true });
      removed.entries++;
      removed.bytes += entry.size;
      continue;
    }
    const text = await readFile(entry.path, 'utf8').catch(() => '');
    for (const digest of text.slice(text.indexOf('\n') + 1).match(/"sha256":"([0-9a-f]{64})"/g) ??
      [])
      referenced.add(digest.slice(10, 74));
  }
  for (const blob of await filesBelow(join(dir, 'blobs'))) {
    if (referenced.has(blob.name) || blob.mtime.getTime() >= cutoff) continue;
    await rm(blob.path, { force: true });
    removed.blobs++;
    removed.bytes += blob.size;
  }
  return removed;
}
