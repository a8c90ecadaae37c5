import { basename } from 'node:path';
import yauzl from 'yauzl';
import { buildError } from '@lbuild/core';
import { normalizeProjectName, parseWheelName } from './wheel-name.js';

/** What the dependency walk needs from a wheel's `.dist-info/METADATA`. */
export interface WheelMetadata {
  /** The wheel file. */
  file: string;
  /** `Name:` as written. */
  name: string;
  /** Normalised (PEP 503). */
  project: string;
  version: string;
  /** Every `Requires-Dist:` value, in order. */
  requiresDist: string[];
  /** Every `Provides-Extra:` value, normalised. */
  providesExtra: string[];
}

/** METADATA past this size is not a wheel's metadata but something to refuse. */
const MAX_METADATA_BYTES = 32 * 1024 * 1024;

function badMetadata(file: string, what: string) {
  return buildError('bad-wheel-metadata', `Wheel ${basename(file)}: ${what}.`, {
    hint: 'The wheel is damaged or not a wheel: remove it from the wheelhouse or find-links folder and build again.',
  });
}

/**
 * Parses core metadata (RFC 822 style headers up to the first blank line; a line starting with
 * whitespace continues the previous header). Returns each header's values in order.
 */
export function parseCoreMetadata(text: string): Map<string, string[]> {
  const headers = new Map<string, string[]>();
  let last: { key: string; values: string[] } | undefined;
  for (const line of text.split(/\r\n|\n|\r/)) {
    if (line === '') break;
    if (/^[ \t]/.test(line) && last !== undefined) {
      const i = last.values.length - 1;
      last.values[i] = `${last.values[i] ?? ''}\n${line.trim()}`;
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const key = line.slice(0, colon).trim().toLowerCase();
    const values = headers.get(key) ?? [];
    values.push(line.slice(colon + 1).trim());
    headers.set(key, values);
    last = { key, values };
  }
  return headers;
}

async function readEntry(
  zip: yauzl.ZipFile,
  entry: yauzl.Entry,
  name: string,
  file: string,
): Promise<string> {
  if (entry.uncompressedSize > MAX_METADATA_BYTES)
    throw badMetadata(file, `${name} is larger than ${MAX_METADATA_BYTES} bytes`);
  const stream = await zip.openReadStreamPromise(entry);
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * Reads the `.dist-info/METADATA` of a wheel. With several `.dist-info` directories, the one
 * named for the wheel's own distribution and version is used, as installers do.
 */
export async function readWheelMetadata(file: string): Promise<WheelMetadata> {
  const fromName = parseWheelName(basename(file));
  let zip: yauzl.ZipFile;
  try {
    // Names are not validated here: an unsafe entry is the tree's to refuse, naming it.
    zip = await yauzl.openPromise(file, {
      lazyEntries: true,
      autoClose: false,
      decodeStrings: false,
    });
  } catch (error) {
    throw badMetadata(file, `it cannot be read as a zip (${(error as Error).message})`);
  }
  try {
    const candidates: { entry: yauzl.Entry; name: string }[] = [];
    for await (const entry of zip.eachEntry()) {
      const name = entry.fileNameRaw.toString('utf8');
      if (/^[^/]+\.dist-info\/METADATA$/.test(name)) candidates.push({ entry, name });
    }
    const own = candidates.filter(({ name }) => {
      const dir = name.slice(0, -'.dist-info/METADATA'.length);
      const dash = dir.lastIndexOf('-');
      return (
        fromName !== undefined &&
        normalizeProjectName(dir.slice(0, dash)) === fromName.project &&
        dir.slice(dash + 1) === fromName.version
      );
    });
    const found = own.length === 1 ? own[0] : candidates.length === 1 ? candidates[0] : undefined;
    if (found === undefined) {
      throw badMetadata(
        file,
        candidates.length === 0
          ? 'it has no .dist-info/METADATA'
          : `it has ${candidates.length} .dist-info/METADATA files (${candidates.map((c) => c.name).join(', ')})`,
      );
    }
    const headers = parseCoreMetadata(await readEntry(zip, found.entry, found.name, file));
    const name = headers.get('name')?.[0];
    const version = headers.get('version')?.[0];
    if (name === undefined || version === undefined)
      throw badMetadata(file, `${found.name} has no Name or no Version`);
    return {
      file,
      name,
      project: normalizeProjectName(name),
      version,
      requiresDist: headers.get('requires-dist') ?? [],
      providesExtra: (headers.get('provides-extra') ?? []).map(normalizeProjectName),
    };
  } finally {
    zip.close();
  }
}
