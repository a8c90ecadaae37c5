import { createHash } from 'node:crypto';
import { splitLines } from './entry-points.js';
import { comparePaths } from './manifest.js';

/**
 * A wheel's RECORD (PEP 376 / the wheel spec): CSV rows of path, hash and size, read and written
 * as Python's csv module does with its default dialect (pip reads and writes RECORD with it).
 */
export type RecordRow = [path: string, hash: string, size: string];

/** Parses RECORD text: one row per line (Python's `str.splitlines`), blank lines skipped. */
export function parseRecord(text: string): string[][] {
  const rows: string[][] = [];
  for (const line of splitLines(text)) {
    if (line === '') continue;
    rows.push(parseCsvLine(line));
  }
  return rows;
}

/** One line of CSV: `,` between fields, `"` quoting with `""` for a quote inside. */
function parseCsvLine(line: string): string[] {
  const fields: string[] = [];
  let i = 0;
  for (;;) {
    let field = '';
    if (line[i] === '"') {
      i++;
      while (i < line.length) {
        if (line[i] === '"') {
          if (line[i + 1] === '"') {
            field += '"';
            i += 2;
            continue;
          }
          i++;
          break;
        }
        field += line.charAt(i);
        i++;
      }
    }
    const comma = line.indexOf(',', i);
    field += line.slice(i, comma === -1 ? line.length : comma);
    fields.push(field);
    if (comma === -1) return fields;
    i = comma + 1;
  }
}

/** RECORD's hash of some bytes: `sha256=` and the URL-safe base64 digest without padding. */
export function recordHash(data: Uint8Array): string {
  return `sha256=${createHash('sha256').update(data).digest('base64url')}`;
}

/** RECORD text as pip writes it: rows sorted (as Python sorts tuples of str), CRLF line ends. */
export function formatRecord(rows: readonly RecordRow[]): string {
  // Python compares str by code point, which is the order of their UTF-8 bytes.
  const sorted = [...rows].sort(
    (a, b) => comparePaths(a[0], b[0]) || comparePaths(a[1], b[1]) || comparePaths(a[2], b[2]),
  );
  return sorted.map((row) => row.map(csvField).join(',') + '\r\n').join('');
}

/** Quotes a field when Python's csv writer does (QUOTE_MINIMAL). */
function csvField(field: string): string {
  return /[",\r\n]/.test(field) ? `"${field.replaceAll('"', '""')}"` : field;
}
