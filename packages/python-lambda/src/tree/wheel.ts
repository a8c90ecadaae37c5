import { closeSync, createReadStream, fstatSync, openSync, readSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { basename } from 'node:path';
import { promisify } from 'node:util';
import { inflateRaw } from 'node:zlib';
import yauzl from 'yauzl';
import { LbuildError, buildError } from '@lbuild/core';
import { decodeEntryName, unsafePathReason } from './paths.js';

const inflateRawAsync = promisify(inflateRaw);

/**
 * Where a wheel's file is installed: the wheel's root, or one of the `.data/` schemes (see
 * readWheelFiles for where each lands).
 */
export type InstallScheme = 'root' | 'purelib' | 'platlib' | 'scripts' | 'data' | 'headers';

/** One file of a wheel, mapped to where an installer would put it. */
export interface WheelFileEntry {
  /** Where it lands in the bundle, relative to the root. */
  path: string;
  /** The entry's name in the wheel. */
  entryName: string;
  scheme: InstallScheme;
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

/** A wheel's files as an installer maps them, and its one `.dist-info` directory. */
export interface WheelListing {
  /** `NAME-VERSION.dist-info`. */
  distInfo: string;
  files: WheelFileEntry[];
}

/**
 * Lists the files a wheel installs, from its central directory only (nothing is extracted or
 * decompressed), mapped as `pip install --target DIR` lays them out (pip installs into a
 * temporary `--home` scheme and moves what it made into DIR; Lambda's task root is that DIR):
 * - the wheel's root, and `.data/purelib/…` and `.data/platlib/…`, go to the root;
 * - `.data/scripts/X` goes to `bin/X` (build-tree rewrites a `#!python` first line and drops
 *   the wrappers entry points replace, as pip does);
 * - `.data/data/X` goes to `X`, except under `lib/`: `lib/python/X` is the home scheme's
 *   site-packages, so it goes to `X`, and anything else below `lib/` is dropped, as pip's move
 *   skips the `lib` folder it installed site-packages into;
 * - `.data/headers/X` goes to `include/python/NAME/X`, NAME being the project name of the wheel's
 *   file name with `_` as `-` (pip's path outside a virtual environment);
 * - `.dist-info/` is kept (build-tree writes RECORD and INSTALLER as an installer does);
 * - directory entries are dropped: the bundle holds files only.
 *
 * Any top-level folder whose name ends in `.data` is a data folder, as pip decides it; a file in
 * it outside those five schemes is refused with reason `bad-wheel`, as pip refuses it.
 *
 * Refuses (LbuildError, reason `unsafe-wheel-entry`) entries whose path escapes the root, is
 * absolute, has a drive letter or a backslash, and symbolic links or other non-regular files.
 */
export async function readWheel(wheel: string, signal?: AbortSignal): Promise<WheelListing> {
  const raw = await readCentralDirectory(wheel, signal);
  const distInfos = new Set<string>();
  for (const entry of raw) {
    const top = entry.name.split('/', 1)[0] ?? '';
    if (top.endsWith('.dist-info') && entry.name.length > top.length) distInfos.add(top);
  }
  if (distInfos.size !== 1) {
    throw badWheel(
      wheel,
      distInfos.size === 0
        ? 'it has no .dist-info directory'
        : `it has ${String(distInfos.size)} .dist-info directories (${[...distInfos].sort().join(', ')})`,
    );
  }
  const [distInfo] = [...distInfos] as [string];
  const headers = `include/python/${projectNameOf(wheel)}/`;
  const files: WheelFileEntry[] = [];
  for (const entry of raw) {
    if (entry.isDirectory) continue;
    const place = installPlace(wheel, entry.name, headers);
    if (place === null) continue;
    if (entry.encrypted) throw unsafeEntry(wheel, entry.name, 'it is encrypted');
    if (entry.method !== 0 && entry.method !== 8) {
      throw badWheel(
        wheel,
        `entry "${entry.name}" uses compression method ${String(entry.method)}; only stored (0) and deflated (8) are supported`,
      );
    }
    const type = entry.mode & S_IFMT;
    files.push({
      path: place.path,
      entryName: entry.name,
      scheme: place.scheme,
      // As pip decides it: a regular file with any executable bit.
      executable: entry.mode !== 0 && type === S_IFREG && (entry.mode & 0o111) !== 0,
      size: entry.size,
      compressedSize: entry.compressedSize,
      crc32: entry.crc32,
      method: entry.method,
      localHeaderOffset: entry.localHeaderOffset,
    });
  }
  return { distInfo, files };
}

/** The files of {@link readWheel}, without the `.dist-info` name. */
export async function readWheelFiles(
  wheel: string,
  signal?: AbortSignal,
): Promise<WheelFileEntry[]> {
  return (await readWheel(wheel, signal)).files;
}

/** The project name in a wheel's file name, as pip names the requirement for it. */
function projectNameOf(wheel: string): string {
  return (basename(wheel).split('-', 1)[0] ?? '').replaceAll('_', '-');
}

const DATA_SCHEMES = new Set(['purelib', 'platlib', 'scripts', 'data', 'headers']);

/** Where `pip install --target` puts a wheel's file, or null when it drops it. */
function installPlace(
  wheel: string,
  name: string,
  headers: string,
): { path: string; scheme: InstallScheme } | null {
  const slash = name.indexOf('/');
  if (slash === -1 || !name.slice(0, slash).endsWith('.data'))
    return { path: name, scheme: 'root' };
  const rest = name.slice(slash + 1);
  const next = rest.indexOf('/');
  if (next === -1) {
    throw badWheel(
      wheel,
      `"${name}" is directly in the .data directory; its contents must be in folders named for a scheme (data, headers, platlib, purelib, scripts)`,
    );
  }
  const scheme = rest.slice(0, next);
  const path = rest.slice(next + 1);
  if (!DATA_SCHEMES.has(scheme)) {
    throw badWheel(
      wheel,
      `"${name}" is in the unknown scheme "${scheme}"; .data contents must be in folders named for a scheme (data, headers, platlib, purelib, scripts)`,
    );
  }
  switch (scheme) {
    case 'purelib':
    case 'platlib':
      return { path, scheme };
    case 'scripts':
      return { path: `bin/${path}`, scheme };
    case 'headers':
      return { path: headers + path, scheme };
    default:
      if (path.startsWith('lib/python/'))
        return { path: path.slice('lib/python/'.length), scheme: 'data' };
      if (path.startsWith('lib/')) return null;
      return { path, scheme: 'data' };
  }
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
