import type { ZipRecord } from './open-zip.js';

/**
 * How the raw fields of a zip entry read to a person: the values the diff reports, so that its
 * text and its JSON say the same thing.
 */

const HOSTS: Record<number, string> = {
  0: 'MS-DOS',
  3: 'Unix',
  7: 'Macintosh',
  10: 'Windows NTFS',
  11: 'MVS',
  19: 'OS X',
};

/** `versionMadeBy`: the system whose attributes the entry carries, and the zip spec version. */
export function madeBy(versionMadeBy: number): string {
  const host = versionMadeBy >> 8;
  const version = versionMadeBy & 0xff;
  return `${HOSTS[host] ?? `host ${String(host)}`} ${String(Math.floor(version / 10))}.${String(version % 10)}`;
}

export function zipVersion(version: number): string {
  return `${String(Math.floor(version / 10))}.${String(version % 10)}`;
}

/**
 * External attributes: a Unix mode in the upper 16 bits (as `unzip` restores it), and the DOS
 * attribute bits in the lowest byte when any is set.
 */
export function attributes(external: number): string {
  const mode = (external >>> 16) & 0xffff;
  const dos = external & 0xff;
  const parts = [mode ? mode.toString(8).padStart(7, '0') : 'no Unix mode'];
  if (dos) parts.push(`DOS attributes 0x${dos.toString(16).padStart(2, '0')}`);
  return parts.join(', ');
}

const pad = (n: number, width = 2) => String(n).padStart(width, '0');

/** The DOS date and time fields, as written (they carry no time zone). */
export function dosDateTime(date: number, time: number): string {
  const year = 1980 + (date >> 9);
  const month = (date >> 5) & 0xf;
  const day = date & 0x1f;
  const hour = time >> 11;
  const minute = (time >> 5) & 0x3f;
  const second = (time & 0x1f) * 2;
  return `${String(year)}-${pad(month)}-${pad(day)} ${pad(hour)}:${pad(minute)}:${pad(second)}`;
}

export function method(value: number): string {
  return value === 0 ? 'stored' : value === 8 ? 'deflated' : `method ${String(value)}`;
}

const FLAG_NAMES: [number, string][] = [
  [0x1, 'encrypted'],
  [0x8, 'data descriptor'],
  [0x800, 'UTF-8 name'],
];

export function flags(value: number): string {
  if (value === 0) return 'none';
  const named = FLAG_NAMES.filter(([bit]) => value & bit).map(([, name]) => name);
  const known = FLAG_NAMES.reduce((all, [bit]) => all | bit, 0);
  const rest = value & ~known;
  if (rest) named.push(`0x${rest.toString(16).padStart(4, '0')}`);
  return named.join(', ');
}

const unixTime = (seconds: number) => new Date(seconds * 1000).toISOString().replace('.000Z', 'Z');

/** One extra field: the common ones decoded, others by id and length. */
function extraField(field: { id: number; data: Buffer }): string {
  const { id, data } = field;
  if (id === 0x5455 && data.length >= 1) {
    // Info-ZIP extended timestamp: flags, then the times the flags announce (the central copy
    // has only the modification time).
    const times: string[] = [];
    const present = data.readUInt8(0);
    let offset = 1;
    for (const [bit, name] of ['mtime', 'atime', 'ctime'].entries()) {
      if (!(present & (1 << bit)) || offset + 4 > data.length) continue;
      times.push(`${name} ${unixTime(data.readInt32LE(offset))}`);
      offset += 4;
    }
    return `extended timestamp (${times.join(', ') || 'no times'})`;
  }
  if (id === 0x7875 && data.length >= 3 && data[0] === 1) {
    const uidSize = data.readUInt8(1);
    const gidSize = data[2 + uidSize];
    if (
      uidSize <= 4 &&
      gidSize !== undefined &&
      gidSize <= 4 &&
      3 + uidSize + gidSize <= data.length
    ) {
      const uid = data.readUIntLE(2, uidSize);
      const gid = data.readUIntLE(3 + uidSize, gidSize);
      return `Unix owner (uid ${String(uid)}, gid ${String(gid)})`;
    }
  }
  if (id === 0x0001) return 'Zip64 sizes';
  if (id === 0x000a) return 'NTFS times';
  if (id === 0x7075) return 'Unicode path';
  if (id === 0x5855) return 'old Unix times';
  return `0x${id.toString(16).padStart(4, '0')} (${String(data.length)} bytes)`;
}

export function extraFields(fields: readonly { id: number; data: Buffer }[]): string {
  return fields.length ? fields.map(extraField).join('; ') : 'none';
}

/** The extra fields' bytes, in order, for an exact comparison. */
export function extraBytes(record: ZipRecord): Buffer {
  return Buffer.concat(
    record.extraFields.flatMap((f) => {
      const head = Buffer.alloc(4);
      head.writeUInt16LE(f.id, 0);
      head.writeUInt16LE(f.data.length, 2);
      return [head, f.data];
    }),
  );
}

export function compression(record: ZipRecord): string {
  return `${method(record.method)}, ${String(record.compressedSize)} bytes`;
}
