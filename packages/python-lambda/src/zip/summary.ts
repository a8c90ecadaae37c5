import yauzl from 'yauzl';

export interface ZipEntrySummary {
  name: string;
  /** 0 stored, 8 deflated. */
  method: number;
  crc32: number;
  size: number;
  compressedSize: number;
  /** Upper 16 bits of the external attributes: type and permission bits, e.g. 0o100644. */
  mode: number;
  versionMadeBy: number;
  versionNeeded: number;
  flags: number;
  dosDate: number;
  dosTime: number;
  extraFieldLength: number;
}

export interface ZipSummary {
  entries: ZipEntrySummary[];
  comment: string;
}

/** Lists a zip's central directory (for tests and diagnostics). */
export async function readZipSummary(path: string): Promise<ZipSummary> {
  const zip = await yauzl.openPromise(path, { lazyEntries: true, autoClose: true });
  const entries: ZipEntrySummary[] = [];
  for await (const entry of zip.eachEntry()) {
    entries.push({
      name: entry.fileName,
      method: entry.compressionMethod,
      crc32: entry.crc32,
      size: entry.uncompressedSize,
      compressedSize: entry.compressedSize,
      mode: (entry.externalFileAttributes >>> 16) & 0xffff,
      versionMadeBy: entry.versionMadeBy,
      versionNeeded: entry.versionNeededToExtract,
      flags: entry.generalPurposeBitFlag,
      dosDate: entry.lastModFileDate,
      dosTime: entry.lastModFileTime,
      extraFieldLength: entry.extraFieldLength,
    });
  }
  return { entries, comment: zip.comment };
}
