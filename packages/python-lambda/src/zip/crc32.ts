import * as zlib from 'node:zlib';

type Crc32 = (data: Uint8Array, value?: number) => number;

// zlib.crc32 exists from Node 20.15; the table version below is the fallback for 20.12–20.14.
const native = (zlib as { crc32?: Crc32 }).crc32;

let table: Uint32Array | undefined;

function crc32Table(): Uint32Array {
  if (table !== undefined) return table;
  table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
}

function crc32Js(data: Uint8Array, value = 0): number {
  const t = crc32Table();
  let c = ~value;
  for (const byte of data) c = (t[(c ^ byte) & 0xff] as number) ^ (c >>> 8);
  return ~c >>> 0;
}

/** CRC-32 (the zip and gzip one) of `data`, continuing from `value`. */
export const crc32: Crc32 = native ?? crc32Js;

/** The table-driven implementation, exported so tests can check it against the native one. */
export const crc32Portable: Crc32 = crc32Js;
