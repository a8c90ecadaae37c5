import { createHash } from 'node:crypto';
import { TREE_MANIFEST_VERSION } from './versions.js';

/**
 * The tree manifest: every file the bundle zip will hold, where to read its bytes from, and a key
 * that names those bytes. It is the plan that the zip writer carries out (compute what the zip
 * should contain, then write it).
 *
 * What decides the bytes of the zip is `path`, `mode`, `size` and `contentKey` of each entry (plus
 * the writer's level and {@link ZIP_FORMAT_ID}); see {@link manifestContentDigest}. Absolute paths
 * appear only in `source`, as where to read from, and never enter the zip.
 */
export interface TreeManifest {
  /** Bumped when the meaning of a field changes. */
  version: typeof TREE_MANIFEST_VERSION;
  /** Sorted bytewise by the UTF-8 bytes of `path` (`Buffer.compare`), no two with the same path. */
  entries: TreeEntry[];
}

export { TREE_MANIFEST_VERSION };

/** Only two modes exist in a bundle: `0o755` when any executable bit was set at the source. */
export type EntryMode = 0o644 | 0o755;

interface TreeEntryBase {
  /** Path inside the zip, '/'-separated, relative, normalised (no '.', '..' or empty segments). */
  path: string;
  mode: EntryMode;
  /** Uncompressed size in bytes. */
  size: number;
  /**
   * Names the content without reading it again. A project file's is the engine's content hash
   * (`hashFile`), which the zip writer checks the bytes it reads against; a wheel entry's is
   * `wheel:` + SHA-256 of the wheel's content hash, the entry name, its CRC-32 and its size.
   * Equal keys mean equal bytes; the zip writer's cache is keyed by it.
   */
  contentKey: string;
}

/** A file taken from a wheel, as recorded in the wheel's central directory. */
export interface WheelTreeEntry extends TreeEntryBase {
  /** CRC-32 of the uncompressed content, from the wheel's central directory. */
  crc32: number;
  source: WheelEntrySource;
}

/** A project source or extra file handed to the tree by the caller. */
export interface FileTreeEntry extends TreeEntryBase {
  /**
   * Unknown for project files: computing it would read every project file once more on each
   * tree build. The zip writer computes it when it compresses the content and caches it under
   * `contentKey`.
   */
  crc32: null;
  source: FileSource;
}

export type TreeEntry = WheelTreeEntry | FileTreeEntry;

export interface WheelEntrySource {
  kind: 'wheel';
  /** Absolute path of the wheel file: where to read from. */
  wheel: string;
  /** The entry's name inside the wheel (before `.data/purelib|platlib/` is mapped to the root). */
  entryName: string;
  /** Compression method in the wheel: 0 stored, 8 deflated. */
  method: 0 | 8;
  /** Size of the entry's data in the wheel. */
  compressedSize: number;
  /** Offset of the entry's local file header in the wheel. */
  localHeaderOffset: number;
  /**
   * `true` for the entries of a wheel built on this machine (`BuildTreeArgs.recompressWheels`):
   * its deflated data comes from the build machine's zlib, so another machine may deflate the
   * same content to other bytes. The zip writer then never copies that data: it inflates the
   * entry and deflates the content with fflate, as it does a project file. Absent (or `false`)
   * otherwise: the wheel is the same file everywhere, and its deflated data is copied.
   *
   * It changes the zip's bytes, so {@link manifestContentDigest} includes it when it is `true`
   * (and only then, so the digest of a manifest without it is what it always was).
   */
  recompress?: boolean;
}

export interface FileSource {
  kind: 'file';
  /** Absolute path of the file: where to read from. */
  file: string;
  /**
   * For a file the tree wrote on behalf of a wheel (a script with the runtime's interpreter, an
   * entry-point wrapper, INSTALLER, RECORD): what it is, for messages. Absent for project files.
   */
  origin?: string;
}

/**
 * SHA-256 (hex) of everything in the manifest that decides the zip's bytes: version, and each
 * entry's path, mode, size and contentKey, plus a wheel entry's `recompress` when it is `true`.
 * Source paths are left out, so the digest is the same in any checkout. A caller fingerprints
 * the zip step with this digest plus the writer's level and `ZIP_FORMAT_ID`.
 */
export function manifestContentDigest(manifest: TreeManifest): string {
  const hash = createHash('sha256');
  hash.update(`lbuild-tree/${String(manifest.version)}\n`);
  for (const entry of manifest.entries) {
    const fields: (string | number)[] = [entry.path, entry.mode, entry.size, entry.contentKey];
    if (entry.source.kind === 'wheel' && entry.source.recompress === true)
      fields.push('recompress');
    hash.update(JSON.stringify(fields));
    hash.update('\n');
  }
  return hash.digest('hex');
}

/** Sum of the entries' uncompressed sizes. */
export function manifestUnzippedSize(manifest: TreeManifest): number {
  let total = 0;
  for (const entry of manifest.entries) total += entry.size;
  return total;
}

/** Bytewise order of the UTF-8 encodings, the order of entries in a manifest and in the zip. */
export function comparePaths(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}
