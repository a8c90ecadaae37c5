import { createReadStream } from 'node:fs';
import { comparePaths } from '../tree/manifest.js';
import { analyzeListing, isDistributionMetadata } from '../size/analyze.js';
import * as describe from './describe.js';
import { openZip, type OpenZip, type ZipRecord } from './open-zip.js';
import { isText, unifiedTextDiff, type TextDiff } from './text-diff.js';

/** Where an entry comes from: a distribution (by its RECORD, as `lbuild size` maps them) or not. */
export type EntryGroup =
  { kind: 'distribution'; name: string; version: string } | { kind: 'other' };

export interface ZipSide {
  /** The path as the caller named it. */
  path: string;
  bytes: number;
  sha256: string;
  /** Base64 SHA-256, as Lambda reports CodeSha256. */
  codeSha256: string;
  entries: number;
}

export interface OnlyEntry {
  path: string;
  group: EntryGroup;
  directory: boolean;
  size: number;
  crc32: string;
}

/** A field of an entry (or of the archive) that differs: both values, as {@link describe} reads them. */
export interface FieldChange {
  field: string;
  a: string;
  b: string;
}

export interface ContentSide {
  size: number;
  crc32: string;
  sha256: string;
}

export interface ContentChange {
  path: string;
  group: EntryGroup;
  a: ContentSide;
  b: ContentSide;
  /** When both sides are text: the first differing lines. */
  text?: TextDiff;
  /** Why no text diff is shown, when none is. */
  noText?: 'binary' | 'too-large' | 'cap';
  /** Other fields that differ too (mode, time, ...; the compression follows the content). */
  metadata: FieldChange[];
}

export interface MetadataChange {
  path: string;
  group: EntryGroup;
  changes: FieldChange[];
}

export interface OrderDiff {
  /** Entries in both zips. */
  common: number;
  /** How many of them must move to give B's order (all but the longest run in the same order). */
  moved: number;
  /** The first place where the common entries' orders part. */
  first?: { position: number; a: string; b: string };
}

export interface DistributionChange {
  name: string;
  /** Its version in A, absent when it is only in B. */
  a?: string;
  b?: string;
}

export interface ZipDiff {
  identical: boolean;
  a: ZipSide;
  b: ZipSide;
  /** Distributions added, removed, or at another version. */
  distributions: DistributionChange[];
  onlyInA: OnlyEntry[];
  onlyInB: OnlyEntry[];
  /** Entries whose content differs (CRC-32 or size). */
  content: ContentChange[];
  /** Entries with the same content and other metadata. */
  metadata: MetadataChange[];
  order: OrderDiff;
  /** Archive-level: comment, Zip64 end records, data descriptors, bytes outside the entries. */
  archive: FieldChange[];
}

export interface DiffOptions {
  /** How A and B are named in the result (default: their paths). */
  names?: { a: string; b: string };
  /** Most lines of a text diff per entry (default 20; Infinity for all). */
  textLines?: number;
  /** Most entries given a text diff (default 10; Infinity for all). */
  textEntries?: number;
  /** Entries larger than this are not read for a text diff (default 1 MiB). */
  textBytes?: number;
}

export const DEFAULT_TEXT_LINES = 20;
export const DEFAULT_TEXT_ENTRIES = 10;
export const DEFAULT_TEXT_BYTES = 1024 * 1024;

const hex32 = (n: number) => n.toString(16).padStart(8, '0');
const base64OfHex = (hex: string) => Buffer.from(hex, 'hex').toString('base64');

/**
 * Why two zips' bytes differ, most telling first: entries only in one, content, then the same
 * content with other metadata, the order of the entries, and the archive around them. Compares
 * central-directory records (CRC-32 and size decide "same content") and reads the data only of
 * entries whose content differs; only when no record explains the difference does it compare
 * compressed bytes and local headers.
 */
export async function diffZips(
  aPath: string,
  bPath: string,
  options: DiffOptions = {},
): Promise<ZipDiff> {
  const names = options.names ?? { a: aPath, b: bPath };
  const a = await openZip(aPath, names.a);
  let b: OpenZip;
  try {
    b = await openZip(bPath, names.b);
  } catch (error) {
    a.close();
    throw error;
  }
  try {
    return await compare(a, b, names, options);
  } finally {
    a.close();
    b.close();
  }
}

function side(zip: OpenZip, name: string): ZipSide {
  return {
    path: name,
    bytes: zip.bytes,
    sha256: zip.sha256,
    codeSha256: base64OfHex(zip.sha256),
    entries: zip.records.length,
  };
}

/** Records by path; a name written twice pairs its n-th copy with the other zip's n-th. */
function keyed(records: readonly ZipRecord[]): Map<string, ZipRecord> {
  const out = new Map<string, ZipRecord>();
  const seen = new Map<string, number>();
  for (const record of records) {
    const n = seen.get(record.path) ?? 0;
    seen.set(record.path, n + 1);
    out.set(n === 0 ? record.path : `${record.path}\0${String(n)}`, record);
  }
  return out;
}

async function compare(
  a: OpenZip,
  b: OpenZip,
  names: { a: string; b: string },
  options: DiffOptions,
): Promise<ZipDiff> {
  const result: ZipDiff = {
    identical: a.sha256 === b.sha256,
    a: side(a, names.a),
    b: side(b, names.b),
    distributions: [],
    onlyInA: [],
    onlyInB: [],
    content: [],
    metadata: [],
    order: { common: 0, moved: 0 },
    archive: [],
  };
  if (result.identical) {
    result.order.common = a.records.length;
    return result;
  }

  const [groupsA, groupsB] = await Promise.all([groupsOf(a), groupsOf(b)]);
  result.distributions = distributionChanges(groupsA.distributions, groupsB.distributions);
  const groupOf = (path: string) =>
    groupsB.byPath.get(path) ?? groupsA.byPath.get(path) ?? ({ kind: 'other' } as const);

  const byA = keyed(a.records);
  const byB = keyed(b.records);
  const only = (record: ZipRecord): OnlyEntry => ({
    path: record.path,
    group: groupOf(record.path),
    directory: record.directory,
    size: record.size,
    crc32: hex32(record.crc32),
  });
  for (const [key, record] of byA) if (!byB.has(key)) result.onlyInA.push(only(record));
  for (const [key, record] of byB) if (!byA.has(key)) result.onlyInB.push(only(record));

  const textLines = options.textLines ?? DEFAULT_TEXT_LINES;
  const textEntries = options.textEntries ?? DEFAULT_TEXT_ENTRIES;
  const textBytes = options.textBytes ?? DEFAULT_TEXT_BYTES;
  const common: [ZipRecord, ZipRecord][] = [];
  for (const [key, ra] of byA) {
    const rb = byB.get(key);
    if (rb) common.push([ra, rb]);
  }
  // Text diffs go to the entries a reader looks at first: sorted as reported.
  const sorted = [...common].sort(([x], [y]) => comparePaths(x.path, y.path));
  let withText = 0;
  for (const [ra, rb] of sorted) {
    const group = groupOf(ra.path);
    if (ra.crc32 !== rb.crc32 || ra.size !== rb.size) {
      const change: ContentChange = {
        path: ra.path,
        group,
        a: { size: ra.size, crc32: hex32(ra.crc32), sha256: await a.contentSha256(ra) },
        b: { size: rb.size, crc32: hex32(rb.crc32), sha256: await b.contentSha256(rb) },
        metadata: fieldChanges(ra, rb, false),
      };
      if (ra.size > textBytes || rb.size > textBytes) change.noText = 'too-large';
      else if (withText >= textEntries) change.noText = 'cap';
      else {
        const [ca, cb] = [await a.content(ra), await b.content(rb)];
        if (isText(ca) && isText(cb)) {
          change.text = unifiedTextDiff(ca.toString('utf8'), cb.toString('utf8'), textLines);
          withText++;
        } else change.noText = 'binary';
      }
      result.content.push(change);
    } else {
      const changes = fieldChanges(ra, rb, true);
      if (changes.length) result.metadata.push({ path: ra.path, group, changes });
    }
  }

  result.order = orderDiff(common);
  result.archive = archiveChanges(a, b);

  const explained =
    result.onlyInA.length +
    result.onlyInB.length +
    result.content.length +
    result.metadata.length +
    result.order.moved +
    result.archive.length;
  if (explained === 0) await explainTheRest(a, b, common, result);
  return result;
}

/** The central-directory fields of two records with the same path that differ. */
function fieldChanges(ra: ZipRecord, rb: ZipRecord, sameContent: boolean): FieldChange[] {
  const out: FieldChange[] = [];
  const add = (field: string, x: string, y: string) => {
    if (x !== y) out.push({ field, a: x, b: y });
  };
  if (ra.externalAttributes !== rb.externalAttributes)
    out.push({
      field: 'mode',
      a: describe.attributes(ra.externalAttributes),
      b: describe.attributes(rb.externalAttributes),
    });
  add('made-by', describe.madeBy(ra.versionMadeBy), describe.madeBy(rb.versionMadeBy));
  add(
    'time',
    describe.dosDateTime(ra.dosDate, ra.dosTime),
    describe.dosDateTime(rb.dosDate, rb.dosTime),
  );
  if (!describe.extraBytes(ra).equals(describe.extraBytes(rb)))
    out.push({
      field: 'extra-fields',
      a: describe.extraFields(ra.extraFields),
      b: describe.extraFields(rb.extraFields),
    });
  if (sameContent && (ra.method !== rb.method || ra.compressedSize !== rb.compressedSize))
    out.push({ field: 'compression', a: describe.compression(ra), b: describe.compression(rb) });
  add('flags', describe.flags(ra.flags), describe.flags(rb.flags));
  if (ra.flags !== rb.flags && describe.flags(ra.flags) === describe.flags(rb.flags))
    out.push({ field: 'flags', a: `0x${ra.flags.toString(16)}`, b: `0x${rb.flags.toString(16)}` });
  add(
    'version-needed',
    describe.zipVersion(ra.versionNeeded),
    describe.zipVersion(rb.versionNeeded),
  );
  add('internal-attributes', String(ra.internalAttributes), String(rb.internalAttributes));
  add('comment', JSON.stringify(ra.comment), JSON.stringify(rb.comment));
  return out;
}

/** How far B's order of the common entries is from A's: all but a longest increasing run moved. */
function orderDiff(common: readonly [ZipRecord, ZipRecord][]): OrderDiff {
  const inA = [...common].sort(([x], [y]) => x.index - y.index);
  const inB = [...common].sort(([, x], [, y]) => x.index - y.index);
  const positions = inA.map(([, rb]) => rb.index);
  // Patience sorting: the length of the longest increasing subsequence.
  const tails: number[] = [];
  for (const p of positions) {
    let lo = 0;
    let hi = tails.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((tails[mid] ?? Infinity) < p) lo = mid + 1;
      else hi = mid;
    }
    tails[lo] = p;
  }
  const out: OrderDiff = { common: common.length, moved: common.length - tails.length };
  const position = inA.findIndex(([ra], i) => ra !== inB[i]?.[0]);
  const [atA, atB] = [inA[position]?.[0], inB[position]?.[0]];
  if (atA && atB) out.first = { position: position + 1, a: atA.path, b: atB.path };
  return out;
}

function archiveChanges(a: OpenZip, b: OpenZip): FieldChange[] {
  const out: FieldChange[] = [];
  if (a.comment !== b.comment)
    out.push({ field: 'comment', a: JSON.stringify(a.comment), b: JSON.stringify(b.comment) });
  if (a.zip64 !== b.zip64)
    out.push({
      field: 'zip64',
      a: a.zip64 ? 'Zip64 end records' : 'none',
      b: b.zip64 ? 'Zip64 end records' : 'none',
    });
  const descriptors = (zip: OpenZip) => zip.records.filter((r) => r.flags & 0x8).length;
  const [da, db] = [descriptors(a), descriptors(b)];
  if (da !== db)
    out.push({ field: 'data-descriptors', a: `${String(da)} entries`, b: `${String(db)} entries` });
  return out;
}

/**
 * The central directories agree: the difference is in the compressed bytes, the local headers,
 * or the bytes between and around them. Reads the data of every entry (compressed, not inflated).
 */
async function explainTheRest(
  a: OpenZip,
  b: OpenZip,
  common: readonly [ZipRecord, ZipRecord][],
  result: ZipDiff,
): Promise<void> {
  for (const [ra, rb] of common) {
    const changes: FieldChange[] = [];
    const [la, lb] = [await a.localHeader(ra), await b.localHeader(rb)];
    const local = (h: typeof la) =>
      [
        h.versionNeededToExtract,
        h.generalPurposeBitFlag,
        h.compressionMethod,
        h.lastModFileTime,
        h.lastModFileDate,
        h.crc32,
        h.compressedSize,
        h.uncompressedSize,
        h.fileName.toString('hex'),
        h.extraField.toString('hex'),
      ].join(' ');
    if (local(la) !== local(lb))
      changes.push({ field: 'local-header', a: local(la), b: local(lb) });
    const [ha, hb] = [await a.rawSha256(ra), await b.rawSha256(rb)];
    if (ha !== hb)
      changes.push({ field: 'compressed-bytes', a: `sha256 ${ha}`, b: `sha256 ${hb}` });
    if (changes.length) result.metadata.push({ path: ra.path, group: { kind: 'other' }, changes });
  }
  if (result.metadata.length === 0) {
    const offset = await firstDifferentByte(a.path, b.path);
    result.archive.push({
      field: 'bytes-elsewhere',
      a: `first differing byte at offset ${String(offset)}`,
      b: `first differing byte at offset ${String(offset)}`,
    });
  }
}

async function firstDifferentByte(aPath: string, bPath: string): Promise<number> {
  const ia = createReadStream(aPath)[Symbol.asyncIterator]();
  const ib = createReadStream(bPath)[Symbol.asyncIterator]();
  let bufA: Buffer = Buffer.alloc(0);
  let bufB: Buffer = Buffer.alloc(0);
  let offset = 0;
  try {
    for (;;) {
      if (bufA.length === 0) {
        const next = await ia.next();
        bufA = next.done ? Buffer.alloc(0) : (next.value as Buffer);
        if (next.done) break;
      }
      if (bufB.length === 0) {
        const next = await ib.next();
        bufB = next.done ? Buffer.alloc(0) : (next.value as Buffer);
        if (next.done) break;
      }
      const n = Math.min(bufA.length, bufB.length);
      for (let i = 0; i < n; i++) if (bufA[i] !== bufB[i]) return offset + i;
      offset += n;
      bufA = bufA.subarray(n);
      bufB = bufB.subarray(n);
    }
    return offset;
  } finally {
    await ia.return?.();
    await ib.return?.();
  }
}

interface Groups {
  byPath: Map<string, EntryGroup>;
  /** Version by distribution name (normalized as pip does). */
  distributions: Map<string, { name: string; version: string }>;
}

const normalize = (name: string) => name.toLowerCase().replace(/[-_.]+/g, '-');

/** Each entry's distribution: `lbuild size`'s reading of RECORD and METADATA, on these records. */
async function groupsOf(zip: OpenZip): Promise<Groups> {
  const contents = new Map<string, Buffer>();
  for (const record of zip.records)
    if (!record.directory && isDistributionMetadata(record.path))
      contents.set(record.path, await zip.content(record));
  const report = analyzeListing(
    {
      entries: zip.records
        .filter((r) => !r.directory)
        .map((r) => ({ path: r.path, size: r.size, compressedSize: r.compressedSize })),
      contents,
    },
    { zipBytes: zip.bytes },
  );
  const byDistInfo = new Map(report.distributions.map((d) => [d.distInfo, d]));
  const byPath = new Map<string, EntryGroup>();
  for (const file of report.files) {
    if (file.owner.kind !== 'distribution') continue;
    const dist = byDistInfo.get(file.owner.distInfo);
    if (dist)
      byPath.set(file.path, { kind: 'distribution', name: dist.name, version: dist.version });
  }
  const distributions = new Map(
    report.distributions.map((d) => [normalize(d.name), { name: d.name, version: d.version }]),
  );
  return { byPath, distributions };
}

function distributionChanges(
  a: Map<string, { name: string; version: string }>,
  b: Map<string, { name: string; version: string }>,
): DistributionChange[] {
  const out: DistributionChange[] = [];
  for (const key of new Set([...a.keys(), ...b.keys()])) {
    const [da, db] = [a.get(key), b.get(key)];
    const named = db ?? da;
    if (!named || (da && db && da.version === db.version)) continue;
    out.push({
      name: named.name,
      ...(da ? { a: da.version } : {}),
      ...(db ? { b: db.version } : {}),
    });
  }
  return out.sort((x, y) => comparePaths(normalize(x.name), normalize(y.name)));
}
