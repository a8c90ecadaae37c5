import type { XXHashAPI } from 'xxhash-wasm';

/**
 * xxh64, the engine's content hash: a project file's contentKey in the tree manifest is
 * {@link contentHashOf} of its bytes (seed 0, 16 hex digits, what @lbuild/core's hashFileContent
 * gives for a file), taken before the tree target ran, so the zip writer checks what it deflates
 * or stores against it and the zip holds exactly the bytes the stamps name. Cache files are
 * checked with the same hash (cache.ts). The deflate worker computes both the same way
 * (deflate.ts); tests check they agree.
 */
let loading: Promise<XXHashAPI> | undefined;
let api: XXHashAPI | undefined;

/** Compiles the hash's wasm module once; the functions below may be called afterwards. */
export async function loadContentHash(): Promise<void> {
  loading ??= import('xxhash-wasm').then((module) => module.default());
  api = await loading;
}

function loaded(): XXHashAPI {
  if (api === undefined) throw new Error('internal: loadContentHash() was not awaited');
  return api;
}

export function hash64(data: Uint8Array, seed = 0n): bigint {
  return loaded().h64Raw(data, seed);
}

/** The same hash over bytes seen in pieces. */
export function hasher64(seed = 0n): { update(chunk: Uint8Array): void; digest(): bigint } {
  const hasher = loaded().create64(seed);
  return {
    update: (chunk) => void hasher.update(chunk),
    digest: () => hasher.digest(),
  };
}

function hex(value: bigint): string {
  return value.toString(16).padStart(16, '0');
}

export function contentHashOf(data: Uint8Array): string {
  return hex(hash64(data));
}

/** {@link contentHashOf} over bytes seen in pieces. */
export function contentHasher(): { update(chunk: Uint8Array): void; digest(): string } {
  const hasher = hasher64();
  return { update: (chunk) => hasher.update(chunk), digest: () => hex(hasher.digest()) };
}
