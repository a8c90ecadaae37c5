import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TreeManifest } from '../../src/tree/index.js';
import { execFileSync } from 'node:child_process';
import { hashFileContent } from '@lbuild/core';

/** One entry of a generated wheel. `data` is text or bytes; `mode` is the Unix st_mode. */
export interface WheelSpecEntry {
  name: string;
  data?: string | Uint8Array;
  /** Full st_mode, e.g. 0o100644, 0o100755, 0o120777 (symlink), 0o040755 (directory). */
  mode?: number;
  store?: boolean;
}

const MAKE_WHEEL = String.raw`
import base64, json, sys, zipfile
spec = json.load(sys.stdin)
with zipfile.ZipFile(spec['path'], 'w') as zf:
    for e in spec['entries']:
        info = zipfile.ZipInfo(e['name'], date_time=(1980, 1, 1, 0, 0, 0))
        info.create_system = 3
        info.external_attr = (e['mode'] << 16) | (0x10 if e['name'].endswith('/') else 0)
        info.compress_type = zipfile.ZIP_STORED if e['store'] else zipfile.ZIP_DEFLATED
        zf.writestr(info, base64.b64decode(e['data']), compresslevel=spec['compresslevel'])
`;

/** The Python interpreter used to make and check fixtures (Python's zipfile is the reference). */
export const PYTHON = process.env.PYTHON ?? 'python3';

/**
 * Writes a wheel with Python's zipfile (an independent zip writer, as wheels are made).
 * `compressLevel` is zlib's level for deflated entries (0–9; zipfile's default when omitted):
 * the same content at another level gives other deflate bytes, as another machine's zlib may.
 */
export function makeWheel(
  path: string,
  entries: WheelSpecEntry[],
  opts: { compressLevel?: number } = {},
): string {
  const spec = {
    path,
    compresslevel: opts.compressLevel ?? null,
    entries: entries.map((entry) => ({
      name: entry.name,
      mode: entry.mode ?? (entry.name.endsWith('/') ? 0o040755 : 0o100644),
      store: entry.store ?? false,
      data: Buffer.from(entry.data ?? '').toString('base64'),
    })),
  };
  execFileSync(PYTHON, ['-c', MAKE_WHEEL], { input: JSON.stringify(spec) });
  return path;
}

/** A minimal valid wheel's metadata entries for distribution `name` 1.0. */
export function distInfo(name: string): WheelSpecEntry[] {
  const info = `${name}-1.0.dist-info`;
  return [
    { name: `${info}/METADATA`, data: `Metadata-Version: 2.1\nName: ${name}\nVersion: 1.0\n` },
    {
      name: `${info}/WHEEL`,
      data: 'Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n',
    },
    { name: `${info}/RECORD`, data: '' },
  ];
}

/** A memoising content hash like the engine's, counting how often each file was hashed. */
export function makeHashFile(): {
  hashFile: (path: string) => Promise<string>;
  calls: Map<string, number>;
} {
  const memo = new Map<string, Promise<string>>();
  const calls = new Map<string, number>();
  return {
    calls,
    hashFile(path: string): Promise<string> {
      let hash = memo.get(path);
      if (hash === undefined) {
        calls.set(path, (calls.get(path) ?? 0) + 1);
        // The engine's content hash: the zip writer checks project files against it.
        hash = hashFileContent(path).then(({ hash: content }) => content);
        memo.set(path, hash);
      }
      return hash;
    },
  };
}

export async function withTempDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'lbuild-pl-'));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Deterministic pseudo-random bytes (xorshift32), for incompressible fixture content. */
export function noise(length: number, seed: number): Buffer {
  const out = Buffer.alloc(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

/** What buildTree needs to install wheels: the runtime's Python and where written files go. */
export function installArgs(dir: string): { python: string; writtenDir: string } {
  return { python: '3.12', writtenDir: join(dir, 'written') };
}

/**
 * The manifest without the files the installer writes (INSTALLER, RECORD, rewritten scripts and
 * wrappers): what the wheels themselves hold, for tests of how their entries reach the zip.
 */
export function wheelEntriesOnly(manifest: TreeManifest): TreeManifest {
  return {
    ...manifest,
    entries: manifest.entries.filter(
      (entry) => entry.source.kind !== 'file' || entry.source.origin === undefined,
    ),
  };
}
