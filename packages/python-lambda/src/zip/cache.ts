import { createHash } from 'node:crypto';
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { basename, join } from 'node:path';
import { hash64, hasher64 } from './content-hash.js';
import { ZIP_FORMAT_ID } from './format.js';

/**
 * The content-addressed cache of compressed entries, one file per content:
 *
 *     <cacheDir>/<k0k1>/<k>   k = SHA-256(CACHE_FORMAT, ZIP_FORMAT_ID, level, contentKey), hex
 *     <cacheDir>/tmp/         files being written (see temporaryName in @lbuild/core)
 *
 * A file holds fflate's verdict on the content itself (the bytes the contentKey names), however
 * the source holds it: a wheel entry to recompress is inflated before it is deflated, so its
 * file is what the same content would have as a project file. Nothing else enters the key.
 * What is deflated is checked against the contentKey before the file is written (a project
 * file's bytes against its content hash, a wheel entry's against the CRC-32 and size of the
 * wheel's central directory), so a file edited after the tree was built never lands under the
 * key of its earlier content.
 *
 * Each file is a 40-byte header, then (for deflated content) the deflated bytes:
 *
 *     0  "LBZ2"   4  method (u8: 0 stored, 8 deflated), 3 bytes 0
 *     8  CRC-32 (u32)   12  0 (u32)   16  size (u64)   24  compressed size (u64)
 *     32 digest (u64): xxh64 of header bytes 0–31 and k, seeded with the xxh64 of the
 *        deflated bytes (of nothing when stored)
 *
 * No file is used before its digest checks out: a torn, truncated, corrupted or tampered file,
 * or one copied under another key, is a miss and is replaced. A stored content's digest covers
 * its header alone, checked on lookup; a deflated one's is checked when its bytes are read to
 * be written into the zip (write-zip.ts), the one read they need anyway. xxh64 (content-hash.ts)
 * rather than SHA-256: it is there to catch damage, and on the compressed bytes of a warm
 * rebuild it costs a fraction of SHA-256's time (no unkeyed hash, however strong, stops someone
 * who can write to the cache, who can as well write the zip). Inflating every entry to check it
 * against its contentKey would cost as much as inflating the whole bundle on every build.
 *
 * A stored content keeps only the header: its bytes are read from the source again (and checked
 * against the CRC, and a project file's against its content hash) when the zip is written, so
 * incompressible files are not copied twice (a recompressed wheel entry's are inflated from the
 * wheel again).
 *
 * Why one file per content rather than one pack file: only contents that lbuild itself must
 * deflate come here (project files, wheel entries that the wheel stored, and every entry of a
 * wheel to recompress: one built on this machine, see WheelEntrySource.recompress); the entries
 * other wheels already deflated are copied from the wheel. Files are written whole under a
 * temporary name and renamed, so concurrent builds and crashes never leave a torn entry, there
 * is no index to rewrite or lock, and a cleaner can delete any file at any time. Opening a few
 * hundred small files costs milliseconds. The previous output zip was considered as the cache
 * and rejected: the user may delete or replace it, and after a failed build it no longer matches
 * any index.
 */
export interface CachedContent {
  method: 0 | 8;
  crc32: number;
  size: number;
  compressedSize: number;
  /** The cache file; for method 8 the deflated bytes start at {@link CACHE_HEADER_SIZE}. */
  file: string;
  /** The digest in its header, which the deflated bytes must check out against. */
  digest: bigint;
}

/**
 * Bumped when the layout or meaning of a cache file changes. It enters the key, so files of an
 * earlier layout are never looked at: those of "LBZ1" were written without checking what was
 * deflated against the contentKey, and some hold another content than their key names.
 */
export const CACHE_FORMAT = 'lbuild-zip-cache/2';
export const CACHE_HEADER_SIZE = 40;
/** The header bytes before the digest: what the digest covers besides the key and the data. */
export const CACHE_FIELDS_SIZE = 32;
/** "LBZ2" read as a little-endian u32. */
export const CACHE_MAGIC = 0x325a424c;

/**
 * The header of the cache file `file` (its name is the key), given the xxh64 of its deflated
 * bytes (of nothing when it is stored). The deflate worker computes the same.
 */
export function cacheHeader(file: string, dataHash: bigint, fields: Fields): Buffer {
  const header = Buffer.alloc(CACHE_HEADER_SIZE);
  cacheFields(fields).copy(header);
  header.writeBigUInt64LE(cacheDigest(file, header, dataHash), CACHE_FIELDS_SIZE);
  return header;
}

type Fields = Pick<CachedContent, 'method' | 'crc32' | 'size' | 'compressedSize'>;

/** The digest of a header's fields (bytes 0–31) and the key, seeded with the data's hash. */
function cacheDigest(file: string, header: Buffer, dataHash: bigint): bigint {
  const key = Buffer.from(basename(file), 'latin1');
  return hash64(Buffer.concat([header.subarray(0, CACHE_FIELDS_SIZE), key]), dataHash);
}

/** Whether deflated bytes whose xxh64 is `dataHash` are those `cached` names. */
export function checksOut(cached: CachedContent, dataHash: bigint): boolean {
  return cacheDigest(cached.file, cacheFields(cached), dataHash) === cached.digest;
}

/** Header bytes 0–31. */
function cacheFields(cached: Fields): Buffer {
  const fields = Buffer.alloc(CACHE_FIELDS_SIZE);
  fields.writeUInt32LE(CACHE_MAGIC, 0);
  fields.writeUInt8(cached.method, 4);
  fields.writeUInt32LE(cached.crc32 >>> 0, 8);
  fields.writeBigUInt64LE(BigInt(cached.size), 16);
  fields.writeBigUInt64LE(BigInt(cached.compressedSize), 24);
  return fields;
}

const VERIFY_CHUNK = 1024 * 1024;

export class EntryCache {
  readonly #dir: string;
  readonly #level: number;

  constructor(dir: string, level: number) {
    this.#dir = dir;
    this.#level = level;
  }

  /** Where cache files are written before they are renamed into place. */
  get tempDir(): string {
    return join(this.#dir, 'tmp');
  }

  fileFor(contentKey: string): string {
    const key = createHash('sha256')
      .update(`${CACHE_FORMAT}\0${ZIP_FORMAT_ID}\0${String(this.#level)}\0${contentKey}`)
      .digest('hex');
    return join(this.#dir, key.slice(0, 2), key);
  }

  /**
   * The cached content for `contentKey`, or `null` when it is missing, of another size or layout,
   * or a stored content whose header does not check out. A deflated content's bytes are checked
   * later, when they are read (see {@link checksOut}). Synchronous: an open, a 40-byte read and
   * a stat take microseconds, less than one thread-pool round trip of the asynchronous versions.
   */
  lookup(contentKey: string, size: number): CachedContent | null {
    const file = this.fileFor(contentKey);
    let fd: number;
    try {
      fd = openSync(file, 'r');
    } catch {
      return null;
    }
    try {
      const header = Buffer.alloc(CACHE_HEADER_SIZE);
      const bytesRead = readSync(fd, header, 0, CACHE_HEADER_SIZE, 0);
      if (bytesRead !== CACHE_HEADER_SIZE || header.readUInt32LE(0) !== CACHE_MAGIC) return null;
      const method = header.readUInt8(4);
      const crc32 = header.readUInt32LE(8);
      const cachedSize = Number(header.readBigUInt64LE(16));
      const compressedSize = Number(header.readBigUInt64LE(24));
      if (cachedSize !== size || (method !== 0 && method !== 8)) return null;
      const { size: fileSize } = fstatSync(fd);
      const expected = method === 8 ? CACHE_HEADER_SIZE + compressedSize : CACHE_HEADER_SIZE;
      if (fileSize !== expected) return null;
      const digest = header.readBigUInt64LE(CACHE_FIELDS_SIZE);
      if (method === 0 && digest !== cacheDigest(file, header, hash64(EMPTY))) return null;
      return { method, crc32, size, compressedSize, file, digest };
    } finally {
      closeSync(fd);
    }
  }
}

const EMPTY = new Uint8Array(0);

/**
 * Reads the deflated bytes of a cache file found by {@link EntryCache.lookup} in pieces, and
 * says whether they check out (false too when the file is shorter).
 */
export function checkDeflatedInPieces(fd: number, cached: CachedContent): boolean {
  const hasher = hasher64();
  const chunk = Buffer.allocUnsafe(Math.min(VERIFY_CHUNK, cached.compressedSize));
  for (let done = 0; done < cached.compressedSize;) {
    const piece = chunk.subarray(0, Math.min(chunk.length, cached.compressedSize - done));
    if (!readFully(fd, piece, CACHE_HEADER_SIZE + done)) return false;
    hasher.update(piece);
    done += piece.length;
  }
  return checksOut(cached, hasher.digest());
}

/** Fills `into` from `position`; false when the file ends first. */
export function readFully(fd: number, into: Buffer, position: number): boolean {
  let got = 0;
  while (got < into.length) {
    const n = readSync(fd, into, got, into.length - got, position + got);
    if (n === 0) return false;
    got += n;
  }
  return true;
}
