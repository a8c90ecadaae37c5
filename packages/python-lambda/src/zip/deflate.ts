import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { LbuildError, temporaryName } from '@lbuild/core';
import { deflateWhole } from './deflate-job.js';
import type { DeflateJob, DeflateOutcome } from './deflate-job.js';
import type { JobMessage, Reply } from './deflate-worker.js';
import { resolveFflate } from './fflate.js';
import { FFLATE_VERSION } from './format.js';

export { STREAM_CHUNK, STREAM_THRESHOLD } from './deflate-job.js';
export type { DeflateJob, DeflateOutcome } from './deflate-job.js';
export { deflateHere } from './fflate.js';

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

/** Where a job's cache file is written before it is renamed into place. */
function temporaryFor(job: DeflateJob): string {
  return temporaryName(job.tempDir ?? dirname(job.cacheFile), basename(job.cacheFile));
}

/**
 * Runs a job on the calling thread; contents over STREAM_THRESHOLD go to a {@link DeflatePool}.
 * loadContentHash() must have been awaited.
 */
export function deflateToCacheHere(job: DeflateJob): DeflateOutcome {
  return deflateWhole(job, temporaryFor(job));
}

/**
 * The worker's file: deflate-worker.ts compiled the way this module was, beside it
 * (dist/zip/deflate-worker.js beside dist/zip/deflate.js; deflate-worker.cjs beside the CLI's
 * bundle lbuild.cjs, which this module is then part of). Node 20 runs no TypeScript, so when this
 * module runs from its sources (the tests) the worker is the package's compiled one.
 */
export function deflateWorkerUrl(from: string = import.meta.url): URL {
  if (/\.[cm]?ts$/.test(from)) return new URL('../../dist/zip/deflate-worker.js', from);
  const extension = /\.[cm]?js$/.exec(from)?.[0] ?? '.js';
  return new URL(`./deflate-worker${extension}`, from);
}

interface QueuedJob {
  id: number;
  job: DeflateJob;
  resolve: (outcome: DeflateOutcome) => void;
  reject: (error: unknown) => void;
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
      worker.postMessage({
        id: queued.id,
        job: queued.job,
        temp: temporaryFor(queued.job),
      } satisfies JobMessage);
    }
  }

  #spawn(): Worker {
    const worker = new Worker(deflateWorkerUrl(), {
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
