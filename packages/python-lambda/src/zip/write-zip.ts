import { closeSync, createReadStream, openSync, readSync, rmSync } from 'node:fs';
import { open, rename, rm } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { basename } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createInflateRaw, inflateRawSync } from 'node:zlib';
import type { SourceLocation } from '@lbuild/core';
import {
  buildError,
  configError,
  LbuildError,
  mapLimit,
  sweepTemporaries,
  temporarySibling,
} from '@lbuild/core';
import type { TreeEntry, TreeManifest } from '../tree/manifest.js';
import { manifestUnzippedSize } from '../tree/manifest.js';
import { readEntryDataOffset } from '../tree/wheel.js';
import type { CachedContent } from './cache.js';
import {
  CACHE_HEADER_SIZE,
  EntryCache,
  checkDeflatedInPieces,
  checksOut,
  readFully,
} from './cache.js';
import { contentHasher, hash64, hasher64, loadContentHash } from './content-hash.js';
import { crc32 } from './crc32.js';
import { DeflatePool, checkFflateVersion, deflateToCacheHere } from './deflate.js';
import type { DeflateJob } from './deflate.js';
import type { EntryHeader } from './format.js';
import {
  centralHeader,
  DEFAULT_ZIP_LEVEL,
  endRecords,
  LAMBDA_MAX_UNZIPPED_BYTES,
  localHeader,
} from './format.js';
import { ShortReadError, ZipOutput } from './output.js';

export interface WriteZipOptions {
  /** Where the zip goes; written under a temporary name in the same directory, then renamed. */
  output: string;
  /** The compressed-entry cache (see cache.ts); may be shared by several outputs. */
  cacheDir: string;
  /** fflate level 0–9, default {@link DEFAULT_ZIP_LEVEL}. It decides the bytes: fingerprint it. */
  level?: number;
  signal?: AbortSignal;
  /** Called after each entry is written, with the number of entries written and the total. */
  onProgress?(done: number, total: number): void;
  /** Refuse to write when the entries add up to more; default {@link LAMBDA_MAX_UNZIPPED_BYTES}. */
  maxUnzippedBytes?: number;
  /** Where the limit is set (the config table, and the key when set there): a refusal names it. */
  limitFrom?: { table: string; location?: SourceLocation };
}

export interface ZipResult {
  /** SHA-256 of the zip, hex. */
  sha256Hex: string;
  /** SHA-256 of the zip, base64 of the raw digest: what Lambda reports as CodeSha256. */
  codeSha256: string;
  /** Size of the zip in bytes. */
  size: number;
  /** Number of entries. */
  entries: number;
  /** Sum of the entries' uncompressed sizes. */
  unzippedSize: number;
  /** Entries whose content this call ran through the deflater (cache misses). */
  compressedEntries: number;
  /** Entries whose compressed form (or stored verdict) came from the cache. */
  reusedEntries: number;
  /** Wheel entries copied as the wheel deflated them, with no compression work. */
  copiedEntries: number;
  /** Wheel entries the wheel deflated without gain: inflated and stored (not recompressed ones). */
  inflatedEntries: number;
  /**
   * Entries of wheels marked for recompression (WheelEntrySource.recompress) that went through
   * fflate and the cache; each is also counted in compressedEntries or reusedEntries.
   */
  recompressedEntries: number;
}

// Defined in format.ts, which loads nothing: fingerprints read them on every no-op check.
export { DEFAULT_ZIP_LEVEL, LAMBDA_MAX_UNZIPPED_BYTES };

/**
 * Contents from this size up are deflated in worker threads; smaller ones on the main thread,
 * until the small ones add up to SMALL_INLINE_BYTES: a rebuild that deflates a few files, or a
 * bundle of a dozen small modules, pays no worker start-up (in a build of forty bundles that
 * was eighty thread starts), while a cold build of many wheels spreads the work over the cores.
 */
const WORKER_THRESHOLD = 64 * 1024;
const SMALL_INLINE_BYTES = 512 * 1024;
/** Preparation (cache look-up, read, deflate, cache store) of this many entries at once. */
const PREPARE_CONCURRENCY = 8;
/** Wheel entries up to this size are inflated in one synchronous call; larger ones are streamed. */
const SYNC_INFLATE_LIMIT = 8 * 1024 * 1024;
/** Wheel files kept open at once while copying. */
const MAX_OPEN_SOURCES = 64;

/** Where an entry's bytes are read from. */
type DataRef =
  | { kind: 'file'; file: string; start: number }
  | { kind: 'wheel'; wheel: string; entryName: string; localHeaderOffset: number };

/** How one entry is written. */
type Plan =
  /** Copy a wheel's deflated data verbatim. */
  | { kind: 'raw'; method: 8; crc32: number; compressedSize: number; from: DataRef }
  /**
   * Copy a cache file's deflated bytes, once they check out against the file's digest; when they
   * do not, the content is deflated again (`reused`: the file was found, not written, by this
   * build).
   */
  | { kind: 'cached'; cached: CachedContent; reused: boolean }
  /** Inflate a wheel's deflated data and store it. */
  | { kind: 'inflate'; crc32: number; compressedSize: number; from: DataRef }
  /** Store the source's bytes, checking them against the CRC on the way. */
  | { kind: 'store'; crc32: number; from: DataRef };

/**
 * Writes the manifest's entries, in order, as a byte-reproducible zip (see format.ts for the
 * format and ZIP_FORMAT_ID, deflate.ts for why fflate). How each entry's data is chosen, from
 * the content alone:
 * - a wheel entry that the wheel deflated to fewer bytes than its size: copied as it is in the
 *   wheel (those bytes are fixed by the wheel, whose hash is in the contentKey);
 * - a wheel entry that the wheel deflated without gain: inflated and stored;
 * - any other content (project files, entries the wheel stored): deflated with fflate at
 *   `level`, and stored instead when the deflated form is not smaller. The outcome is cached
 *   under the contentKey, so a rebuild deflates only contents it has not seen. A project file's
 *   bytes are checked against its contentKey (the engine's content hash, taken before the tree
 *   target ran) when they are deflated or stored, so the zip holds exactly the content the tree
 *   named; a file edited since fails the build with `input-changed-during-run`. A cache file is
 *   used only once its digest checks out (see cache.ts); one that does not is replaced.
 *
 * Except for the entries of a wheel marked `recompress` (one built on this machine from a local
 * project: another machine's zlib may deflate the same content to other bytes, and decide
 * differently whether deflating gains anything). Nothing of such an entry depends on how the
 * wheel deflated it: a deflated one is inflated with Node's zlib (whose output is fixed by its
 * input), checked against the central directory's size and CRC-32, and then handled like any
 * other content (fflate at `level`, stored when not smaller, cached under the contentKey); one
 * the wheel stored is handled as above. Its bytes in the zip are those of the same content from
 * a project file.
 *
 * On failure or abort the temporary file is removed and `output` is left as it was.
 */
export async function writeZip(manifest: TreeManifest, opts: WriteZipOptions): Promise<ZipResult> {
  const level = opts.level ?? DEFAULT_ZIP_LEVEL;
  if (!Number.isInteger(level) || level < 0 || level > 9) {
    throw configError(
      'invalid-zip-level',
      `The zip level must be an integer from 0 to 9, not ${String(level)}.`,
    );
  }
  const unzippedSize = manifestUnzippedSize(manifest);
  const limit = opts.maxUnzippedBytes ?? LAMBDA_MAX_UNZIPPED_BYTES;
  if (unzippedSize > limit) {
    throw new LbuildError({
      kind: 'config',
      reason: 'zip-too-large',
      limit: 'max-unzipped-size',
      size: unzippedSize,
      max: limit,
      ...(opts.limitFrom?.table !== undefined ? { table: opts.limitFrom.table } : {}),
      ...(opts.limitFrom?.location !== undefined ? { location: opts.limitFrom.location } : {}),
    });
  }
  const { signal } = opts;
  signal?.throwIfAborted();
  checkFflateVersion();
  await loadContentHash();

  const entries = manifest.entries;
  const cache = new EntryCache(opts.cacheDir, level);
  // Cache files are written through one directory, so what a killed build left is found here.
  sweepTemporaries(cache.tempDir);
  const writer = new EntryWriter(cache, level);
  const temp = temporarySibling(opts.output);
  const stop = new AbortController();
  const stopSignal = signal === undefined ? stop.signal : AbortSignal.any([signal, stop.signal]);

  // Entries that need the cache are prepared ahead of the write loop, a few at a time, in order.
  const prepared = new Map<number, Promise<Plan>>();
  const toPrepare: number[] = [];
  const settle = new Map<
    number,
    { resolve: (plan: Plan) => void; reject: (error: unknown) => void }
  >();
  entries.forEach((entry, index) => {
    if (!needsCache(entry)) return;
    toPrepare.push(index);
    const promise = new Promise<Plan>((resolve, reject) => settle.set(index, { resolve, reject }));
    promise.catch(() => undefined); // awaited by the write loop; a failure after a stop is moot
    prepared.set(index, promise);
  });
  const preparing = mapLimit(toPrepare, PREPARE_CONCURRENCY, async (index) => {
    const handlers = settle.get(index);
    try {
      stopSignal.throwIfAborted();
      handlers?.resolve(await writer.prepare(entries[index] as TreeEntry, stopSignal));
    } catch (error) {
      handlers?.reject(error);
      throw error;
    }
  });
  preparing.catch(() => undefined);

  let handle: FileHandle | undefined;
  let out: ZipOutput | undefined;
  try {
    handle = await open(temp, 'w', 0o644);
    out = new ZipOutput(handle);
    const central: Buffer[] = [];
    for (let index = 0; index < entries.length; index++) {
      signal?.throwIfAborted();
      const entry = entries[index] as TreeEntry;
      const plan = prepared.get(index) ?? Promise.resolve(directPlan(entry));
      central.push(await writer.writeEntry(out, entry, await plan, signal));
      opts.onProgress?.(index + 1, entries.length);
    }
    const centralOffset = out.position;
    for (const record of central) await out.write(record);
    await out.write(endRecords(entries.length, centralOffset, out.position - centralOffset));
    const size = out.position;
    const digest = await out.digest();
    await handle.close();
    handle = undefined;
    signal?.throwIfAborted();
    await rename(temp, opts.output);
    return {
      sha256Hex: digest.toString('hex'),
      codeSha256: digest.toString('base64'),
      size,
      entries: entries.length,
      unzippedSize,
      ...writer.stats,
    };
  } catch (error) {
    await out?.settle().catch(() => undefined);
    await handle?.close().catch(() => undefined);
    handle = undefined;
    await rm(temp, { force: true });
    throw error;
  } finally {
    stop.abort();
    await writer.pool.close();
    await preparing.catch(() => undefined);
    writer.closeSources();
  }
}

/**
 * Project files, entries the wheel stored, and every entry of a wheel to recompress go through
 * the deflater and the cache.
 */
function needsCache(entry: TreeEntry): boolean {
  return (
    entry.size > 0 &&
    (entry.source.kind === 'file' || entry.source.method === 0 || entry.source.recompress === true)
  );
}

/** The plan of an entry that does not need the cache. */
function directPlan(entry: TreeEntry): Plan {
  const from = dataRef(entry);
  if (entry.size === 0) return { kind: 'store', crc32: 0, from };
  if (entry.source.kind === 'wheel' && entry.source.method === 8 && entry.crc32 !== null) {
    if (entry.source.compressedSize < entry.size) {
      return {
        kind: 'raw',
        method: 8,
        crc32: entry.crc32,
        compressedSize: entry.source.compressedSize,
        from,
      };
    }
    return {
      kind: 'inflate',
      crc32: entry.crc32,
      compressedSize: entry.source.compressedSize,
      from,
    };
  }
  throw new Error(`internal: ${entry.path} needs the cache`);
}

function dataRef(entry: TreeEntry): DataRef {
  return entry.source.kind === 'file'
    ? { kind: 'file', file: entry.source.file, start: 0 }
    : {
        kind: 'wheel',
        wheel: entry.source.wheel,
        entryName: entry.source.entryName,
        localHeaderOffset: entry.source.localHeaderOffset,
      };
}

function describeSource(from: DataRef): string {
  return from.kind === 'file' ? from.file : `${basename(from.wheel)} (entry "${from.entryName}")`;
}

/**
 * A project file whose bytes are not those the tree hashed: it was edited after the tree
 * target hashed it. Nothing of it is cached or written; the next build sees the edit.
 */
/**
 * Whether reading a project file failed because it is gone: removed or renamed while the build
 * ran. (A worker's error arrives as a clone, which may keep only the message.)
 */
function isVanished(error: unknown): boolean {
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  return (
    code === 'ENOENT' ||
    code === 'ENOTDIR' ||
    (typeof message === 'string' && /^(ENOENT|ENOTDIR)\b/.test(message))
  );
}

function inputChanged(entry: TreeEntry, file: string): LbuildError {
  return buildError(
    'input-changed-during-run',
    `${file} changed while the zip was being written (it goes into the zip as "${entry.path}"); run lbuild again.`,
    {
      hint: 'The next build zips the file as it is then. Edits during a build are never zipped under the hash of the earlier content.',
    },
  );
}

function sourceChanged(entry: TreeEntry, from: DataRef, what: string): LbuildError {
  return buildError(
    'source-changed',
    `The content of "${entry.path}" in ${describeSource(from)} changed after the tree was built: ${what}.`,
    { hint: 'Build again; do not edit sources while a build runs.' },
  );
}

class EntryWriter {
  readonly pool = new DeflatePool();
  readonly stats = {
    compressedEntries: 0,
    reusedEntries: 0,
    copiedEntries: 0,
    inflatedEntries: 0,
    recompressedEntries: 0,
  };
  readonly #cache: EntryCache;
  readonly #level: number;
  /** Open wheel files (descriptors), least recently used first. */
  readonly #sources = new Map<string, number>();
  #missedBytes = 0;

  constructor(cache: EntryCache, level: number) {
    this.#cache = cache;
    this.#level = level;
  }

  /** Finds the entry's content in the cache, or deflates (inflating first) and caches it. */
  async prepare(entry: TreeEntry, signal: AbortSignal): Promise<Plan> {
    if (entry.source.kind === 'wheel' && entry.source.recompress === true)
      this.stats.recompressedEntries++;
    const hit = this.#cache.lookup(entry.contentKey, entry.size);
    if (hit !== null) {
      this.stats.reusedEntries++;
      return this.#planFromCache(entry, hit, true);
    }
    return this.#planFromCache(entry, await this.#deflate(entry, signal), false);
  }

  /** Deflates the entry's content (inflating first) into its cache file. */
  async #deflate(entry: TreeEntry, signal: AbortSignal | undefined): Promise<CachedContent> {
    signal?.throwIfAborted();
    const from = dataRef(entry);
    const cacheFile = this.#cache.fileFor(entry.contentKey);
    let job: DeflateJob;
    if (from.kind === 'file') {
      job = {
        path: from.file,
        start: from.start,
        size: entry.size,
        wholeFile: true,
        expectedCrc: null,
        expectedHash: entry.contentKey,
        level: this.#level,
        cacheFile,
      };
    } else {
      const fd = openSync(from.wheel, 'r');
      let start: number;
      try {
        start = readEntryDataOffset(fd, from.wheel, from.entryName, from.localHeaderOffset);
      } finally {
        closeSync(fd);
      }
      job = {
        path: from.wheel,
        start,
        size: entry.size,
        wholeFile: false,
        expectedCrc: entry.crc32,
        level: this.#level,
        cacheFile,
      };
      // A deflated entry here is one to recompress: the job inflates it first.
      if (entry.source.kind === 'wheel' && entry.source.method === 8)
        job.deflatedSize = entry.source.compressedSize;
    }
    job.tempDir = this.#cache.tempDir;
    this.#missedBytes += entry.size;
    const inWorker = entry.size >= WORKER_THRESHOLD || this.#missedBytes > SMALL_INLINE_BYTES;
    let outcome: Awaited<ReturnType<typeof deflateToCacheHere>>;
    try {
      outcome = inWorker ? await this.pool.run(job) : deflateToCacheHere(job);
    } catch (error) {
      // Removed or renamed since the tree was built: the same as an edit, not lbuild's fault.
      if (from.kind === 'file' && isVanished(error)) throw inputChanged(entry, from.file);
      throw error;
    }
    if (!outcome.ok && from.kind === 'file') throw inputChanged(entry, from.file);
    if (!outcome.ok) {
      throw sourceChanged(
        entry,
        from,
        outcome.problem === 'size'
          ? `it has ${String(outcome.actual)} bytes, not ${String(entry.size)}`
          : outcome.problem === 'inflate'
            ? outcome.detail
            : outcome.problem === 'hash'
              ? `its content hash is ${outcome.actual}, not ${entry.contentKey}`
              : "its CRC-32 does not match the wheel's central directory",
      );
    }
    this.stats.compressedEntries++;
    // Read back as any cache file is, so that what is used is what the file holds.
    const written = this.#cache.lookup(entry.contentKey, entry.size);
    if (written === null)
      throw new Error(`internal: the compressed-entry cache file ${cacheFile} was not written`);
    return written;
  }

  #planFromCache(entry: TreeEntry, cached: CachedContent, reused: boolean): Plan {
    if (cached.method === 8) return { kind: 'cached', cached, reused };
    // Stored: from the source again, inflated when the source is a wheel's deflated data.
    if (entry.source.kind === 'wheel' && entry.source.method === 8) {
      return {
        kind: 'inflate',
        crc32: cached.crc32,
        compressedSize: entry.source.compressedSize,
        from: dataRef(entry),
      };
    }
    return { kind: 'store', crc32: cached.crc32, from: dataRef(entry) };
  }

  async writeEntry(
    out: ZipOutput,
    entry: TreeEntry,
    plan: Plan,
    signal: AbortSignal | undefined,
  ): Promise<Buffer> {
    if (plan.kind === 'cached') return this.#writeCached(out, entry, plan, signal);
    const header: EntryHeader = {
      name: Buffer.from(entry.path, 'utf8'),
      method: plan.kind === 'raw' ? plan.method : 0,
      crc32: plan.crc32,
      compressedSize: plan.kind === 'raw' ? plan.compressedSize : entry.size,
      size: entry.size,
      mode: entry.mode,
    };
    const offset = out.position;
    await out.write(localHeader(header));
    let data: { fd: number; start: number };
    try {
      data = this.#openData(plan.from);
    } catch (error) {
      if (plan.from.kind === 'file' && isVanished(error)) throw inputChanged(entry, plan.from.file);
      throw error;
    }
    const { fd, start } = data;
    try {
      switch (plan.kind) {
        case 'raw':
          await out.copy(fd, start, plan.compressedSize, signal);
          this.stats.copiedEntries++;
          break;
        case 'store': {
          let crc = 0;
          const from = plan.from;
          const hasher = from.kind === 'file' ? contentHasher() : undefined;
          await out.copy(fd, start, entry.size, signal, (chunk) => {
            crc = crc32(chunk, crc);
            hasher?.update(chunk);
          });
          if (from.kind === 'file') {
            if (crc !== plan.crc32 || hasher?.digest() !== entry.contentKey)
              throw inputChanged(entry, from.file);
          } else if (crc !== plan.crc32) {
            throw sourceChanged(entry, from, 'its CRC-32 changed');
          }
          break;
        }
        case 'inflate':
          await this.#inflateInto(out, entry, plan, fd, start, signal);
          // Recompressed entries that fflate does not shrink are counted by prepare().
          if (!needsCache(entry)) this.stats.inflatedEntries++;
          break;
      }
    } catch (error) {
      if (error instanceof ShortReadError) {
        if (plan.from.kind === 'file') throw inputChanged(entry, plan.from.file);
        throw sourceChanged(entry, plan.from, error.message);
      }
      throw error;
    } finally {
      if (plan.from.kind === 'file') closeSync(fd);
    }
    return centralHeader(header, offset);
  }

  /**
   * Writes a cache file's deflated bytes once they check out against its digest. A file that
   * does not (corrupted, truncated, tampered with) is never written into the zip: the content
   * is deflated again, which replaces the file.
   */
  async #writeCached(
    out: ZipOutput,
    entry: TreeEntry,
    plan: Extract<Plan, { kind: 'cached' }>,
    signal: AbortSignal | undefined,
  ): Promise<Buffer> {
    let cached = plan.cached;
    for (let attempt = 0; ; attempt++) {
      const central = await this.#copyChecked(out, entry, cached, signal);
      if (central !== null) return central;
      if (attempt > 0) {
        throw new Error(
          `The compressed-entry cache file ${cached.file} does not hold what was just written to it.`,
        );
      }
      if (plan.reused) this.stats.reusedEntries--; // #deflate counts it as compressed
      cached = await this.#deflate(entry, signal);
      if (cached.method === 0)
        return this.writeEntry(out, entry, this.#planFromCache(entry, cached, false), signal);
    }
  }

  /**
   * Writes the entry from a cache file, or nothing and returns null when the file's bytes do not
   * check out. Bytes that fit the output buffer are read straight into it and kept only once
   * checked; larger ones are checked in a first pass, then copied and checked again.
   */
  async #copyChecked(
    out: ZipOutput,
    entry: TreeEntry,
    cached: CachedContent,
    signal: AbortSignal | undefined,
  ): Promise<Buffer | null> {
    const header: EntryHeader = {
      name: Buffer.from(entry.path, 'utf8'),
      method: 8,
      crc32: cached.crc32,
      compressedSize: cached.compressedSize,
      size: entry.size,
      mode: entry.mode,
    };
    const local = localHeader(header);
    let fd: number;
    try {
      fd = openSync(cached.file, 'r');
    } catch {
      return null; // gone since it was looked up
    }
    try {
      const offset = out.position;
      const total = local.length + cached.compressedSize;
      if (total <= ZipOutput.CONTIGUOUS) {
        const space = await out.reserve(total);
        const data = space.subarray(local.length);
        if (!readFully(fd, data, CACHE_HEADER_SIZE) || !checksOut(cached, hash64(data)))
          return null;
        local.copy(space);
        out.commit(total);
        return centralHeader(header, offset);
      }
      if (!checkDeflatedInPieces(fd, cached)) return null;
      await out.write(local);
      // Checked again on the way, in case the file was replaced since.
      const hasher = hasher64();
      try {
        await out.copy(fd, CACHE_HEADER_SIZE, cached.compressedSize, signal, (chunk) =>
          hasher.update(chunk),
        );
      } catch (error) {
        if (error instanceof ShortReadError) throw discardChangedCacheFile(cached.file);
        throw error;
      }
      if (!checksOut(cached, hasher.digest())) throw discardChangedCacheFile(cached.file);
      return centralHeader(header, offset);
    } finally {
      closeSync(fd);
    }
  }

  async #inflateInto(
    out: ZipOutput,
    entry: TreeEntry,
    plan: Extract<Plan, { kind: 'inflate' }>,
    fd: number,
    start: number,
    signal: AbortSignal | undefined,
  ): Promise<void> {
    if (plan.from.kind !== 'wheel') throw new Error('internal: inflate from a wheel only');
    let crc = 0;
    let size = 0;
    const from = plan.from;
    if (entry.size <= SYNC_INFLATE_LIMIT) {
      // Small enough to hold: one read and one inflate call, without a thread-pool round trip
      // per chunk (what costs most for the hundreds of small entries a bundle has).
      const compressed = Buffer.allocUnsafe(plan.compressedSize);
      let got = 0;
      while (got < compressed.length) {
        const n = readSync(fd, compressed, got, compressed.length - got, start + got);
        if (n === 0) throw sourceChanged(entry, from, 'its data is truncated');
        got += n;
      }
      let data: Buffer;
      try {
        data = inflateRawSync(compressed, { maxOutputLength: Math.max(1, entry.size) });
      } catch (error) {
        throw sourceChanged(
          entry,
          from,
          `it does not inflate to ${String(entry.size)} bytes (${error instanceof Error ? error.message : String(error)})`,
        );
      }
      size = data.length;
      crc = crc32(data);
      await out.write(data);
    } else {
      await this.#inflateStream(out, entry, plan.compressedSize, from, start, signal, (chunk) => {
        size += chunk.length;
        crc = crc32(chunk, crc);
      });
    }
    if (size !== entry.size)
      throw sourceChanged(
        entry,
        from,
        `it inflates to ${String(size)} bytes, not ${String(entry.size)}`,
      );
    if (crc !== plan.crc32)
      throw sourceChanged(entry, from, "its CRC-32 does not match the wheel's central directory");
  }

  async #inflateStream(
    out: ZipOutput,
    entry: TreeEntry,
    compressedSize: number,
    from: Extract<DataRef, { kind: 'wheel' }>,
    start: number,
    signal: AbortSignal | undefined,
    onChunk: (chunk: Buffer) => void,
  ): Promise<void> {
    let size = 0;
    await pipeline(
      createReadStream(from.wheel, {
        start,
        end: start + compressedSize - 1,
        highWaterMark: 1 << 20,
      }),
      createInflateRaw(),
      async (chunks: AsyncIterable<Buffer>) => {
        for await (const chunk of chunks) {
          size += chunk.length;
          if (size > entry.size)
            throw sourceChanged(
              entry,
              from,
              `it inflates to more than ${String(entry.size)} bytes`,
            );
          onChunk(chunk);
          await out.write(chunk);
        }
      },
      signal === undefined ? {} : { signal },
    );
  }

  /**
   * A descriptor of the data's file and where the data starts; wheels stay open (up to
   * MAX_OPEN_SOURCES). Synchronous for the same reason as ZipOutput.copy.
   */
  #openData(from: DataRef): { fd: number; start: number } {
    if (from.kind === 'file') return { fd: openSync(from.file, 'r'), start: from.start };
    let fd = this.#sources.get(from.wheel);
    if (fd === undefined) {
      if (this.#sources.size >= MAX_OPEN_SOURCES) {
        const [oldest, oldFd] = this.#sources.entries().next().value as [string, number];
        this.#sources.delete(oldest);
        closeSync(oldFd);
      }
      fd = openSync(from.wheel, 'r');
    } else {
      this.#sources.delete(from.wheel); // re-inserted below: most recently used last
    }
    this.#sources.set(from.wheel, fd);
    return {
      fd,
      start: readEntryDataOffset(fd, from.wheel, from.entryName, from.localHeaderOffset),
    };
  }

  closeSources(): void {
    for (const fd of this.#sources.values()) {
      try {
        closeSync(fd);
      } catch {
        // already closed
      }
    }
    this.#sources.clear();
  }
}

/** Removes a cache file that changed under the writer, so that the next build writes it anew. */
function discardChangedCacheFile(file: string): LbuildError {
  rmSync(file, { force: true });
  return buildError(
    'cache-changed',
    `The compressed-entry cache file ${file} changed while it was copied into the zip.`,
    { hint: 'Run lbuild again; the file has been removed and will be written anew.' },
  );
}
