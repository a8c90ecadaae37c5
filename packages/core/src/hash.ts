import { open } from 'node:fs/promises';
import type { XXHashAPI } from 'xxhash-wasm';

/**
 * Content hashes are xxh64 (xxhash-wasm): fast enough to hash every input on every change, and
 * only ever compared with hashes this tool made itself. Anything that must match a remote
 * system (Lambda's CodeSha256) uses SHA-256 in the plugin that needs it.
 */
export type ContentHash = string & { readonly __brand: 'ContentHash' };

let api: Promise<XXHashAPI> | undefined;

/** The wasm module is compiled on first use only: a no-op check never needs it. */
export function xxhash(): Promise<XXHashAPI> {
  api ??= import('xxhash-wasm').then((m) => m.default());
  return api;
}

const CHUNK = 1 << 20;

/**
 * Hashes small strings (recipe fields, output summaries) synchronously in plain JavaScript: two
 * independent 32-bit multiply-xorshift lanes over the UTF-16 code units, 64 bits in all, like the
 * content hashes. Compiling the xxhash wasm module is asynchronous and loading node:crypto costs a
 * no-op check milliseconds; for a few short strings the speed of the hash does not matter, only
 * that a change is seen.
 */
export function hashText(text: string): ContentHash {
  let a = 0x811c9dc5 ^ text.length;
  let b = 0x9747b28c ^ Math.imul(text.length, 0x85ebca6b);
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995);
    b ^= b >>> 15;
  }
  // Final avalanche so that similar inputs differ in every output bit.
  a = Math.imul(a ^ (a >>> 16), 0x85ebca6b);
  a = Math.imul(a ^ (a >>> 13), 0xc2b2ae35);
  a ^= a >>> 16;
  b = Math.imul(b ^ (b >>> 16), 0x7feb352d);
  b = Math.imul(b ^ (b >>> 15), 0x846ca68b);
  b ^= b >>> 16;
  return ((a >>> 0).toString(16).padStart(8, '0') +
    (b >>> 0).toString(16).padStart(8, '0')) as ContentHash;
}

export function hashString(text: string): Promise<ContentHash> {
  return Promise.resolve(hashText(text));
}

/** Hashes a JSON-able value with its keys sorted, so object key order never matters. */
export async function hashJson(value: unknown): Promise<ContentHash> {
  return hashString(stableStringify(value));
}

export async function hashFileContent(path: string): Promise<{ hash: ContentHash; size: number }> {
  const h = await xxhash();
  const hasher = h.create64();
  const handle = await open(path, 'r');
  try {
    // 1 MiB reads: xxhash-wasm is limited by the copy into wasm memory at smaller sizes.
    const buffer = Buffer.allocUnsafe(CHUNK);
    let size = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buffer, 0, CHUNK, null);
      if (bytesRead === 0) break;
      size += bytesRead;
      hasher.update(bytesRead === CHUNK ? buffer : buffer.subarray(0, bytesRead));
    }
    return { hash: hasher.digest().toString(16).padStart(16, '0') as ContentHash, size };
  } finally {
    await handle.close();
  }
}

export function stableStringify(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) {
      const v = (value as Record<string, unknown>)[key];
      if (v !== undefined) out[key] = sortKeys(v);
    }
    return out;
  }
  return value;
}
