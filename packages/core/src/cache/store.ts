/**
 * Storage for the shared build cache (constructive traces): content-addressed blobs, and entries
 * that map a cache key to a manifest of blobs. The storage is untrusted: whatever it returns is
 * verified by the caller (blob digests, entry signatures) before anything is restored from it.
 *
 * Implementations: a directory on this machine (shared by every checkout), S3 or anything that
 * speaks S3. A store never decides what a hit is; it only moves bytes.
 */
export interface CacheStore {
  /** How messages name it: `s3://bucket/prefix`, `~/.cache/lbuild`. No credentials. */
  readonly name: string;
  /** The entry stored under `key` (lower-case hex), or undefined when there is none. */
  getEntry(key: string, signal: AbortSignal): Promise<Uint8Array | undefined>;
  /**
   * Stores an entry unless one is already there: the first write wins, an existing key is never
   * overwritten. Returns false when one was there. Called only after every blob it names is
   * stored, so a half-written entry is never visible.
   */
  putEntry(key: string, body: Uint8Array, signal: AbortSignal): Promise<boolean>;
  /** Whether blob `digest` (SHA-256, lower-case hex) is stored. */
  hasBlob(digest: string, signal: AbortSignal): Promise<boolean>;
  /**
   * Writes blob `digest`'s bytes to `file` (created or replaced, whole or not at all); false when
   * there is no such blob. The bytes are not checked here: the caller checks them. `onData`, when
   * given, is called with every byte written to `file`, in order, so that the caller can hash
   * them while they arrive (a SHA-256 of a large blob costs as much as its download) instead of
   * reading the file again afterwards.
   */
  getBlob(
    digest: string,
    file: string,
    signal: AbortSignal,
    onData?: (chunk: Uint8Array) => void,
  ): Promise<boolean>;
  /** Stores `file`'s bytes as blob `digest` (skipped when it is already there). */
  putBlob(digest: string, file: string, signal: AbortSignal): Promise<void>;
  /** What the store holds, for `lbuild cache`; a store that cannot list itself has no such method. */
  contents?(signal: AbortSignal): Promise<StoreContents>;
}

/** A store's entries and blobs: how many, their bytes, and the entries' times. */
export interface StoreContents {
  entries: number;
  blobs: number;
  bytes: number;
  /** The oldest and newest entry times: when written (S3), or last used (the local directory). */
  oldest?: Date;
  newest?: Date;
}

/** Why a store could not answer: each is a miss with one warning, never a failed build. */
export type CacheStoreProblem = 'unreachable' | 'timeout' | 'denied' | 'other';

/** Thrown by a {@link CacheStore} when storage fails (not for a plain miss). */
export class CacheStoreError extends Error {
  readonly problem: CacheStoreProblem;

  constructor(problem: CacheStoreProblem, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'CacheStoreError';
    this.problem = problem;
  }
}

/** A store's contents from the sizes of its entries and blobs and when each entry was written. */
export function storeContents(
  entries: readonly { size: number; time?: Date | undefined }[],
  blobs: readonly { size: number }[],
): StoreContents {
  const times = entries
    .map((e) => e.time?.getTime())
    .filter((t) => t !== undefined)
    .sort((a, b) => a - b);
  const first = times[0];
  const last = times[times.length - 1];
  return {
    entries: entries.length,
    blobs: blobs.length,
    bytes: [...entries, ...blobs].reduce((n, f) => n + f.size, 0),
    ...(first !== undefined ? { oldest: new Date(first) } : {}),
    ...(last !== undefined ? { newest: new Date(last) } : {}),
  };
}
