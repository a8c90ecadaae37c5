/**
 * The zip format as lbuild writes it. Every choice here enters the bytes of every zip, so
 * changing any of them must change {@link ZIP_FORMAT_ID}.
 *
 * - One fixed timestamp, 1980-01-01 00:00:00, written directly as DOS date and time fields (no
 *   `Date`, so no time zone is involved).
 * - Version made by: Unix (3), so readers take the mode from the upper 16 bits of the external
 *   attributes: 0100644 or 0100755. Internal attributes 0.
 * - No extra fields, except the Zip64 one where a size or offset needs it (see below).
 * - General-purpose flags: bit 11 (UTF-8) only when the name is not ASCII (an ASCII name is the
 *   same in CP437 and UTF-8; this is what Python's zipfile and Info-ZIP do). Never bit 3: sizes
 *   and CRC are known before an entry is written, so there are no data descriptors.
 * - Zip64 exactly when needed: an entry's Zip64 extra field when its size or compressed size is
 *   0xFFFFFFFF or more (local header: both sizes; central header: only the fields that
 *   overflow, in the order size, compressed size, offset); the Zip64 end records when the entry
 *   count is 0xFFFF or more or the central directory's size or offset is 0xFFFFFFFF or more.
 * - Version needed: 2.0 (4.5 when the header has a Zip64 field).
 *
 * The rules that choose each entry's data (write-zip.ts) are part of the format too: a wheel's
 * deflated data is copied when smaller than the content, else the content is stored; any other
 * content is deflated with fflate at the caller's level (`deflateSync` up to 16 MiB, the
 * streaming `Deflate` fed 1 MiB chunks above: STREAM_THRESHOLD and STREAM_CHUNK in deflate.ts)
 * and stored when that is not smaller. The entries of a wheel marked `recompress` in the
 * manifest count as "any other content": a deflated one is inflated first.
 *
 * That last rule did not change the ID: it applies only to manifests with `recompress` entries,
 * which no earlier writer was given, so every manifest without them gives the same bytes as
 * before; the flag is in tree.json, so the zip target's stamp tells the two apart; and the
 * cache files keep their meaning (fflate's verdict on a content, whatever its source).
 */
export const ZIP_FORMAT_ID = 'lbuild-zip/1 fflate-0.8.3';

/** The fflate version the format is defined with; any other version may deflate differently. */
export const FFLATE_VERSION = '0.8.3';

/** 1980-01-01: (year - 1980) << 9 | month << 5 | day. */
export const DOS_DATE = (0 << 9) | (1 << 5) | 1;
/** 00:00:00: hour << 11 | minute << 5 | second / 2. */
export const DOS_TIME = 0;

const UNIX = 3;
const VERSION_20 = 20;
const VERSION_45 = 45;
const MAX32 = 0xffffffff;
const MAX16 = 0xffff;

export interface EntryHeader {
  name: Buffer;
  method: 0 | 8;
  crc32: number;
  compressedSize: number;
  size: number;
  /** 0o644 or 0o755. */
  mode: number;
}

function isAscii(name: Buffer): boolean {
  for (const byte of name) if (byte >= 0x80) return false;
  return true;
}

function writeUInt64(buffer: Buffer, value: number, offset: number): void {
  buffer.writeBigUInt64LE(BigInt(value), offset);
}

function flagsOf(entry: EntryHeader): number {
  return isAscii(entry.name) ? 0 : 0x800;
}

export function localHeader(entry: EntryHeader): Buffer {
  const zip64 = entry.size >= MAX32 || entry.compressedSize >= MAX32;
  const extraLength = zip64 ? 20 : 0;
  const header = Buffer.alloc(30 + entry.name.length + extraLength);
  header.writeUInt32LE(0x04034b50, 0);
  header.writeUInt16LE(zip64 ? VERSION_45 : VERSION_20, 4);
  header.writeUInt16LE(flagsOf(entry), 6);
  header.writeUInt16LE(entry.method, 8);
  header.writeUInt16LE(DOS_TIME, 10);
  header.writeUInt16LE(DOS_DATE, 12);
  header.writeUInt32LE(entry.crc32 >>> 0, 14);
  header.writeUInt32LE(zip64 ? MAX32 : entry.compressedSize, 18);
  header.writeUInt32LE(zip64 ? MAX32 : entry.size, 22);
  header.writeUInt16LE(entry.name.length, 26);
  header.writeUInt16LE(extraLength, 28);
  entry.name.copy(header, 30);
  if (zip64) {
    const at = 30 + entry.name.length;
    header.writeUInt16LE(0x0001, at);
    header.writeUInt16LE(16, at + 2);
    writeUInt64(header, entry.size, at + 4);
    writeUInt64(header, entry.compressedSize, at + 12);
  }
  return header;
}

export function centralHeader(entry: EntryHeader, localHeaderOffset: number): Buffer {
  const wide: number[] = [];
  if (entry.size >= MAX32) wide.push(entry.size);
  if (entry.compressedSize >= MAX32) wide.push(entry.compressedSize);
  if (localHeaderOffset >= MAX32) wide.push(localHeaderOffset);
  const extraLength = wide.length === 0 ? 0 : 4 + 8 * wide.length;
  const version = wide.length === 0 ? VERSION_20 : VERSION_45;
  const header = Buffer.alloc(46 + entry.name.length + extraLength);
  header.writeUInt32LE(0x02014b50, 0);
  header.writeUInt16LE((UNIX << 8) | version, 4);
  header.writeUInt16LE(version, 6);
  header.writeUInt16LE(flagsOf(entry), 8);
  header.writeUInt16LE(entry.method, 10);
  header.writeUInt16LE(DOS_TIME, 12);
  header.writeUInt16LE(DOS_DATE, 14);
  header.writeUInt32LE(entry.crc32 >>> 0, 16);
  header.writeUInt32LE(Math.min(entry.compressedSize, MAX32), 20);
  header.writeUInt32LE(Math.min(entry.size, MAX32), 24);
  header.writeUInt16LE(entry.name.length, 28);
  header.writeUInt16LE(extraLength, 30);
  header.writeUInt16LE(0, 32); // comment length
  header.writeUInt16LE(0, 34); // disk number start
  header.writeUInt16LE(0, 36); // internal attributes
  header.writeUInt32LE(((0o100000 | entry.mode) << 16) >>> 0, 38);
  header.writeUInt32LE(Math.min(localHeaderOffset, MAX32), 42);
  entry.name.copy(header, 46);
  if (wide.length > 0) {
    let at = 46 + entry.name.length;
    header.writeUInt16LE(0x0001, at);
    header.writeUInt16LE(8 * wide.length, at + 2);
    at += 4;
    for (const value of wide) {
      writeUInt64(header, value, at);
      at += 8;
    }
  }
  return header;
}

/** The end records: Zip64 end record and locator when needed, then the classic end record. */
export function endRecords(entryCount: number, centralOffset: number, centralSize: number): Buffer {
  const zip64 = entryCount >= MAX16 || centralOffset >= MAX32 || centralSize >= MAX32;
  const parts: Buffer[] = [];
  if (zip64) {
    const record = Buffer.alloc(56);
    record.writeUInt32LE(0x06064b50, 0);
    writeUInt64(record, 44, 4); // size of the rest of this record
    record.writeUInt16LE((UNIX << 8) | VERSION_45, 12);
    record.writeUInt16LE(VERSION_45, 14);
    record.writeUInt32LE(0, 16); // this disk
    record.writeUInt32LE(0, 20); // disk with the central directory
    writeUInt64(record, entryCount, 24);
    writeUInt64(record, entryCount, 32);
    writeUInt64(record, centralSize, 40);
    writeUInt64(record, centralOffset, 48);
    const locator = Buffer.alloc(20);
    locator.writeUInt32LE(0x07064b50, 0);
    locator.writeUInt32LE(0, 4);
    writeUInt64(locator, centralOffset + centralSize, 8);
    locator.writeUInt32LE(1, 16); // total disks
    parts.push(record, locator);
  }
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(0, 4);
  end.writeUInt16LE(0, 6);
  end.writeUInt16LE(Math.min(entryCount, MAX16), 8);
  end.writeUInt16LE(Math.min(entryCount, MAX16), 10);
  end.writeUInt32LE(Math.min(centralSize, MAX32), 12);
  end.writeUInt32LE(Math.min(centralOffset, MAX32), 16);
  end.writeUInt16LE(0, 20); // comment length
  parts.push(end);
  return Buffer.concat(parts);
}

/**
 * fflate's default. Measured on 573 MB of installed Python packages (site-packages, 43k files):
 * level 6 gives 32.33% of the input at 33 MB/s, level 9 gives 32.26% at 19 MB/s. The 0.07 points
 * are not worth 1.7x the time.
 */
export const DEFAULT_ZIP_LEVEL = 6;

/** Lambda's limit on the unzipped size of a function's code and layers: 250 MB. */
export const LAMBDA_MAX_UNZIPPED_BYTES = 262_144_000;
