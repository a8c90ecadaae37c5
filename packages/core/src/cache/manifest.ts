import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Json } from '../target.js';

/** The version of entry bodies: an entry of another version is a miss. */
export const MANIFEST_FORMAT = 1;

/** One restored file: where it goes (root-relative), and the blob that holds its bytes. */
export interface ManifestFile {
  path: string;
  /** SHA-256 of the content, lower-case hex: the blob's name, checked on restore. */
  sha256: string;
  size: number;
  exec: boolean;
}

/**
 * What a cache entry holds. `paths` under a static key lists the files a run snapshotted (known
 * only after it ran); the outputs are then under a key that adds their contents (see
 * dynamicKey). `outputs` holds the outputs themselves.
 */
export type Manifest =
  | { format: typeof MANIFEST_FORMAT; type: 'paths'; paths: string[] }
  | {
      format: typeof MANIFEST_FORMAT;
      type: 'outputs';
      target: string;
      /** Declared outputs, flattened to files. */
      outputs: ManifestFile[];
      /** Files beyond the declared outputs that the result refers to (RunOutcome.cacheFiles). */
      extra: ManifestFile[];
      value: Json | null;
      outputHash: string;
      /** The snapshotted files and their content hashes (null: absent) the run saw. */
      dynamic: Record<string, string | null>;
      summary?: string;
    };

/**
 * The bytes stored: the manifest's JSON, and with a signing key an HMAC-SHA256 over exactly
 * those bytes on a first line of its own, so nothing is re-serialised before it is checked.
 */
export function encodeEntry(manifest: Manifest, signingKey: string | undefined): Uint8Array {
  const body = JSON.stringify(manifest);
  const signature = signingKey ? sign(body, signingKey) : '';
  return new TextEncoder().encode(`${signature}\n${body}`);
}

/** Why an entry could not be used, or the manifest it holds. */
export type Decoded = { manifest: Manifest } | { problem: string };

export function decodeEntry(bytes: Uint8Array, signingKey: string | undefined): Decoded {
  const text = new TextDecoder().decode(bytes);
  const newline = text.indexOf('\n');
  if (newline === -1) return { problem: 'not an lbuild cache entry' };
  const signature = text.slice(0, newline);
  const body = text.slice(newline + 1);
  if (signingKey) {
    if (signature === '') return { problem: 'the entry is not signed' };
    if (!sameSignature(signature, sign(body, signingKey)))
      return { problem: 'the entry has a wrong signature' };
  }
  let manifest: unknown;
  try {
    manifest = JSON.parse(body);
  } catch {
    return { problem: 'the entry is not valid JSON' };
  }
  return wellFormed(manifest) ? { manifest } : { problem: 'the entry is malformed' };
}

function sign(body: string, key: string): string {
  return 'hmac-sha256:' + createHmac('sha256', key).update(body).digest('hex');
}

function sameSignature(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

const SHA256 = /^[0-9a-f]{64}$/;

function wellFormedFile(file: unknown): file is ManifestFile {
  if (typeof file !== 'object' || file === null) return false;
  const f = file as Record<string, unknown>;
  return (
    typeof f.path === 'string' &&
    typeof f.sha256 === 'string' &&
    SHA256.test(f.sha256) &&
    typeof f.size === 'number' &&
    Number.isSafeInteger(f.size) &&
    f.size >= 0 &&
    typeof f.exec === 'boolean'
  );
}

/** Storage is untrusted: every field used later is checked for its type here. */
function wellFormed(value: unknown): value is Manifest {
  if (typeof value !== 'object' || value === null) return false;
  const m = value as Record<string, unknown>;
  if (m.format !== MANIFEST_FORMAT) return false;
  if (m.type === 'paths')
    return Array.isArray(m.paths) && m.paths.every((p) => typeof p === 'string');
  if (m.type !== 'outputs') return false;
  const dynamic = m.dynamic;
  return (
    typeof m.target === 'string' &&
    Array.isArray(m.outputs) &&
    m.outputs.length > 0 &&
    m.outputs.every(wellFormedFile) &&
    Array.isArray(m.extra) &&
    m.extra.every(wellFormedFile) &&
    typeof m.outputHash === 'string' &&
    'value' in m &&
    typeof dynamic === 'object' &&
    dynamic !== null &&
    !Array.isArray(dynamic) &&
    Object.values(dynamic).every((h) => h === null || typeof h === 'string') &&
    (m.summary === undefined || typeof m.summary === 'string')
  );
}
