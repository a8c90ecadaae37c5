import { posix } from 'node:path';
import { splitLines } from '../tree/entry-points.js';
import { comparePaths } from '../tree/manifest.js';
import { parseRecord } from '../tree/record.js';
import { LAMBDA_MAX_UNZIPPED_BYTES } from '../zip/format.js';
import { readZipListing, type ZipListing } from './read-zip.js';

/** Lambda's limit for a zip uploaded in the request (larger ones go through S3). */
export const DIRECT_UPLOAD_BYTES = 50 * 1024 * 1024;

/** How many of the largest files a report lists. */
export const LARGEST_FILES = 20;

/** Files, bytes, and their share of Lambda's unzipped limit. */
export interface SizeTotals {
  files: number;
  unzippedBytes: number;
  /** The entries' data in the zip (compressed or stored), headers not counted. */
  zippedBytes: number;
  /** `unzippedBytes` over Lambda's 250 MB unzipped limit (262144000 bytes), 0 to 1 and beyond. */
  share: number;
}

/** A distribution installed in the zip, found by its `.dist-info` folder. */
export interface DistributionSize extends SizeTotals {
  /** As its METADATA says (else as its `.dist-info` folder's name says). */
  name: string;
  version: string;
  /** `NAME-VERSION.dist-info`. */
  distInfo: string;
  /** What the bundle's `exclude` left out of it (as the tree reported; zero when unknown). */
  excluded: { files: number; bytes: number };
}

/** Where a file of the zip comes from. */
export type FileOwner =
  { kind: 'distribution'; distInfo: string } | { kind: 'source' } | { kind: 'extra' };

export interface FileSize {
  path: string;
  unzippedBytes: number;
  zippedBytes: number;
  owner: FileOwner;
}

export interface SizeReport {
  /** The zip's size on disk, headers included. */
  zipBytes: number;
  totals: SizeTotals;
  /** Largest first (by unzipped bytes), then by name. */
  distributions: DistributionSize[];
  /** The project's own files: what no RECORD lists, except the extra files. */
  sources: SizeTotals;
  /** The bundle's `files`. */
  extraFiles: SizeTotals;
  limits: { unzippedBytes: number; directUploadBytes: number };
  /** Bytes left under each limit; negative when over. */
  headroom: { unzippedBytes: number; directUploadBytes: number };
  /** The {@link LARGEST_FILES} largest files, largest first. */
  largestFiles: FileSize[];
  /** Every file, in zip order. */
  files: FileSize[];
}

export interface AnalyzeOptions {
  /** The zip's size on disk. */
  zipBytes: number;
  /** Zip paths of the bundle's extra `files`. */
  extraFiles?: readonly string[];
  /** Per `.dist-info` folder: what the bundle's `exclude` left out (see BundleTreeValue). */
  excluded?: Readonly<Record<string, { files: number; bytes: number }>>;
  /**
   * The folder the packages are installed in, for a layer's zip (`python`); absent for a bundle,
   * whose packages are at the root.
   */
  folder?: string;
}

/**
 * How a bundle zip's bytes divide between the distributions installed in it (each file mapped
 * to the distribution whose `.dist-info/RECORD` lists it, as `pip install --target` lays them
 * out), the project's sources and the extra files; with totals, headroom to Lambda's limits and
 * the largest files. Reads the zip's central directory and its RECORD and METADATA files.
 */
export async function analyzeBundleZip(zip: string, options: AnalyzeOptions): Promise<SizeReport> {
  const listing = await readZipListing(zip, (path) => isDistributionMetadata(path, options.folder));
  return analyzeListing(listing, options);
}

/** Paths below the packages' folder, as `pip install --target` made them; null outside it. */
function installedPath(path: string, folder: string | undefined): string | null {
  const base = folder !== undefined ? `${folder}/` : '';
  return path.startsWith(base) ? path.slice(base.length) : null;
}

/** The files of the listing {@link analyzeListing} needs the content of (RECORD, METADATA). */
export function isDistributionMetadata(path: string, folder?: string): boolean {
  const inside = installedPath(path, folder);
  return inside !== null && /^[^/]+\.dist-info\/(RECORD|METADATA)$/.test(inside);
}

/** {@link analyzeBundleZip} on a zip already listed, with its {@link isDistributionMetadata} files read. */
export function analyzeListing(listing: ZipListing, options: AnalyzeOptions): SizeReport {
  const base = options.folder !== undefined ? `${options.folder}/` : '';
  const topOf = (path: string): string =>
    installedPath(path, options.folder)?.split('/', 1)[0] ?? '';
  const distInfos = [
    ...new Set(
      listing.entries.map((e) => topOf(e.path)).filter((top) => top.endsWith('.dist-info')),
    ),
  ].sort(comparePaths);

  // A file listed by two RECORDs (two wheels that ship the same bytes) counts once, for the
  // distribution whose folder sorts first.
  const ownerOf = new Map<string, string>();
  for (const distInfo of distInfos) {
    const record = listing.contents.get(`${base}${distInfo}/RECORD`);
    if (record === undefined) continue;
    for (const row of parseRecord(record.toString('utf8'))) {
      const path = recordPath(row[0] ?? '');
      if (path !== null && !ownerOf.has(base + path)) ownerOf.set(base + path, distInfo);
    }
  }

  const extra = new Set(options.extraFiles ?? []);
  const files: FileSize[] = listing.entries.map((entry) => {
    const top = topOf(entry.path);
    const distInfo =
      top.endsWith('.dist-info') && entry.path.length > base.length + top.length
        ? top
        : ownerOf.get(entry.path);
    const owner: FileOwner =
      distInfo !== undefined
        ? { kind: 'distribution', distInfo }
        : extra.has(entry.path)
          ? { kind: 'extra' }
          : { kind: 'source' };
    return {
      path: entry.path,
      unzippedBytes: entry.size,
      zippedBytes: entry.compressedSize,
      owner,
    };
  });

  const distributions = distInfos.map((distInfo): DistributionSize => {
    const metadata = listing.contents.get(`${base}${distInfo}/METADATA`);
    const named = metadata ? metadataNameVersion(metadata.toString('utf8')) : {};
    const [fallbackName = distInfo, fallbackVersion = ''] = distInfo
      .slice(0, -'.dist-info'.length)
      .split('-');
    return {
      name: named.name ?? fallbackName,
      version: named.version ?? fallbackVersion,
      distInfo,
      ...totalsOf(
        files.filter((f) => f.owner.kind === 'distribution' && f.owner.distInfo === distInfo),
      ),
      excluded: options.excluded?.[distInfo] ?? { files: 0, bytes: 0 },
    };
  });
  distributions.sort(
    (a, b) => b.unzippedBytes - a.unzippedBytes || comparePaths(a.distInfo, b.distInfo),
  );

  const totals = totalsOf(files);
  const largestFiles = [...files]
    .sort((a, b) => b.unzippedBytes - a.unzippedBytes || comparePaths(a.path, b.path))
    .slice(0, LARGEST_FILES);
  return {
    zipBytes: options.zipBytes,
    totals,
    distributions,
    sources: totalsOf(files.filter((f) => f.owner.kind === 'source')),
    extraFiles: totalsOf(files.filter((f) => f.owner.kind === 'extra')),
    limits: { unzippedBytes: LAMBDA_MAX_UNZIPPED_BYTES, directUploadBytes: DIRECT_UPLOAD_BYTES },
    headroom: {
      unzippedBytes: LAMBDA_MAX_UNZIPPED_BYTES - totals.unzippedBytes,
      directUploadBytes: DIRECT_UPLOAD_BYTES - options.zipBytes,
    },
    largestFiles,
    files,
  };
}

function totalsOf(files: readonly FileSize[]): SizeTotals {
  let unzippedBytes = 0;
  let zippedBytes = 0;
  for (const f of files) {
    unzippedBytes += f.unzippedBytes;
    zippedBytes += f.zippedBytes;
  }
  return {
    files: files.length,
    unzippedBytes,
    zippedBytes,
    share: unzippedBytes / LAMBDA_MAX_UNZIPPED_BYTES,
  };
}

/**
 * A RECORD row's path as a zip path: RECORD paths are relative to the folder that holds the
 * `.dist-info` (the bundle root); one that leaves it names nothing in the zip.
 */
function recordPath(path: string): string | null {
  if (path === '' || path.startsWith('/')) return null;
  const normal = posix.normalize(path);
  return normal.startsWith('../') || normal === '..' ? null : normal;
}

/** `Name` and `Version` from METADATA's header (an email-style block up to the first blank line). */
function metadataNameVersion(text: string): { name?: string; version?: string } {
  const out: { name?: string; version?: string } = {};
  for (const line of splitLines(text)) {
    if (line === '') break;
    const colon = line.indexOf(':');
    if (colon === -1) continue;
    const key = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    if (key === 'name') out.name ??= value;
    else if (key === 'version') out.version ??= value;
  }
  return out;
}
