import { createRequire } from 'node:module';
import type * as Fflate from 'fflate';

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
 * The main thread and the deflate workers resolve it from files that sit side by side (the
 * package's modules, or the CLI's bundle and its worker bundle), so both load the same file: the
 * CommonJS build that `require` resolves. A content deflates to the same bytes wherever it runs.
 */
const require = createRequire(import.meta.url);
// Resolved and loaded on first use: importing this module (for its constants, say, in a no-op
// check) costs nothing.
let fflatePath: string | undefined;
let fflateModule: typeof Fflate | undefined;

/** The file `require('fflate')` loads. */
export function resolveFflate(): string {
  return (fflatePath ??= require.resolve('fflate'));
}

export function fflate(): typeof Fflate {
  return (fflateModule ??= require(resolveFflate()) as typeof Fflate);
}

/** Deflates on the calling thread. */
export function deflateHere(data: Uint8Array, level: number): Uint8Array {
  return fflate().deflateSync(data, { level: level as Fflate.DeflateOptions['level'] });
}
