import { parentPort } from 'node:worker_threads';
import { loadContentHash } from './content-hash.js';
import { runDeflateJob } from './deflate-job.js';
import type { DeflateJob, DeflateOutcome } from './deflate-job.js';

/*
 * The deflate worker thread (see DeflatePool in deflate.ts). It runs the whole job (read and
 * inflate, CRC and content hash, deflate, write the cache file), so content never crosses threads
 * and the main thread allocates nothing for it. Built as its own entry: dist/zip/deflate-worker.js
 * beside deflate.js, and deflate-worker.cjs beside the CLI's bundle.
 */

export interface JobMessage {
  id: number;
  job: DeflateJob;
  /** The temporary name to write the cache file through (named by the main thread). */
  temp: string;
}

export interface Reply {
  id: number;
  outcome?: DeflateOutcome;
  error?: string;
}

const port = parentPort;
if (port === null) throw new Error('deflate-worker runs as a worker thread (see DeflatePool)');
const ready = loadContentHash();

port.on('message', (message: JobMessage) => {
  // A worker runs one job at a time (the pool sends the next one on the reply), so an
  // asynchronous job never overlaps another.
  ready
    .then(() => runDeflateJob(message.job, message.temp))
    .then(
      (outcome) => port.postMessage({ id: message.id, outcome } satisfies Reply),
      (error: unknown) =>
        port.postMessage({
          id: message.id,
          error: error instanceof Error ? (error.stack ?? error.message) : String(error),
        } satisfies Reply),
    );
});
