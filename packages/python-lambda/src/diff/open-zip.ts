import { createHash } from 'node:crypto';
import { close, createReadStream, open as openFd } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { promisify } from 'node:util';
import yauzl from 'yauzl';
import { configError, type LbuildError } from '@lbuild/core';
import { BlockReader } from './block-reader.js';

/** One central-directory record, every field a difference can be in. */
export interface ZipRecord {
  /** Position in the central directory, from 0. */
  index: number;
  path: string;
  directory: boolean;
  crc32: number;
  size: number;
  compressedSize: number;
  /** 0 stored, 8 deflated, others as the zip format numbers them. */
  method: number;
  versionMadeBy: number;
  versionNeeded: number;
  flags: number;
  dosDate: number;
  dosTime: number;
  externalAttributes: number;
  internalAttributes: number;
  extraFields: { id: number; data: Buffer }[];
  comment: string;
  entry: yauzl.Entry;
}

/** A zip opened for comparing: its central directory in memory, its data read on demand. */
export interface OpenZip {
  path: string;
  bytes: number;
  /** SHA-256 of the whole file, hex. */
  sha256: string;
  comment: string;
  /** Whether the file ends with Zip64 end records. */
  zip64: boolean;
  records: ZipRecord[];
  /** The entry's content, inflated and checked against its size (yauzl's stream does that). */
  content(record: ZipRecord): Promise<Buffer>;
  /** SHA-256 (hex) of the entry's content, streamed. */
  contentSha256(record: ZipRecord): Promise<string>;
  /** SHA-256 (hex) of the entry's data as stored in the zip (compressed bytes). */
  rawSha256(record: ZipRecord): Promise<string>;
  /** The local file header, raw fields. */
  localHeader(record: ZipRecord): Promise<yauzl.LocalFileHeader>;
  close(): void;
}

/**
 * Opens a zip with yauzl and reads its whole central directory (not its data). A missing file
 * or one that is not a zip is bad input: a config error that says which.
 */
export async function openZip(path: string, shown: string = path): Promise<OpenZip> {
  let bytes: number;
  try {
    const info = await stat(path);
    if (!info.isFile()) throw notAZip(shown, 'it is not a regular file');
    bytes = info.size;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT')
      throw configError('missing-input', `${shown} does not exist`, {
        hint: 'give the path of a zip file (relative to the current directory or -C)',
      });
    throw error;
  }
  const fd = await promisify(openFd)(path, 'r');
  let file: yauzl.ZipFile;
  try {
    file = await yauzl.fromRandomAccessReaderPromise(new BlockReader(fd), bytes, {
      lazyEntries: true,
      autoClose: false,
      validateEntrySizes: true,
    });
  } catch (error) {
    close(fd, () => undefined);
    throw notAZip(shown, reasonOf(error));
  }
  const records: ZipRecord[] = [];
  try {
    for await (const entry of file.eachEntry()) {
      records.push({
        index: records.length,
        path: entry.fileName,
        directory: entry.fileName.endsWith('/'),
        crc32: entry.crc32 >>> 0,
        size: entry.uncompressedSize,
        compressedSize: entry.compressedSize,
        method: entry.compressionMethod,
        versionMadeBy: entry.versionMadeBy,
        versionNeeded: entry.versionNeededToExtract,
        flags: entry.generalPurposeBitFlag,
        dosDate: entry.lastModFileDate,
        dosTime: entry.lastModFileTime,
        externalAttributes: entry.externalFileAttributes >>> 0,
        internalAttributes: entry.internalFileAttributes,
        extraFields: entry.extraFields.map((f) => ({ id: f.id, data: f.data })),
        comment: entry.fileComment,
        entry,
      });
    }
  } catch (error) {
    file.close();
    throw notAZip(shown, reasonOf(error));
  }
  const [sha256, zip64] = await Promise.all([fileSha256(path), endsWithZip64(path, bytes)]).catch(
    (error: unknown) => {
      file.close();
      throw error;
    },
  );

  const read = async (record: ZipRecord, raw: boolean) => {
    try {
      return await file.openReadStreamPromise(record.entry, raw ? { decodeFileData: false } : {});
    } catch (error) {
      throw notAZip(shown, `entry ${record.path}: ${reasonOf(error)}`);
    }
  };
  const hashOf = async (record: ZipRecord, raw: boolean) => {
    const hash = createHash('sha256');
    try {
      for await (const chunk of await read(record, raw)) hash.update(chunk as Buffer);
    } catch (error) {
      throw notAZip(shown, `entry ${record.path}: ${reasonOf(error)}`);
    }
    return hash.digest('hex');
  };
  return {
    path,
    bytes,
    sha256,
    comment: file.comment,
    zip64,
    records,
    content: async (record) => {
      const chunks: Buffer[] = [];
      try {
        for await (const chunk of await read(record, false)) chunks.push(chunk as Buffer);
      } catch (error) {
        throw notAZip(shown, `entry ${record.path}: ${reasonOf(error)}`);
      }
      return Buffer.concat(chunks);
    },
    contentSha256: (record) => hashOf(record, false),
    rawSha256: (record) => hashOf(record, true),
    localHeader: async (record) => {
      try {
        return await file.readLocalFileHeaderPromise(record.entry);
      } catch (error) {
        throw notAZip(shown, `entry ${record.path}: ${reasonOf(error)}`);
      }
    },
    close: () => {
      file.close();
    },
  };
}

function reasonOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function notAZip(shown: string, why: string): LbuildError {
  return configError('not-a-zip', `${shown} cannot be read as a zip: ${why}`, {
    hint: 'give the path of a zip file, e.g. the output of a bundle (dist/NAME.zip)',
  });
}

async function fileSha256(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

const EOCD = 0x06054b50;
const ZIP64_LOCATOR = 0x07064b50;
const EOCD_SIZE = 22;
const LOCATOR_SIZE = 20;

/**
 * Whether the end-of-central-directory record is preceded by a Zip64 locator: yauzl reads the
 * Zip64 records but does not say whether it found them. Searched as yauzl searches: backwards
 * for the record whose comment length reaches the end of the file.
 */
async function endsWithZip64(path: string, bytes: number): Promise<boolean> {
  const length = Math.min(bytes, EOCD_SIZE + 0xffff + LOCATOR_SIZE);
  const tail = Buffer.alloc(length);
  const handle = await open(path, 'r');
  try {
    await handle.read(tail, 0, length, bytes - length);
  } finally {
    await handle.close();
  }
  for (let i = length - EOCD_SIZE; i >= 0; i--) {
    if (tail.readUInt32LE(i) !== EOCD) continue;
    if (tail.readUInt16LE(i + 20) !== length - i - EOCD_SIZE) continue;
    return i >= LOCATOR_SIZE && tail.readUInt32LE(i - LOCATOR_SIZE) === ZIP64_LOCATOR;
  }
  return false;
}
