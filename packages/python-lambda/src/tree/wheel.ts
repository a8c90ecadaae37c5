import { closeSync, createReadStream, fstatSync, openSync, readSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { basename } from 'node:path';
import { promisify } from 'node:util';
import { inflateRaw } from 'node:zlib';
import yauzl from 'yauzl';
import { LbuildError, buildError } from '@lbuild/core';
import { decodeEntryName, unsafePathReason } from './paths.js';

const inflateRawAsync = promisify(inflateRaw);

/** One file of a wheel, mapped to where an installer would put it. */
export interface WheelFileEntry {
  /** Where it lands in the bundle, relative to the root. */
  path: string;
  /** The entry's name in the wheel. */
  entryName: string;
  executable: boolean;
  size: number;
  compressedSize: number;
  crc32: number;
  method: 0 | 8;
  localHeaderOffset: number;
}

const S_IFMT = 0o170000;
const S_IFREG = 0o100000;
const S_IFDIR = 0o040000;
const S_IFLNK = 0o120000;

function unsafeEntry(wheel: string, entryName: string, why: string): Error {
  return buildError(
    'unsafe-wheel-entry',
    `Wheel ${basename(wheel)} has an unsafe entry "${entryName}": ${why}.`,
    {
      hint: 'lbuild does not install it. Rebuild the wheel, or report it to whoever published it.',
    },
  );
}

function badWheel(wheel: string, what: string, cause?: unknown): Error {
  return new LbuildError(
    {
      reason: 'bad-wheel',
      kind: 'build',
      message: `Wheel ${basename(wheel)} cannot be read: ${what}.`,
      hint: 'Rebuild the wheelhouse; the file may be truncated or not a wheel.',
    },
    cause === undefined ? undefined : { cause },
  );
}

interface RawEntry {
  name: string;
  mode: number;
  isDirectory: boolean;
  method: number;
  encrypted: boolean;
  size: number;
  compressedSize: number;
  crc32: number;
  localHeaderOffset: number;
}

const BLOCK_SIZE = 256 * 1024;

/**
 * A reader for yauzl that serves reads from 256 KiB blocks read synchronously and kept while the
 * wheel is open. yauzl reads each central-directory record with two small reads; through the
 * thread pool that is ~40 µs per entry, from cached blocks it is a memory copy.
 */
class BlockReader extends yauzl.RandomAccessReader {
  readonly #fd: number;
  readonly #size: number;
  readonly #blocks = new Map<number, Buffer>();
  #closed = false;

  constructor(fd: number, size: number) {
    super();
    this.#fd = fd;
    this.#size = size;
  }

  #block(index: number): Buffer {
    let block = this.#blocks.get(index);
    if (block === undefined) {
      const start = index * BLOCK_SIZE;
      block = Buffer.allocUnsafe(Math.min(BLOCK_SIZE, this.#size - start));
      let done = 0;
      while (done < block.length) {
        const n = readSync(this.#fd, block, done, block.length - done, start + done);
        if (n === 0) break;
        done += n;
      }
      block = block.subarray(0, done);
      this.#blocks.set(index, block);
    }
    return block;
  }

  #readInto(buffer: Buffer, offset: number, length: number, position: number): number {
    let done = 0;
    while (done < length && position + done < this.#size) {
      const at = position + done;
      const block = this.#block(Math.floor(at / BLOCK_SIZE));
      const from = at % BLOCK_SIZE;
      if (from >= block.length) break;
      const n = block.copy(
        buffer,
        offset + done,
        from,
        Math.min(block.length, from + length - done),
      );
      done += n;
    }
    return done;
  }

  override read(
    buffer: Buffer,
    offset: number,
    length: number,
    position: number,
    // yauzl calls it with (err, bytesRead); @types/yauzl declares only err.
    callback: (err: Error | null, bytesRead?: number) => void,
  ): void {
    const reply = callback;
    try {
      const bytesRead = this.#readInto(buffer, offset, length, position);
      process.nextTick(reply, null, bytesRead);
    } catch (error) {
      process.nextTick(reply, error instanceof Error ? error : new Error(String(error)));
    }
  }

  override _readStreamForRange(start: number, end: number): Readable {
    return createReadStream('', { fd: this.#fd, start, end: end - 1, autoClose: false });
  }

  override close(callback: (err: Error | null) => void): void {
    if (!this.#closed) {
      this.#closed = true;
      this.#blocks.clear();
      closeSync(this.#fd);
    }
    process.nextTick(callback, null);
  }
}

async function readCentralDirectory(wheel: string, signal?: AbortSignal): Promise<RawEntry[]> {
  let zip: yauzl.ZipFile;
  try {
    const fd = openSync(wheel, 'r');
    let size: number;
    try {
      size = fstatSync(fd).size;
    } catch (error) {
      closeSync(fd);
      throw error;
    }
    zip = await yauzl.fromRandomAccessReaderPromise(new BlockReader(fd, size), size, {
      lazyEntries: true,
      autoClose: true,
      // Names are checked here (with the entry named in the error) rather than by yauzl,
      // which would reject a bad name with an error that names neither wheel nor entry.
      decodeStrings: false,
      validateEntrySizes: true,
    });
  } catch (error) {
    throw badWheel(wheel, error instanceof Error ? error.message : String(error), error);
  }
  const entries: RawEntry[] = [];
  try {
    for await (const entry of zip.eachEntry()) {
      signal?.throwIfAborted();
      const name = decodeEntryName(entry.fileNameRaw, entry.generalPurposeBitFlag);
      const mode = (entry.externalFileAttributes >>> 16) & 0xffff;
      const type = mode & S_IFMT;
      if (type === S_IFLNK) throw unsafeEntry(wheel, name, 'it is a symbolic link');
      const isDirectory = name.endsWith('/') || type === S_IFDIR;
      const why = unsafePathReason(name, isDirectory);
      if (why !== null) throw unsafeEntry(wheel, name, why);
      if (type !== 0 && type !== S_IFREG && type !== S_IFDIR) {
        throw unsafeEntry(wheel, name, 'it is not a regular file (a device, FIFO or socket)');
      }
      entries.push({
        name,
        mode,
        isDirectory,
        method: entry.compressionMethod,
        encrypted: entry.isEncrypted(),
        size: entry.uncompressedSize,
        compressedSize: entry.compressedSize,
        crc32: entry.crc32,
        localHeaderOffset: entry.relativeOffsetOfLocalHeader,
      });
    }
  } catch (error) {
    zip.close();
    if (error instanceof LbuildError) throw error;
    if (signal?.aborted) throw error;
    throw badWheel(wheel, error instanceof Error ? error.message : String(error), error);
  }
  return entries;
}

/**
 * Lists the files a wheel installs, from its central directory only (nothing is extracted or
 * decompressed), mapped as an installer maps them:
 * - `<name>-<version>.data/purelib/…` and `…/platlib/…` go to the root, like the rest of the
 *   wheel (a Lambda bundle is one flat site-packages);
 * - the other `.data/` schemes (`scripts`, `headers`, `data`, and any unknown one) are left out:
 *   they install outside site-packages, into places a Lambda bundle does not have;
 * - `.dist-info/` is kept as it is (its RECORD still lists the `.data/` paths; nothing in Lambda
 *   reads it);
 * - directory entries are dropped: the bundle holds files only.
 *
 * Refuses (LbuildError, reason `unsafe-wheel-entry`) entries whose path escapes the root, is
 * absolute, has a drive letter or a backslash, and symbolic links or other non-regular files.
 */
export async function readWheelFiles(
  wheel: string,
  signal?: AbortSignal,
): Promise<WheelFileEntry[]> {
  const raw = await readCentralDirectory(wheel, signal);
  const distInfo = new Set<string>();
  for (const entry of raw) {
    const top = entry.name.split('/', 1)[0] ?? '';
    if (top.endsWith('.dist-info') && entry.name.length > top.length) distInfo.add(top);
  }
  if (distInfo.size !== 1) {
    throw badWheel(
      wheel,
      distInfo.size === 0
        ? 'it has no .dist-info directory'
        : `it has ${String(distInfo.size)} .dist-info directories (${[...distInfo].sort().join(', ')})`,
    );
  }
  const [infoDir] = [...distInfo] as [string];
  const dataPrefix = `${infoDir.slice(0, -'.dist-info'.length)}.data/`;
  const files: WheelFileEntry[] = [];
  for (const entry of raw) {
    if (entry.isDirectory) continue;
    let path = entry.name;
    if (path.startsWith(dataPrefix)) {
      const rest = path.slice(dataPrefix.length);
      const slash = rest.indexOf('/');
      const scheme = slash === -1 ? '' : rest.slice(0, slash);
      if (scheme !== 'purelib' && scheme !== 'platlib') continue;
      path = rest.slice(slash + 1);
      if (path === '') continue;
    }
    if (entry.encrypted) throw unsafeEntry(wheel, entry.name, 'it is encrypted');
    if (entry.method !== 0 && entry.method !== 8) {
      throw badWheel(
        wheel,
        `entry "${entry.name}" uses compression method ${String(entry.method)}; only stored (0) and deflated (8) are supported`,
      );
    }
    const type = entry.mode & S_IFMT;
    files.push({
      path,
      entryName: entry.name,
      // As pip decides it: a regular file with any executable bit.
      executable: entry.mode !== 0 && type === S_IFREG && (entry.mode & 0o111) !== 0,
      size: entry.size,
      compressedSize: entry.compressedSize,
      crc32: entry.crc32,
      method: entry.method,
      localHeaderOffset: entry.localHeaderOffset,
    });
  }
  return files;
}

/**
 * Where an entry's data starts in its wheel (open as `fd`); checks the local header against the
 * entry name. Reads synchronously: two small reads from the page cache cost microseconds, and a
 * zip of thousands of entries does this once per entry.
 */
export function readEntryDataOffset(
  fd: number,
  wheel: string,
  entryName: string,
  localHeaderOffset: number,
): number {
  const nameBytes = Buffer.from(entryName, 'utf8');
  const header = Buffer.alloc(30 + nameBytes.length);
  const bytesRead = readSync(fd, header, 0, header.length, localHeaderOffset);
  if (bytesRead < 30 || header.readUInt32LE(0) !== 0x04034b50) {
    throw badWheel(
      wheel,
      `no local header for "${entryName}" at offset ${String(localHeaderOffset)}; the wheel changed after the tree was built`,
    );
  }
  const nameLength = header.readUInt16LE(26);
  const extraLength = header.readUInt16LE(28);
  if (nameLength === nameBytes.length) {
    const flags = header.readUInt16LE(6);
    if (
      bytesRead < 30 + nameLength ||
      decodeEntryName(header.subarray(30, 30 + nameLength), flags) !== entryName
    ) {
      throw badWheel(
        wheel,
        `the local header at offset ${String(localHeaderOffset)} is not "${entryName}"; the wheel changed after the tree was built`,
      );
    }
  } else if ((header.readUInt16LE(6) & 0x800) !== 0) {
    throw badWheel(
      wheel,
      `the local header at offset ${String(localHeaderOffset)} is not "${entryName}"; the wheel changed after the tree was built`,
    );
  }
  return localHeaderOffset + 30 + nameLength + extraLength;
}

/** Reads one entry's uncompressed bytes into memory (used only for rare checks). */
export async function readWheelEntryContent(source: {
  wheel: string;
  entryName: string;
  method: 0 | 8;
  compressedSize: number;
  localHeaderOffset: number;
}): Promise<Buffer> {
  const fd = openSync(source.wheel, 'r');
  let data: Buffer;
  try {
    const start = readEntryDataOffset(fd, source.wheel, source.entryName, source.localHeaderOffset);
    data = Buffer.alloc(source.compressedSize);
    const bytesRead = readSync(fd, data, 0, data.length, start);
    if (bytesRead !== data.length)
      throw badWheel(source.wheel, `entry "${source.entryName}" is truncated`);
  } finally {
    closeSync(fd);
  }
  return source.method === 8 ? await inflateRawAsync(data) : data;
}
