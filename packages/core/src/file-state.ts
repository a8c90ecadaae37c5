import { statSync, type Stats } from 'node:fs';
import { hashFileContent, type ContentHash } from './hash.js';

/**
 * What a stamp remembers about one file. The hash is the truth; size, mtime, ctime and inode
 * are only a cache key that lets an unchanged file be trusted without reading it again (the
 * same idea as git's index and lage's FileHasher manifest).
 */
export interface FileRecord {
  hash: ContentHash;
  size: number;
  mtimeMs: number;
  ctimeMs: number;
  ino: number;
  /**
   * The file has an execute permission bit. What reads it may depend on that as on the content
   * (a bundle's zip gives such a file mode 0755), so a chmod that adds or removes it is a change
   * although the hash stays the same.
   */
  exec?: true;
  /**
   * The file was hashed within one timestamp tick of its last change, so a later write in that
   * same tick would leave size and mtime unchanged: such a record is always re-hashed (git's
   * "racily clean" entries).
   */
  racy?: true;
}

/**
 * Timestamp granularity guard. File systems with whole-second mtimes (some network and FAT
 * mounts) need a wide window; nanosecond ones are still stamped from a coarse kernel clock that
 * can lag by a scheduler tick.
 */
function racyWindowMs(mtimeMs: number): number {
  return mtimeMs % 1000 === 0 ? 2000 : 50;
}

export function statMatches(record: FileRecord, stats: Stats): boolean {
  return (
    record.size === stats.size &&
    record.mtimeMs === stats.mtimeMs &&
    record.ctimeMs === stats.ctimeMs &&
    record.ino === stats.ino
  );
}

export function statFile(path: string): Stats | undefined {
  return statSync(path, { throwIfNoEntry: false });
}

/**
 * One build's view of file contents: each path is stat'ed once and read at most once per run
 * (never the same hash twice), and a stat that matches a trusted record skips the read.
 */
export class FileHasher {
  readonly #memo = new Map<string, Promise<FileRecord | undefined>>();
  readonly #now: () => number;
  /** Counts reads, so tests and `--explain` can tell a stat hit from a re-hash. */
  hashed = 0;

  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  /**
   * The current record of `path`, or undefined when it does not exist (or is not a file).
   * `known` is what a stamp recorded: when the stat still matches and it was not racy, it is
   * returned as is.
   */
  state(path: string, known?: FileRecord): Promise<FileRecord | undefined> {
    let pending = this.#memo.get(path);
    if (!pending) {
      pending = this.#compute(path, known);
      this.#memo.set(path, pending);
    }
    return pending;
  }

  /**
   * Whether this run has not looked at `path` yet. Only then may a stamp's record be trusted on a
   * matching stat alone (without going through {@link state}): a no-op check is nearly all such
   * stat hits, and it is much faster without a promise and a memo entry for each of ten thousand
   * files.
   */
  unseen(path: string): boolean {
    return !this.#memo.has(path);
  }

  /**
   * The record of `path` as it is now: the memo's when a stat shows the file untouched since it
   * was hashed (and that record was not racy), else a fresh hash that replaces it. What a target
   * snapshots before it uses a file must be the content at that moment, not at the moment an
   * earlier target of the same build hashed it.
   */
  async current(path: string): Promise<FileRecord | undefined> {
    const pending = this.#memo.get(path);
    if (pending) {
      const record = await pending;
      if (record && !record.racy) {
        const stats = statFile(path);
        if (stats?.isFile() && statMatches(record, stats)) return record;
      }
      if (this.#memo.get(path) === pending) this.#memo.delete(path);
    }
    return this.state(path);
  }

  /** Called after a target wrote `path` (a file or a directory), so the next reader sees the new content. */
  forget(path: string): void {
    this.#memo.delete(path);
    const prefix = path.endsWith('/') ? path : path + '/';
    for (const key of this.#memo.keys()) if (key.startsWith(prefix)) this.#memo.delete(key);
  }

  async #compute(path: string, known: FileRecord | undefined): Promise<FileRecord | undefined> {
    const stats = statFile(path);
    if (!stats?.isFile()) return undefined;
    if (known && !known.racy && statMatches(known, stats)) return known;
    const startedAt = this.#now();
    const { hash } = await hashFileContent(path);
    this.hashed++;
    const after = statFile(path) ?? stats;
    const record: FileRecord = {
      hash,
      size: after.size,
      mtimeMs: after.mtimeMs,
      ctimeMs: after.ctimeMs,
      ino: after.ino,
    };
    if ((after.mode & 0o111) !== 0) record.exec = true;
    // Changed while being read, or changed so recently that the clock tick has not passed.
    if (!statMatches(record, stats) || startedAt - after.mtimeMs < racyWindowMs(after.mtimeMs)) {
      record.racy = true;
    }
    return record;
  }
}

/**
 * Whether `path` is still the file `record` was hashed from, as a check after a target ran: a
 * stat alone when it matches a record that was not racy (any write since the hash moved mtime
 * or ctime past the record's), and a new hash for a racy one, whose stat a same-size write in
 * the same timestamp tick leaves as it was. A file written meanwhile is changed even if its
 * content is back to what it was: whoever read it in between may have seen something else.
 */
export async function unchangedSince(path: string, record: FileRecord): Promise<boolean> {
  const stats = statFile(path);
  if (!stats?.isFile() || !statMatches(record, stats)) return false;
  if (!record.racy) return true;
  const { hash } = await hashFileContent(path);
  const after = statFile(path);
  return hash === record.hash && after !== undefined && statMatches(record, after);
}
