import type { Stats } from 'node:fs';
import type { ContentHash } from './hash.js';
import type { FileRecord } from './file-state.js';

/**
 * File records by path, kept in columns, as a stamp stores them. A no-op check of ten thousand
 * files reads a stamp of this shape in a few arrays; one object per file took twice as long to
 * parse and most of the check's garbage collection.
 */
export interface FileTable {
  paths: string[];
  hash: ContentHash[];
  size: number[];
  mtimeMs: number[];
  ctimeMs: number[];
  ino: number[];
  /** {@link EXEC} | {@link RACY}, see {@link FileRecord}. */
  flags: number[];
}

export const EXEC = 1;
export const RACY = 2;

export function emptyTable(): FileTable {
  return { paths: [], hash: [], size: [], mtimeMs: [], ctimeMs: [], ino: [], flags: [] };
}

export function pushRecord(table: FileTable, path: string, record: FileRecord): void {
  table.paths.push(path);
  table.hash.push(record.hash);
  table.size.push(record.size);
  table.mtimeMs.push(record.mtimeMs);
  table.ctimeMs.push(record.ctimeMs);
  table.ino.push(record.ino);
  table.flags.push((record.exec ? EXEC : 0) | (record.racy ? RACY : 0));
}

export function toTable(records: Record<string, FileRecord>): FileTable {
  const table = emptyTable();
  for (const [path, record] of Object.entries(records)) pushRecord(table, path, record);
  return table;
}

export function recordAt(table: FileTable, i: number): FileRecord {
  const record: FileRecord = {
    hash: table.hash[i] as ContentHash,
    size: table.size[i] as number,
    mtimeMs: table.mtimeMs[i] as number,
    ctimeMs: table.ctimeMs[i] as number,
    ino: table.ino[i] as number,
  };
  const flags = table.flags[i] as number;
  if (flags & EXEC) record.exec = true;
  if (flags & RACY) record.racy = true;
  return record;
}

export function toRecords(table: FileTable): Record<string, FileRecord> {
  const records: Record<string, FileRecord> = {};
  table.paths.forEach((path, i) => (records[path] = recordAt(table, i)));
  return records;
}

export function hashesOfTable(table: FileTable): Record<string, string> {
  const hashes: Record<string, string> = {};
  table.paths.forEach((path, i) => (hashes[path] = table.hash[i] as string));
  return hashes;
}

/** The same test as statMatches, on row `i`, without making a record of it. */
export function statMatchesAt(table: FileTable, i: number, stats: Stats): boolean {
  return (
    table.size[i] === stats.size &&
    table.mtimeMs[i] === stats.mtimeMs &&
    table.ctimeMs[i] === stats.ctimeMs &&
    table.ino[i] === stats.ino
  );
}

/** Whether `value` has a table's shape: columns of one length, of the right types. */
export function isFileTable(value: unknown): value is FileTable {
  if (typeof value !== 'object' || value === null) return false;
  const t = value as Record<string, unknown>;
  const columns = [t.paths, t.hash, t.size, t.mtimeMs, t.ctimeMs, t.ino, t.flags];
  if (!columns.every(Array.isArray)) return false;
  const n = (t.paths as unknown[]).length;
  return columns.every((c) => (c as unknown[]).length === n);
}
