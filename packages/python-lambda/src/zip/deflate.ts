import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type * as Fflate from 'fflate';
import { LbuildError } from '@lbuild/core';
import { FFLATE_VERSION } from './format.js';

/*
 * Why fflate and not Node's zlib (nor yazl, which deflates with Node's zlib): the bytes a
 * deflater produces are not fixed by the format, only by the implementation. Node bundles its own
 * zlib fork (Chromium's, with SIMD paths chosen at run time by CPU features) and has changed it
 * between releases, so the same input can deflate differently on another machine or Node
 * version. fflate is plain JavaScript: pinned to one version, its output depends only on the
 * input and the options. Inflating is safe with any implementation (its output is fixed by the
 * input), so wheel entries are inflated with Node's zlib.
 *
 * The main thread and the workers load the same file (the CommonJS build that `require`
 * resolves), so a content deflates to the same bytes wherever it runs.
 */
const require = createRequire(import.meta.url);
const FFLATE_PATH = require.resolve('fflate');
const fflate = require(FFLATE_PATH) as typeof Fflate;

let versionChecked = false;

/** Throws when the installed fflate is not the one {@link ZIP_FORMAT_ID} names. */
export function checkFflateVersion(): void {
  if (versionChecked) return;
  const packageJson = join(dirname(FFLATE_PATH), '..', 'package.json');
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
  return fflate.deflateSync(data, { level: level as Fflate.DeflateOptions['level'] });
}

// Plain CommonJS, run with `eval: true` so that it works both from the TypeScript sources (tests)
// and from the compiled package, without a separate worker file to locate.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const fflate = require(workerData.fflatePath);
parentPort.on('message', (job) => {
  try {
    const out = fflate.deflateSync(job.data, { level: job.level });
    parentPort.postMessage({ id: job.id, out }, [out.buffer]);
  } catch (error) {
    parentPort.postMessage({ id: job.id, error: String((error && error.stack) || error) });
  }
});
`;

interface Job {
  id: number;
  data: Uint8Array;
  level: number;
  resolve: (out: Uint8Array) => void;
  reject: (error: unknown) => void;
}

interface Reply {
  id: number;
  out?: Uint8Array;
  error?: string;
}

/**
 * A few worker threads that deflate with fflate. Workers start on the first job, so a rebuild
 * that compresses nothing large pays nothing for them. `close()` ends them.
 */
export class DeflatePool {
  readonly #size: number;
  readonly #idle: Worker[] = [];
  readonly #all: Worker[] = [];
  readonly #queue: Job[] = [];
  readonly #running = new Map<Worker, Job>();
  #nextId = 0;
  #closed = false;

  constructor(size = Math.max(1, Math.min(4, availableParallelism()))) {
    this.#size = size;
  }

  deflate(data: Uint8Array, level: number): Promise<Uint8Array> {
    if (this.#closed) return Promise.reject(new Error('DeflatePool is closed'));
    return new Promise((resolve, reject) => {
      this.#queue.push({ id: this.#nextId++, data, level, resolve, reject });
      this.#pump();
    });
  }

  async close(): Promise<void> {
    this.#closed = true;
    const error = new Error('DeflatePool closed');
    for (const job of this.#queue.splice(0)) job.reject(error);
    for (const job of this.#running.values()) job.reject(error);
    this.#running.clear();
    await Promise.all(this.#all.map((worker) => worker.terminate()));
  }

  #pump(): void {
    while (this.#queue.length > 0) {
      let worker = this.#idle.pop();
      if (worker === undefined && this.#all.length < this.#size) worker = this.#spawn();
      if (worker === undefined) return;
      const job = this.#queue.shift() as Job;
      this.#running.set(worker, job);
      const transferable =
        job.data.byteOffset === 0 && job.data.byteLength === job.data.buffer.byteLength ? job.data : job.data.slice();
      worker.postMessage({ id: job.id, data: transferable, level: job.level }, [transferable.buffer as ArrayBuffer]);
    }
  }

  #spawn(): Worker {
    const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { fflatePath: FFLATE_PATH } });
    this.#all.push(worker);
    worker.on('message', (reply: Reply) => {
      const job = this.#running.get(worker);
      this.#running.delete(worker);
      this.#idle.push(worker);
      if (job?.id === reply.id) {
        if (reply.out !== undefined) job.resolve(reply.out);
        else job.reject(new Error(`deflate worker failed: ${reply.error ?? 'unknown error'}`));
      }
      this.#pump();
    });
    worker.on('error', (error) => {
      const job = this.#running.get(worker);
      this.#running.delete(worker);
      job?.reject(error);
    });
    return worker;
  }
}
