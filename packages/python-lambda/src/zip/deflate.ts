import {
  closeSync,
  fstatSync,
  mkdirSync,
  openSync,
  readFileSync,
  readSync,
  renameSync,
  rmSync,
  writeSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { inflateRawSync } from 'node:zlib';
import type * as Fflate from 'fflate';
import { LbuildError, ownerTag, temporaryName } from '@lbuild/core';
import { CACHE_FIELDS_SIZE, CACHE_HEADER_SIZE, CACHE_MAGIC, cacheHeader } from './cache.js';
import { contentHashOf, hash64 } from './content-hash.js';
import { crc32 } from './crc32.js';
import { FFLATE_VERSION } from './format.js';

/*
 * Why fflate and not Node's zlib (nor yazl, which deflates with Node's zlib): the bytes a
 * deflater produces are not fixed by the format, only by the implementation. Node bundles its own
 * zlib fork (Chromium's, with SIMD paths chosen at run time by CPU features) and has changed it
 * between releases, so the same input can deflate differently on another machine or Node
 * version. fflate is plain JavaScript: pinned to one version, its output depends only on the
 * input and the options. Inflating is safe with any implementation (its output is fixed by the
 * input), so wheel entries are inflated with Node's zlib: those the writer stores, and those of
 * wheels built on this machine, which a job inflates before deflating them with fflate
 * (DeflateJob.deflatedSize).
 *
 * The main thread and the workers load the same file (the CommonJS build that `require`
 * resolves), so a content deflates to the same bytes wherever it runs.
 */
const require = createRequire(import.meta.url);
// Resolved and loaded on first use: importing this module (for its constants, say, in a no-op
// check) costs nothing.
let fflatePath: string | undefined;
let fflateModule: typeof Fflate | undefined;
function resolveFflate(): string {
  return (fflatePath ??= require.resolve('fflate'));
}
function fflate(): typeof Fflate {
  return (fflateModule ??= require(resolveFflate()) as typeof Fflate);
}
// The worker computes the content hash with the same package, loaded by path like fflate.
let xxhashPath: string | undefined;
function resolveXxhash(): string {
  return (xxhashPath ??= require.resolve('xxhash-wasm'));
}

let versionChecked = false;

/** Throws when the installed fflate is not the one {@link ZIP_FORMAT_ID} names. */
export function checkFflateVersion(): void {
  if (versionChecked) return;
  const packageJson = join(dirname(resolveFflate()), '..', 'package.json');
  const { version } = JSON.parse(readFileSync(packageJson, 'utf8')) as { version: string };
  if (version !== FFLATE_VERSION) {
    throw new LbuildError({
      reason: 'wrong-fflate-version',
      kind: 'internal',
      message: `fflate ${version} is installed, but reproducible zips are defined with fflate ${FFLATE_VERSION}.`,
      hint: `Reinstall dependencies; @lbuild/python-lambda pins fflate to ${FFLATE_VERSION}.`,
    });
  }
  versionChecked = true;
}

/** Deflates on the calling thread. */
export function deflateHere(data: Uint8Array, level: number): Uint8Array {
  return fflate().deflateSync(data, { level: level as Fflate.DeflateOptions['level'] });
}

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

/**
 * Runs a job on the calling thread: read (and inflate), CRC and content hash, deflate with
 * fflate, store when the deflated form is not smaller, write the cache file. The worker source
 * below does exactly the same. loadContentHash() must have been awaited.
 */
export function deflateToCacheHere(job: DeflateJob): DeflateOutcome {
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
  const dataHash = hash64(method === 8 ? deflated : new Uint8Array(0));
  const header = cacheHeader(job.cacheFile, dataHash, {
    method,
    crc32: crc,
    size: job.size,
    compressedSize,
  });
  mkdirSync(dirname(job.cacheFile), { recursive: true });
  const tempDir = job.tempDir ?? dirname(job.cacheFile);
  mkdirSync(tempDir, { recursive: true });
  const temp = temporaryName(tempDir, basename(job.cacheFile));
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

/** A job's content, read whole (and inflated when the job says so); the worker's readContent. */
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
    let got = 0;
    while (got < length) {
      const n = readSync(fd, data, got, length - got, job.start + got);
      if (n === 0) break;
      got += n;
    }
    if (got !== length) {
      return job.deflatedSize === undefined
        ? { ok: false, problem: 'size', actual: got }
        : { ok: false, problem: 'inflate', detail: 'its deflated data is truncated' };
    }
  } finally {
    closeSync(fd);
  }
  if (job.deflatedSize === undefined) return data;
  let content: Buffer;
  try {
    content = inflateRawSync(data, { maxOutputLength: Math.max(1, job.size) });
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    return {
      ok: false,
      problem: 'inflate',
      detail: `it does not inflate to ${String(job.size)} bytes (${why})`,
    };
  }
  if (content.length !== job.size) {
    return {
      ok: false,
      problem: 'inflate',
      detail: `it inflates to ${String(content.length)} bytes, not ${String(job.size)}`,
    };
  }
  return content;
}

function writeAll(fd: number, data: Uint8Array): void {
  let at = 0;
  while (at < data.length) at += writeSync(fd, data, at, data.length - at);
}

// The worker: plain CommonJS, run with `eval: true` so that it works both from the TypeScript
// sources (tests) and from the compiled package, without a worker file to locate. It does the
// whole job (read and inflate, CRC and content hash, deflate, write the cache file), so content
// never crosses threads and the main thread allocates nothing for it. Keep it in step with
// deflateToCacheHere, readJobContent and cacheHeader (tests check that both write the same cache
// file and report the same problems).
const WORKER_SOURCE = `
'use strict';
const { parentPort, workerData, threadId } = require('node:worker_threads');
const fs = require('node:fs');
const path = require('node:path');
const { pipeline } = require('node:stream/promises');
const zlib = require('node:zlib');
const fflate = require(workerData.fflatePath);
const xxhashReady = require(workerData.xxhashPath)();
let xxhash;
const MAGIC = workerData.magic;
const HEADER_SIZE = workerData.headerSize;
const FIELDS_SIZE = workerData.fieldsSize;
const STREAM_THRESHOLD = workerData.streamThreshold;
const STREAM_CHUNK = workerData.streamChunk;
const OWNER_TAG = workerData.ownerTag;
let table;
function crc32(data, value = 0) {
  if (typeof zlib.crc32 === 'function') return zlib.crc32(data, value);
  if (!table) {
    table = new Int32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      table[n] = c;
    }
  }
  let c = ~value;
  for (let i = 0; i < data.length; i++) c = table[(c ^ data[i]) & 0xff] ^ (c >>> 8);
  return (c ^ -1) >>> 0;
}
// The content hash of content-hash.ts, whole or in pieces.
function contentHash(data) {
  return xxhash.h64Raw(data).toString(16).padStart(16, '0');
}
function contentHasher(job) {
  if (job.expectedHash === undefined) return { update() {}, check() { return null; } };
  const hasher = xxhash.create64();
  return {
    update(chunk) { hasher.update(chunk); },
    check() {
      const actual = hasher.digest().toString(16).padStart(16, '0');
      return actual === job.expectedHash ? null : { ok: false, problem: 'hash', actual };
    },
  };
}
// The cache file's header (cache.ts): the fields, then their digest with the file's name,
// seeded with the xxh64 of the deflated bytes (of nothing when stored).
function header(cacheFile, dataHash, method, crc, size, compressedSize) {
  const bytes = Buffer.alloc(HEADER_SIZE);
  bytes.writeUInt32LE(MAGIC, 0);
  bytes.writeUInt8(method, 4);
  bytes.writeUInt32LE(crc >>> 0, 8);
  bytes.writeBigUInt64LE(BigInt(size), 16);
  bytes.writeBigUInt64LE(BigInt(compressedSize), 24);
  const key = Buffer.from(path.basename(cacheFile), 'latin1');
  const signed = Buffer.concat([bytes.subarray(0, FIELDS_SIZE), key]);
  bytes.writeBigUInt64LE(xxhash.h64Raw(signed, dataHash), FIELDS_SIZE);
  return bytes;
}
// Named as core's temporaryName names them: the owner tag lets a later run remove the file
// if this process is killed while writing it.
function tempFor(job) {
  fs.mkdirSync(path.dirname(job.cacheFile), { recursive: true });
  const dir = job.tempDir === undefined ? path.dirname(job.cacheFile) : job.tempDir;
  fs.mkdirSync(dir, { recursive: true });
  const unique = 'w' + threadId + 'n' + counter++;
  return path.join(dir, '.' + path.basename(job.cacheFile) + '.' + OWNER_TAG + '.' + unique + '.tmp');
}
const EMPTY = new Uint8Array(0);
function writeAll(fd, data) {
  let at = 0;
  while (at < data.length) at += fs.writeSync(fd, data, at, data.length - at);
}
let counter = 0;
async function run(job) {
  xxhash ??= await xxhashReady;
  if (job.size > STREAM_THRESHOLD)
    return job.deflatedSize === undefined ? runStreamed(job) : runInflateStreamed(job);
  const content = readContent(job);
  if (!Buffer.isBuffer(content)) return content;
  const crc = crc32(content);
  if (job.expectedCrc !== null && crc !== job.expectedCrc) return { ok: false, problem: 'crc' };
  if (job.expectedHash !== undefined) {
    const actual = contentHash(content);
    if (actual !== job.expectedHash) return { ok: false, problem: 'hash', actual };
  }
  const deflated = fflate.deflateSync(content, { level: job.level });
  const method = deflated.length < job.size ? 8 : 0;
  const compressedSize = method === 8 ? deflated.length : job.size;
  const dataHash = xxhash.h64Raw(method === 8 ? deflated : EMPTY);
  const bytes = header(job.cacheFile, dataHash, method, crc, job.size, compressedSize);
  const temp = tempFor(job);
  try {
    const out = fs.openSync(temp, 'w');
    try {
      writeAll(out, bytes);
      if (method === 8) writeAll(out, deflated);
    } finally {
      fs.closeSync(out);
    }
    fs.renameSync(temp, job.cacheFile);
  } catch (error) {
    fs.rmSync(temp, { force: true });
    throw error;
  }
  return { ok: true, method, crc32: crc, compressedSize };
}
// The content, read whole (and inflated when the job says so), or the problem with it.
function readContent(job) {
  const fd = fs.openSync(job.path, 'r');
  const length = job.deflatedSize === undefined ? job.size : job.deflatedSize;
  let data;
  try {
    if (job.wholeFile) {
      const actual = fs.fstatSync(fd).size;
      if (actual !== job.size) return { ok: false, problem: 'size', actual };
    }
    data = Buffer.allocUnsafe(length);
    let got = 0;
    while (got < length) {
      const n = fs.readSync(fd, data, got, length - got, job.start + got);
      if (n === 0) break;
      got += n;
    }
    if (got !== length) {
      return job.deflatedSize === undefined
        ? { ok: false, problem: 'size', actual: got }
        : { ok: false, problem: 'inflate', detail: 'its deflated data is truncated' };
    }
  } finally {
    fs.closeSync(fd);
  }
  if (job.deflatedSize === undefined) return data;
  let content;
  try {
    content = zlib.inflateRawSync(data, { maxOutputLength: Math.max(1, job.size) });
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    return { ok: false, problem: 'inflate', detail: notInflating(job, why) };
  }
  if (content.length !== job.size) {
    return {
      ok: false,
      problem: 'inflate',
      detail: 'it inflates to ' + content.length + ' bytes, not ' + job.size,
    };
  }
  return content;
}
function notInflating(job, why) {
  return 'it does not inflate to ' + job.size + ' bytes (' + why + ')';
}
// A large content: read, CRC and deflate STREAM_CHUNK bytes at a time, writing as it goes.
function runStreamed(job) {
  const temp = tempFor(job);
  let kept = false;
  const fd = fs.openSync(job.path, 'r');
  let out;
  try {
    if (job.wholeFile) {
      const actual = fs.fstatSync(fd).size;
      if (actual !== job.size) return { ok: false, problem: 'size', actual };
    }
    out = fs.openSync(temp, 'w');
    writeAll(out, Buffer.alloc(HEADER_SIZE)); // the header, written last
    let compressedSize = 0;
    const dataHasher = xxhash.create64();
    const deflater = new fflate.Deflate({ level: job.level }, (data) => {
      writeAll(out, data);
      dataHasher.update(data);
      compressedSize += data.length;
    });
    const hasher = contentHasher(job);
    const chunk = Buffer.allocUnsafe(STREAM_CHUNK);
    let crc = 0;
    let done = 0;
    while (done < job.size) {
      const want = Math.min(STREAM_CHUNK, job.size - done);
      let got = 0;
      while (got < want) {
        const n = fs.readSync(fd, chunk, got, want - got, job.start + done + got);
        if (n === 0) break;
        got += n;
      }
      if (got !== want) return { ok: false, problem: 'size', actual: done + got };
      crc = crc32(chunk.subarray(0, want), crc);
      hasher.update(chunk.subarray(0, want));
      done += want;
      deflater.push(chunk.subarray(0, want), done === job.size);
    }
    if (job.expectedCrc !== null && crc !== job.expectedCrc) return { ok: false, problem: 'crc' };
    const changed = hasher.check();
    if (changed !== null) return changed;
    const method = compressedSize < job.size ? 8 : 0;
    if (method === 0) {
      fs.ftruncateSync(out, HEADER_SIZE);
      compressedSize = job.size;
    }
    const dataHash = method === 8 ? dataHasher.digest() : xxhash.h64Raw(EMPTY);
    const bytes = header(job.cacheFile, dataHash, method, crc, job.size, compressedSize);
    fs.writeSync(out, bytes, 0, HEADER_SIZE, 0);
    fs.closeSync(out);
    out = undefined;
    fs.renameSync(temp, job.cacheFile);
    kept = true;
    return { ok: true, method, crc32: crc, compressedSize };
  } finally {
    fs.closeSync(fd);
    if (out !== undefined) fs.closeSync(out);
    if (!kept) fs.rmSync(temp, { force: true });
  }
}
// A large wheel entry: inflated by zlib as a stream, whose pieces (of any size) are gathered
// into the STREAM_CHUNK pieces runStreamed reads from a file, so the same content deflates to
// the same bytes either way.
async function runInflateStreamed(job) {
  // zlib's message for no data at all, as inflateRawSync would say it.
  if (job.deflatedSize === 0)
    return { ok: false, problem: 'inflate', detail: notInflating(job, 'unexpected end of file') };
  const temp = tempFor(job);
  let kept = false;
  let out;
  let failure = null;
  let deflatedRead = 0;
  try {
    out = fs.openSync(temp, 'w');
    writeAll(out, Buffer.alloc(HEADER_SIZE)); // the header, written last
    let compressedSize = 0;
    const dataHasher = xxhash.create64();
    const deflater = new fflate.Deflate({ level: job.level }, (data) => {
      writeAll(out, data);
      dataHasher.update(data);
      compressedSize += data.length;
    });
    const hasher = contentHasher(job);
    const chunk = Buffer.allocUnsafe(STREAM_CHUNK);
    let fill = 0;
    let crc = 0;
    let done = 0;
    let inflated = 0;
    try {
      await pipeline(
        fs.createReadStream(job.path, {
          start: job.start,
          end: job.start + job.deflatedSize - 1,
          highWaterMark: STREAM_CHUNK,
        }),
        async function* (source) {
          for await (const data of source) {
            deflatedRead += data.length;
            yield data;
          }
        },
        zlib.createInflateRaw(),
        async (source) => {
          for await (const data of source) {
            inflated += data.length;
            if (inflated > job.size) {
              failure = {
                ok: false,
                problem: 'inflate',
                detail: 'it inflates to more than ' + job.size + ' bytes',
              };
              throw new Error(failure.detail);
            }
            let at = 0;
            while (at < data.length) {
              const n = Math.min(STREAM_CHUNK - fill, data.length - at);
              data.copy(chunk, fill, at, at + n);
              fill += n;
              at += n;
              if (fill === STREAM_CHUNK || done + fill === job.size) {
                crc = crc32(chunk.subarray(0, fill), crc);
                hasher.update(chunk.subarray(0, fill));
                done += fill;
                deflater.push(chunk.subarray(0, fill), done === job.size);
                fill = 0;
              }
            }
          }
        },
      );
    } catch (error) {
      if (failure !== null) return failure;
      if (deflatedRead < job.deflatedSize)
        return { ok: false, problem: 'inflate', detail: 'its deflated data is truncated' };
      if (error && typeof error.code === 'string' && error.code.startsWith('Z_'))
        return { ok: false, problem: 'inflate', detail: notInflating(job, error.message) };
      throw error;
    }
    if (deflatedRead < job.deflatedSize)
      return { ok: false, problem: 'inflate', detail: 'its deflated data is truncated' };
    if (inflated !== job.size) {
      return {
        ok: false,
        problem: 'inflate',
        detail: 'it inflates to ' + inflated + ' bytes, not ' + job.size,
      };
    }
    if (job.expectedCrc !== null && crc !== job.expectedCrc) return { ok: false, problem: 'crc' };
    const changed = hasher.check();
    if (changed !== null) return changed;
    const method = compressedSize < job.size ? 8 : 0;
    if (method === 0) {
      fs.ftruncateSync(out, HEADER_SIZE);
      compressedSize = job.size;
    }
    const dataHash = method === 8 ? dataHasher.digest() : xxhash.h64Raw(EMPTY);
    const bytes = header(job.cacheFile, dataHash, method, crc, job.size, compressedSize);
    fs.writeSync(out, bytes, 0, HEADER_SIZE, 0);
    fs.closeSync(out);
    out = undefined;
    fs.renameSync(temp, job.cacheFile);
    kept = true;
    return { ok: true, method, crc32: crc, compressedSize };
  } finally {
    if (out !== undefined) fs.closeSync(out);
    if (!kept) fs.rmSync(temp, { force: true });
  }
}
parentPort.on('message', (message) => {
  // A worker runs one job at a time (the pool sends the next one on the reply), so an
  // asynchronous job (runInflateStreamed) never overlaps another.
  Promise.resolve()
    .then(() => run(message.job))
    .then(
      (outcome) => parentPort.postMessage({ id: message.id, outcome }),
      (error) =>
        parentPort.postMessage({ id: message.id, error: String((error && error.stack) || error) }),
    );
});
`;

interface QueuedJob {
  id: number;
  job: DeflateJob;
  resolve: (outcome: DeflateOutcome) => void;
  reject: (error: unknown) => void;
}

interface Reply {
  id: number;
  outcome?: DeflateOutcome;
  error?: string;
}

/**
 * A few worker threads that run {@link DeflateJob}s. Workers start on the first job, so a
 * rebuild that deflates nothing large pays nothing for them. `close()` ends them.
 */
export class DeflatePool {
  readonly #size: number;
  readonly #idle: Worker[] = [];
  readonly #all = new Set<Worker>();
  readonly #queue: QueuedJob[] = [];
  readonly #running = new Map<Worker, QueuedJob>();
  #nextId = 0;
  #closed = false;

  constructor(size = Math.max(1, Math.min(4, availableParallelism()))) {
    this.#size = size;
  }

  run(job: DeflateJob): Promise<DeflateOutcome> {
    if (this.#closed) return Promise.reject(new Error('DeflatePool is closed'));
    return new Promise((resolve, reject) => {
      this.#queue.push({ id: this.#nextId++, job, resolve, reject });
      this.#pump();
    });
  }

  async close(): Promise<void> {
    this.#closed = true;
    const error = new Error('DeflatePool closed');
    for (const queued of this.#queue.splice(0)) queued.reject(error);
    for (const queued of this.#running.values()) queued.reject(error);
    this.#running.clear();
    const workers = [...this.#all];
    this.#all.clear();
    this.#idle.length = 0;
    await Promise.all(workers.map((worker) => worker.terminate()));
  }

  #pump(): void {
    while (this.#queue.length > 0 && !this.#closed) {
      let worker = this.#idle.pop();
      if (worker === undefined && this.#all.size < this.#size) worker = this.#spawn();
      if (worker === undefined) return;
      const queued = this.#queue.shift() as QueuedJob;
      this.#running.set(worker, queued);
      worker.postMessage({ id: queued.id, job: queued.job });
    }
  }

  #spawn(): Worker {
    const worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: {
        fflatePath: resolveFflate(),
        xxhashPath: resolveXxhash(),
        magic: CACHE_MAGIC,
        headerSize: CACHE_HEADER_SIZE,
        fieldsSize: CACHE_FIELDS_SIZE,
        streamThreshold: STREAM_THRESHOLD,
        streamChunk: STREAM_CHUNK,
        ownerTag: ownerTag(),
      },
      // A small young generation makes the worker collect its per-job buffers early.
      resourceLimits: { maxYoungGenerationSizeMb: 4 },
    });
    this.#all.add(worker);
    worker.on('message', (reply: Reply) => {
      const queued = this.#running.get(worker);
      this.#running.delete(worker);
      this.#idle.push(worker);
      if (queued?.id === reply.id) {
        if (reply.outcome !== undefined) queued.resolve(reply.outcome);
        else queued.reject(new Error(`deflate worker failed: ${reply.error ?? 'unknown error'}`));
      }
      this.#pump();
    });
    worker.on('error', (error) => {
      const queued = this.#running.get(worker);
      this.#running.delete(worker);
      this.#all.delete(worker);
      queued?.reject(error);
      this.#pump();
    });
    return worker;
  }
}
