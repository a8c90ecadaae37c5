import type { XXHashAPI } from 'xxhash-wasm';

/**
 * The engine's content hash of bytes (xxh64, seed 0, 16 hex digits: what @lbuild/core's
 * hashFileContent gives for a file). A project file's contentKey in the tree manifest is that
 * hash, taken before the tree target ran, so the zip writer checks what it deflates or stores
 * against it: the zip then holds exactly the bytes the stamps name. The deflate worker computes
 * the same hash (deflate.ts); a test checks all three agree.
 */
let loading: Promise<XXHashAPI> | undefined;
let api: XXHashAPI | undefined;

/** Compiles the hash's wasm module once; {@link contentHashOf} may be called afterwards. */
export async function loadContentHash(): Promise<void> {
  loading ??= import('xxhash-wasm').then((module) => module.default());
  api = await loading;
}

function loaded(): XXHashAPI {
  if (api === undefined) throw new Error('internal: loadContentHash() was not awaited');
  return api;
}

function hex(value: bigint): string {
  return value.toString(16).padStart(16, '0');
}

export function contentHashOf(data: Uint8Array): string {
  return hex(loaded().h64Raw(data));
}

/** The same hash over bytes seen in pieces. */
export function contentHasher(): { update(chunk: Uint8Array): void; digest(): string } {
  const hasher = loaded().create64();
  return {
    update: (chunk) => void hasher.update(chunk),
    digest: () => hex(hasher.digest()),
  };
}
