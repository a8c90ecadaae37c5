import { basename } from 'node:path';
import yauzl from 'yauzl';
import { LbuildError } from '@lbuild/core';

/** One file of a zip, from its central directory. */
export interface ZipFileEntry {
  path: string;
  /** Uncompressed size. */
  size: number;
  /** Size of its data in the zip (compressed, or stored). */
  compressedSize: number;
}

/** A zip's files, and the content of those `wanted` asks for (small metadata files). */
export interface ZipListing {
  entries: ZipFileEntry[];
  contents: Map<string, Buffer>;
}

/**
 * Lists a zip's central directory with yauzl and reads the entries `wanted` selects, checking
 * their sizes and CRCs (yauzl's stream does). Directory entries are skipped.
 */
export async function readZipListing(
  zip: string,
  wanted: (path: string) => boolean,
): Promise<ZipListing> {
  let file: yauzl.ZipFile;
  try {
    file = await yauzl.openPromise(zip, {
      lazyEntries: true,
      autoClose: false,
      validateEntrySizes: true,
    });
  } catch (error) {
    throw unreadable(zip, error);
  }
  const entries: ZipFileEntry[] = [];
  const contents = new Map<string, Buffer>();
  try {
    for await (const entry of file.eachEntry()) {
      if (entry.fileName.endsWith('/')) continue;
      entries.push({
        path: entry.fileName,
        size: entry.uncompressedSize,
        compressedSize: entry.compressedSize,
      });
      if (wanted(entry.fileName)) {
        const chunks: Buffer[] = [];
        for await (const chunk of await file.openReadStreamPromise(entry))
          chunks.push(chunk as Buffer);
        contents.set(entry.fileName, Buffer.concat(chunks));
      }
    }
  } catch (error) {
    throw unreadable(zip, error);
  } finally {
    file.close();
  }
  return { entries, contents };
}

function unreadable(zip: string, cause: unknown): LbuildError {
  return new LbuildError(
    {
      reason: 'bad-zip',
      kind: 'build',
      message: `${basename(zip)} cannot be read as a zip: ${cause instanceof Error ? cause.message : String(cause)}.`,
      hint: 'Build it again (lbuild -B NAME); something changed it after lbuild wrote it.',
    },
    { cause },
  );
}
