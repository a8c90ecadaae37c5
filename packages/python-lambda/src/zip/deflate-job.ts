import {
  closeSync,
  createReadStream,
  fstatSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readSync,
  renameSync,
  rmSync,
  writeSync,
} from 'node:fs';
import { dirname } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createInflateRaw, inflateRawSync } from 'node:zlib';
import type * as Fflate from 'fflate';
import { CACHE_HEADER_SIZE, cacheHeader } from './cache.js';
import { contentHashOf, contentHasher, hash64, hasher64 } from './content-hash.js';
import { crc32 } from './crc32.js';
import { deflateHere, fflate } from './fflate.js';

/*
 * A deflate job, as the main thread and the deflate workers (deflate-worker.ts) both run it: read
 * (and inflate), CRC and content hash, deflate with fflate, store when the deflated form is not
 * smaller, write the cache file. One implementation, so a content gets the same cache file on
 * either thread. loadContentHash() must have been awaited on the thread that runs it.
 */

/**
 * Contents larger than this are deflated with fflate's streaming `Deflate`, pushed in chunks of
 * exactly STREAM_CHUNK bytes (the last one shorter), so that memory stays bounded whatever the
 * file size. The output depends on the chunking, so both numbers are part of the zip format
 * (see ZIP_FORMAT_ID). Such contents are always deflated in a worker.
 */
export const STREAM_THRESHOLD = 16 * 1024 * 1024;
export const STREAM_CHUNK = 1024 * 1024;

/** One content to deflate into the cache. */
export interface DeflateJob {
  /** The file holding the content, and where in it. */
  path: string;
  start: number;
  size: number;
  /** The content is the whole file, which must then be exactly `size` bytes long. */
  wholeFile: boolean;
  /** The CRC-32 the content must have, when it is known (a wheel entry's). */
  expectedCrc: number | null;
  /**
   * The content hash (content-hash.ts) the content must have: a project file's contentKey.
   * Checked on the bytes that are deflated, before the cache file is written.
   */
  expectedHash?: string;
  /**
   * When set, `start` is where this many bytes of raw deflate data begin (a wheel entry's data,
   * `wholeFile` false), and the content is what they inflate to with Node's zlib, which must be
   * exactly `size` bytes. An inflater's output is fixed by its input, so the cache file is the
   * same as for the content read as it is; a content over STREAM_THRESHOLD is cut into the same
   * STREAM_CHUNK pieces, however the inflater hands it over.
   */
  deflatedSize?: number;
  level: number;
  /** The cache file to write (through a temporary name). */
  cacheFile: string;
  /** Where the temporary file goes (on the cache file's file system); default beside it. */
  tempDir?: string;
}

/**
 * What became of a job: the cache file is written, or the content was not what the tree said
 * (`size`: it has `actual` bytes; `crc`: its CRC-32 differs; `hash`: its content hash is
 * `actual`; `inflate`: the deflated data is truncated, does not inflate, or inflates to another
 * size, as `detail` says), and nothing is written.
 */
export type DeflateOutcome =
  | { ok: true; method: 0 | 8; crc32: number; compressedSize: number }
  | { ok: false; problem: 'size'; actual: number }
  | { ok: false; problem: 'crc' }
  | { ok: false; problem: 'hash'; actual: string }
  | { ok: false; problem: 'inflate'; detail: string };

type DeflateFailure = Extract<DeflateOutcome, { ok: false }>;

const EMPTY = new Uint8Array(0);

/**
 * Runs a job, writing the cache file through `temp` (a name from core's temporaryName, given by
 * the main thread, whose owner tag lets a later run remove it if this process is killed).
 */
export async function runDeflateJob(job: DeflateJob, temp: string): Promise<DeflateOutcome> {
  if (job.size <= STREAM_THRESHOLD) return deflateWhole(job, temp);
  return job.deflatedSize === undefined
    ? deflateFileStreamed(job, temp)
    : deflateInflatedStreamed(job, temp);
}

/** A job whose content is read whole (at most STREAM_THRESHOLD bytes). */
export function deflateWhole(job: DeflateJob, temp: string): DeflateOutcome {
  if (job.size > STREAM_THRESHOLD)
    throw new Error('internal: contents over STREAM_THRESHOLD are deflated in workers');
  const content = readJobContent(job);
  if (!Buffer.isBuffer(content)) return content;
  const crc = crc32(content);
  if (job.expectedCrc !== null && crc !== job.expectedCrc) return { ok: false, problem: 'crc' };
  if (job.expectedHash !== undefined) {
    const actual = contentHashOf(content);
    if (actual !== job.expectedHash) return { ok: false, problem: 'hash', actual };
  }
  const deflated = deflateHere(content, job.level);
  const method = deflated.length < job.size ? 8 : 0;
  const compressedSize = method === 8 ? deflated.length : job.size;
  const header = cacheHeader(job.cacheFile, hash64(method === 8 ? deflated : EMPTY), {
    method,
    crc32: crc,
    size: job.size,
    compressedSize,
  });
  makeDirectories(job, temp);
  try {
    const out = openSync(temp, 'w');
    try {
      writeAll(out, header);
      if (method === 8) writeAll(out, deflated);
    } finally {
      closeSync(out);
    }
    renameSync(temp, job.cacheFile);
  } catch (error) {
    rmSync(temp, { force: true });
    throw error;
  }
  return { ok: true, method, crc32: crc, compressedSize };
}

/** A job's content, read whole (and inflated when the job says so). */
function readJobContent(job: DeflateJob): Buffer | DeflateFailure {
  const fd = openSync(job.path, 'r');
  const length = job.deflatedSize ?? job.size;
  let data: Buffer;
  try {
    if (job.wholeFile) {
      const actual = fstatSync(fd).size;
      if (actual !== job.size) return { ok: false, problem: 'size', actual };
    }
    data = Buffer.allocUnsafe(length);
    const got = readAt(fd, data, job.start);
    if (got !== length) {
      return job.deflatedSize === undefined
        ? { ok: false, problem: 'size', actual: got }
        : truncated();
    }
  } finally {
    closeSync(fd);
  }
  if (job.deflatedSize === undefined) return data;
  let content: Buffer;
  try {
    content = inflateRawSync(data, { maxOutputLength: Math.max(1, job.size) });
  } catch (error) {
    return notInflating(job, error instanceof Error ? error.message : String(error));
  }
  return content.length === job.size ? content : inflatesTo(job, content.length);
}

/** A large content: read, CRC and deflate STREAM_CHUNK bytes at a time, writing as it goes. */
function deflateFileStreamed(job: DeflateJob, temp: string): DeflateOutcome {
  const fd = openSync(job.path, 'r');
  let file: StreamedCacheFile | undefined;
  try {
    if (job.wholeFile) {
      const actual = fstatSync(fd).size;
      if (actual !== job.size) return { ok: false, problem: 'size', actual };
    }
    file = new StreamedCacheFile(job, temp);
    const chunk = Buffer.allocUnsafe(STREAM_CHUNK);
    while (file.done < job.size) {
      const piece = chunk.subarray(0, Math.min(STREAM_CHUNK, job.size - file.done));
      const got = readAt(fd, piece, job.start + file.done);
      if (got !== piece.length) return { ok: false, problem: 'size', actual: file.done + got };
      file.push(piece);
    }
    return file.finish();
  } finally {
    closeSync(fd);
    file?.close();
  }
}

/**
 * A large wheel entry: inflated by zlib as a stream, whose pieces (of any size) are gathered into
 * the STREAM_CHUNK pieces deflateFileStreamed reads from a file, so the same content deflates to
 * the same bytes either way.
 */
async function deflateInflatedStreamed(job: DeflateJob, temp: string): Promise<DeflateOutcome> {
  const deflatedSize = job.deflatedSize ?? 0;
  // zlib's message for no data at all, as inflateRawSync would say it.
  if (deflatedSize === 0) return notInflating(job, 'unexpected end of file');
  const file = new StreamedCacheFile(job, temp);
  // Set inside the pipeline (a closure), so typed wide: TypeScript would narrow it to null.
  let failure = null as DeflateFailure | null;
  let deflatedRead = 0;
  let inflated = 0;
  try {
    const chunk = Buffer.allocUnsafe(STREAM_CHUNK);
    let fill = 0;
    try {
      await pipeline(
        createReadStream(job.path, {
          start: job.start,
          end: job.start + deflatedSize - 1,
          highWaterMark: STREAM_CHUNK,
        }),
        async function* (source: AsyncIterable<Buffer>) {
          for await (const data of source) {
            deflatedRead += data.length;
            yield data;
          }
        },
        createInflateRaw(),
        async (source: AsyncIterable<Buffer>) => {
          for await (const data of source) {
            inflated += data.length;
            if (inflated > job.size) {
              const detail = `it inflates to more than ${String(job.size)} bytes`;
              failure = { ok: false, problem: 'inflate', detail };
              throw new Error(detail);
            }
            for (let at = 0; at < data.length;) {
              const n = Math.min(STREAM_CHUNK - fill, data.length - at);
              data.copy(chunk, fill, at, at + n);
              fill += n;
              at += n;
              if (fill === STREAM_CHUNK || file.done + fill === job.size) {
                file.push(chunk.subarray(0, fill));
                fill = 0;
              }
            }
          }
        },
      );
    } catch (error) {
      if (failure !== null) return failure;
      if (deflatedRead < deflatedSize) return truncated();
      const code = (error as NodeJS.ErrnoException | null)?.code;
      if (typeof code === 'string' && code.startsWith('Z_'))
        return notInflating(job, (error as Error).message);
      throw error;
    }
    if (deflatedRead < deflatedSize) return truncated();
    if (inflated !== job.size) return inflatesTo(job, inflated);
    return file.finish();
  } finally {
    file.close();
  }
}

/**
 * A cache file written as its content is pushed in STREAM_CHUNK pieces: the deflated bytes go
 * straight to the temporary file, the header last, once the whole content has been checked.
 */
class StreamedCacheFile {
  done = 0;
  readonly #job: DeflateJob;
  readonly #temp: string;
  #out: number | undefined;
  #kept = false;
  #crc = 0;
  #compressedSize = 0;
  readonly #dataHasher = hasher64();
  readonly #contentHasher: ReturnType<typeof contentHasher> | undefined;
  readonly #deflater: Fflate.Deflate;

  constructor(job: DeflateJob, temp: string) {
    this.#job = job;
    this.#temp = temp;
    makeDirectories(job, temp);
    const out = openSync(temp, 'w');
    this.#out = out;
    writeAll(out, Buffer.alloc(CACHE_HEADER_SIZE)); // the header, written last
    if (job.expectedHash !== undefined) this.#contentHasher = contentHasher();
    const level = job.level as Fflate.DeflateOptions['level'];
    this.#deflater = new (fflate().Deflate)({ level }, (data) => {
      writeAll(out, data);
      this.#dataHasher.update(data);
      this.#compressedSize += data.length;
    });
  }

  push(piece: Uint8Array): void {
    this.#crc = crc32(piece, this.#crc);
    this.#contentHasher?.update(piece);
    this.done += piece.length;
    this.#deflater.push(piece, this.done === this.#job.size);
  }

  /** Checks the whole content against the job, then writes the header and renames into place. */
  finish(): DeflateOutcome {
    const job = this.#job;
    const out = this.#out as number;
    if (job.expectedCrc !== null && this.#crc !== job.expectedCrc)
      return { ok: false, problem: 'crc' };
    const actual = this.#contentHasher?.digest();
    if (actual !== undefined && actual !== job.expectedHash)
      return { ok: false, problem: 'hash', actual };
    const method = this.#compressedSize < job.size ? 8 : 0;
    if (method === 0) ftruncateSync(out, CACHE_HEADER_SIZE);
    const compressedSize = method === 8 ? this.#compressedSize : job.size;
    const dataHash = method === 8 ? this.#dataHasher.digest() : hash64(EMPTY);
    const header = cacheHeader(job.cacheFile, dataHash, {
      method,
      crc32: this.#crc,
      size: job.size,
      compressedSize,
    });
    writeSync(out, header, 0, CACHE_HEADER_SIZE, 0);
    closeSync(out);
    this.#out = undefined;
    renameSync(this.#temp, job.cacheFile);
    this.#kept = true;
    return { ok: true, method, crc32: this.#crc, compressedSize };
  }

  /** Closes the file, and removes it unless finish() renamed it into place. */
  close(): void {
    if (this.#out !== undefined) closeSync(this.#out);
    this.#out = undefined;
    if (!this.#kept) rmSync(this.#temp, { force: true });
  }
}

function makeDirectories(job: DeflateJob, temp: string): void {
  mkdirSync(dirname(job.cacheFile), { recursive: true });
  mkdirSync(dirname(temp), { recursive: true });
}

/** Fills `into` from `position` as far as the file goes; returns the bytes read. */
function readAt(fd: number, into: Buffer, position: number): number {
  let got = 0;
  while (got < into.length) {
    const n = readSync(fd, into, got, into.length - got, position + got);
    if (n === 0) break;
    got += n;
  }
  return got;
}

function writeAll(fd: number, data: Uint8Array): void {
  let at = 0;
  while (at < data.length) at += writeSync(fd, data, at, data.length - at);
}

function truncated(): DeflateFailure {
  return { ok: false, problem: 'inflate', detail: 'its deflated data is truncated' };
}

function notInflating(job: DeflateJob, why: string): DeflateFailure {
  const detail = `it does not inflate to ${String(job.size)} bytes (${why})`;
  return { ok: false, problem: 'inflate', detail };
}

function inflatesTo(job: DeflateJob, size: number): DeflateFailure {
  const detail = `it inflates to ${String(size)} bytes, not ${String(job.size)}`;
  return { ok: false, problem: 'inflate', detail };
}
