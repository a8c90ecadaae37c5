import { createHash } from 'node:crypto';
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { ZIP_FORMAT_ID } from './format.js';

/**
 * The content-addressed cache of compressed entries, one file per content:
 *
 *     <cacheDir>/<k0k1>/<k>      k = SHA-256(ZIP_FORMAT_ID, level, contentKey), hex
 *     <cacheDir>/tmp/            files being written (see temporaryName in @lbuild/core)
 *
 * A file holds fflate's verdict on the content itself (the bytes the contentKey names), however
 * the source holds it: a wheel entry to recompress is inflated before it is deflated, so its
 * file is what the same content would have as a project file. Nothing else enters the key.
 *
 * Each file is a 32-byte header, then (for deflated content) the deflated bytes:
 *
 *     0  "LBZ1"   4  method (u8: 0 stored, 8 deflated), 3 bytes 0
 *     8  CRC-32 (u32)   12  0 (u32)   16  size (u64)   24  compressed size (u64)
 *
 * A stored content keeps only the header: its bytes are read from the source again (and checked
 * against the CRC) when the zip is written, so incompressible files are not copied twice (a
 * recompressed wheel entry's are inflated from the wheel again).
 *
 * Why one file per content rather than one pack file: only contents that lbuild itself must
 * deflate come here (project files, wheel entries that the wheel stored, and every entry of a
 * wheel to recompress: one built on this machine, see WheelEntrySource.recompress); the entries
 * other wheels already deflated are copied from the wheel. Files are written whole under a
 * temporary name and renamed, so concurrent builds and crashes never leave a torn entry, there
 * is no index to rewrite or lock, and a cleaner can delete any file at any time. Opening a few hundred small
 * files costs milliseconds. The previous output zip was considered as the cache and rejected:
 * the user may delete or replace it, and after a failed build it no longer matches any index.
 */
export interface CachedContent {
  method: 0 | 8;
  crc32: number;
  size: number;
  compressedSize: number;
  /** The cache file; for method 8 the deflated bytes start at {@link CACHE_HEADER_SIZE}. */
  file: string;
}

export const CACHE_HEADER_SIZE = 32;
/** "LBZ1" read as a little-endian u32. */
export const CACHE_MAGIC = 0x315a424c;

/** The 32-byte header of a cache file (the deflate worker writes the same bytes). */
export function encodeCacheHeader(
  method: 0 | 8,
  crc32: number,
  size: number,
  compressedSize: number,
): Buffer {
  const header = Buffer.alloc(CACHE_HEADER_SIZE);
  header.writeUInt32LE(CACHE_MAGIC, 0);
  header.writeUInt8(method, 4);
  header.writeUInt32LE(crc32 >>> 0, 8);
  header.writeBigUInt64LE(BigInt(size), 16);
  header.writeBigUInt64LE(BigInt(compressedSize), 24);
  return header;
}

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
      .update(`${ZIP_FORMAT_ID}\0${String(this.#level)}\0${contentKey}`)
      .digest('hex');
    return join(this.#dir, key.slice(0, 2), key);
  }

  /**
   * The cached content for `contentKey`, or `null` when it is missing, torn or of another size.
   * Synchronous: an open, a 32-byte read and a stat take microseconds, less than one thread-pool
   * round trip of the asynchronous versions.
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
      return { method, crc32, size, compressedSize, file };
    } finally {
      closeSync(fd);
    }
  }
}
