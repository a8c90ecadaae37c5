import { TREE_MANIFEST_VERSION } from './versions.js';

/**
 * The tree manifest: every file the bundle zip will hold, where to read its bytes from, and a key
 * that names those bytes. It is the plan that the zip writer carries out (compute what the zip
 * should contain, then write it).
 *
 * What decides the bytes of the zip is `path`, `mode`, `size` and `contentKey` of each entry, and
 * a wheel entry's `recompress` (plus the writer's level and {@link ZIP_FORMAT_ID}). Absolute paths
 * appear only in `source`, as where to read from, and never enter the zip.
 */
export interface TreeManifest {
  /** Bumped when the meaning of a field changes. */
  version: typeof TREE_MANIFEST_VERSION;
  /** Sorted bytewise by the UTF-8 bytes of `path` (`Buffer.compare`), no two with the same path. */
  entries: TreeEntry[];
  /**
   * The wheels' files the bundle's `exclude` left out, sorted by path; absent when there are
   * none. Not part of the zip: it says what the exclude saved.
   */
  excluded?: ExcludedFile[];
}

/** A file a wheel installs that the bundle's `exclude` left out. */
export interface ExcludedFile {
  /** Where it would be in the bundle. */
  path: string;
  /** Its size in bytes, as in the wheel. */
  size: number;
  /** The `NAME-VERSION.dist-info` folder of its distribution. */
  distInfo: string;
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
   * It changes the zip's bytes, and the tree target writes it into tree.json, whose content the
   * zip target's stamp records, so a zip built without it is not taken for one built with it.
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

/**
 * The same tree one folder down (a layer's `python/`): every path, the left-out files' too, gets
 * the prefix. One prefix keeps the bytewise order of the paths, so the entries stay sorted.
 */
export function underFolder(manifest: TreeManifest, folder: string): TreeManifest {
  const prefix = `${folder}/`;
  return {
    ...manifest,
    entries: manifest.entries.map((entry) => ({ ...entry, path: prefix + entry.path })),
    ...(manifest.excluded
      ? { excluded: manifest.excluded.map((file) => ({ ...file, path: prefix + file.path })) }
      : {}),
  };
}
