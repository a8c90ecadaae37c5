import { createHash } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  buildError,
  configError,
  mapLimit,
  runProcess,
  temporaryName,
  writeFileAtomic,
  type ProcessRunner,
} from '@lbuild/core';
import type { BytecodeMode, PycCompiler, PycResult, PySource } from './bytecode.js';

/**
 * What of an interpreter decides the bytes of the pycs it writes: the compiler of its full
 * version, the format its magic number names, and the file names its cache tag gives. Its path
 * does not: the same Python elsewhere writes the same bytes.
 */
export interface BytecodeIdentity {
  version: string;
  implementation: string;
  magic: string;
  cacheTag: string;
}

/** The interpreter that compiles, as probed (see findRuntimePython). */
export interface CompilingPython {
  executable: string;
  version: string;
  implementation: string;
  magic?: string | undefined;
  cacheTag?: string | undefined;
}

export function bytecodeIdentity(python: CompilingPython): BytecodeIdentity {
  if (python.magic === undefined || python.cacheTag === undefined) {
    throw configError(
      'runtime-python-not-found',
      `${python.executable} (Python ${python.version}) names no bytecode magic number or cache tag, so it cannot compile the bundle's bytecode.`,
      { hint: 'Set runtime-python to a standard CPython of the runtime version.' },
    );
  }
  return {
    version: python.version,
    implementation: python.implementation,
    magic: python.magic,
    cacheTag: python.cacheTag,
  };
}

/** Where Lambda extracts a function's zip: the root of the paths pycs name their sources by. */
export const LAMBDA_TASK_ROOT = '/var/task';

/** Bumped when what the compiler writes for the same key changes (the script, the cache file). */
export const BYTECODE_FORMAT = 'pyc-hash/1';

/** Sources per interpreter process: bounds the batch files, not the result (see compile). */
const BATCH_FILES = 1000;

/**
 * Compiles a batch file of sources into hash-based pycs (PEP 552), each as py_compile writes it
 * with `dfile` and `optimize=0`: magic number, flags (hash-based, and check_source for
 * checked-hash), the source's hash, the marshalled code. Results are written and flushed one at a
 * time, so after a crash the ones before it stand. A source that does not compile gets its error.
 */
const COMPILE_SCRIPT = String.raw`
import importlib.util, json, marshal, platform, struct, sys, warnings
warnings.simplefilter("ignore")
source_file, out_file, checked = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
print(json.dumps({
    "version": platform.python_version(),
    "implementation": sys.implementation.name,
    "magic": importlib.util.MAGIC_NUMBER.hex(),
    "cacheTag": sys.implementation.cache_tag,
}), flush=True)
flags = struct.pack("<I", 0b01 | (0b10 if checked else 0))
with open(source_file, "rb") as f:
    data = f.read()
pos = 0
with open(out_file, "wb") as out:
    while pos < len(data):
        (n,) = struct.unpack_from("<I", data, pos)
        dfile = data[pos + 4:pos + 4 + n].decode("utf-8")
        pos += 4 + n
        (n,) = struct.unpack_from("<I", data, pos)
        source = data[pos + 4:pos + 4 + n]
        pos += 4 + n
        try:
            code = compile(source, dfile, "exec", dont_inherit=True, optimize=0)
            body = importlib.util.MAGIC_NUMBER + flags + importlib.util.source_hash(source) + marshal.dumps(code)
            status = 0
            del code
        except Exception as e:
            line = getattr(e, "lineno", None)
            body = ("%s: %s%s" % (type(e).__name__, getattr(e, "msg", None) or e, "" if line is None else " (line %d)" % line)).encode("utf-8", "replace")
            status = 1
        out.write(struct.pack("<BI", status, len(body)) + body)
        out.flush()
`;

export interface PycCompilerOptions {
  python: CompilingPython;
  mode: BytecodeMode;
  /**
   * Where the bundle is on Lambda (`/var/task`): a pyc's code names its source there
   * (`/var/task/pkg/mod.py`), never on the build machine.
   */
  root: string;
  /** The cache of pycs by what decides their bytes, shared by builds and bundles. */
  cacheDir: string;
  runner?: ProcessRunner;
}

/**
 * Compiles with the runtime's interpreter, in fresh processes (`PYTHONHASHSEED=0`, no site), and
 * keeps each result in a cache under SHA-256 of what decides its bytes: format, interpreter
 * identity, mode, the source's path on Lambda and its content key. A cache file is the result
 * behind its own SHA-256 (over the key too), checked on every read: a damaged or moved file is a
 * miss, compiled again.
 *
 * A pyc must depend on its cache key alone, or an incremental build (some pycs from the cache)
 * could differ from a clean one. marshal sets its reference flags by reference counts, which in
 * principle other objects in the process could change; in practice what one compile leaves behind
 * (interned names, always flagged, and the interpreter's immortal or cached constants) does not
 * change another file's bytes: numpy's 487 files compiled in one process, in reverse order, and
 * one process per file give the same bytes, and tests compare a warm build with a clean one.
 */
export function createPycCompiler(options: PycCompilerOptions): PycCompiler {
  const identity = bytecodeIdentity(options.python);
  const runner = options.runner ?? runProcess;
  const keyOf = (source: PySource): string =>
    createHash('sha256')
      .update(
        JSON.stringify([
          BYTECODE_FORMAT,
          identity,
          options.mode,
          dfileOf(options.root, source.path),
          source.key,
        ]),
      )
      .digest('hex');
  const fileOf = (key: string) => join(options.cacheDir, key.slice(0, 2), key);

  return {
    cacheTag: identity.cacheTag,
    async compile(sources, signal) {
      const keys = sources.map(keyOf);
      const results: (PycResult | undefined)[] = await mapLimit(keys, 16, (key) =>
        readCached(fileOf(key), key),
      );
      const missing = sources.flatMap((source, i) =>
        results[i] === undefined ? [{ source, index: i }] : [],
      );
      for (let start = 0; start < missing.length; start += BATCH_FILES) {
        const batch = missing.slice(start, start + BATCH_FILES);
        const compiled = await compileBatch(
          batch.map((m) => m.source),
          { ...options, identity, runner },
          signal,
        );
        await mapLimit(batch, 16, async ({ index }, i) => {
          const result = compiled[i];
          const key = keys[index];
          if (result === undefined || key === undefined) return;
          results[index] = result;
          await writeCached(fileOf(key), key, result);
        });
      }
      return results.map((result) => {
        if (result === undefined) throw new Error('internal: a source was not compiled');
        return result;
      });
    },
  };
}

/** The path a pyc's code names as its source: where the file is on Lambda. */
export function dfileOf(root: string, path: string): string {
  return `${root.replace(/\/+$/, '')}/${path}`;
}

function cacheDigest(key: string, body: Buffer): Buffer {
  return createHash('sha256').update(key).update(body).digest();
}

/** A cache file: SHA-256 of key and body, then the body: status (0 pyc, 1 error) and payload. */
async function readCached(file: string, key: string): Promise<PycResult | undefined> {
  let data: Buffer;
  try {
    data = await readFile(file);
  } catch {
    return undefined;
  }
  if (data.length < 33) return undefined;
  const body = data.subarray(32);
  if (!cacheDigest(key, body).equals(data.subarray(0, 32))) return undefined;
  const payload = Buffer.from(body.subarray(1));
  if (body[0] === 0) return { ok: true, pyc: payload };
  if (body[0] === 1) return { ok: false, error: payload.toString('utf8') };
  return undefined;
}

async function writeCached(file: string, key: string, result: PycResult): Promise<void> {
  const body = Buffer.concat([
    Buffer.from([result.ok ? 0 : 1]),
    result.ok ? result.pyc : Buffer.from(result.error, 'utf8'),
  ]);
  await mkdir(join(file, '..'), { recursive: true });
  await writeFileAtomic(file, Buffer.concat([cacheDigest(key, body), body]));
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n);
  return b;
}

/**
 * Compiles `sources` in as many processes as it takes: one, unless the interpreter dies on a
 * source (a crash in the compiler), which then gets that as its error and the rest go on in a
 * new process.
 */
async function compileBatch(
  sources: readonly PySource[],
  options: PycCompilerOptions & { identity: BytecodeIdentity; runner: ProcessRunner },
  signal: AbortSignal | undefined,
): Promise<PycResult[]> {
  const contents = await mapLimit(sources, 16, (source) => source.read());
  const tmpDir = join(options.cacheDir, 'tmp');
  await mkdir(tmpDir, { recursive: true });
  const results: PycResult[] = [];
  while (results.length < sources.length) {
    const done = results.length;
    const input = temporaryName(tmpDir, 'sources');
    const output = temporaryName(tmpDir, 'pycs');
    try {
      const parts: Buffer[] = [];
      for (let i = done; i < sources.length; i++) {
        const dfile = Buffer.from(dfileOf(options.root, sources[i]?.path ?? ''), 'utf8');
        const content = contents[i] ?? Buffer.alloc(0);
        parts.push(u32(dfile.length), dfile, u32(content.length), content);
      }
      await writeFile(input, Buffer.concat(parts));
      const run = await options.runner({
        file: options.python.executable,
        args: [
          '-S',
          '-B',
          '-c',
          COMPILE_SCRIPT,
          input,
          output,
          options.mode === 'checked-hash' ? '1' : '0',
        ],
        cwd: tmpDir,
        // The whole environment: nothing of the build machine's (PYTHONOPTIMIZE, PYTHONPATH, a
        // random hash seed that orders sets) reaches the compiler.
        env: { PYTHONHASHSEED: '0' },
        ...(signal ? { signal } : {}),
      });
      checkIdentity(run.stdout, options, run.stderr, run.spawnError);
      const parsed = parseResults(await readFile(output).catch(() => Buffer.alloc(0)));
      results.push(...parsed.slice(0, sources.length - done));
      if (run.exitCode === 0 && results.length < sources.length) {
        throw buildError(
          'bytecode-compiler-failed',
          `The runtime Python ${options.python.executable} stopped compiling after ${results.length} of ${sources.length} files without an error.`,
        );
      }
      if (run.exitCode !== 0 && results.length < sources.length) {
        const how =
          run.signal !== undefined
            ? `was killed by ${run.signal}`
            : `exited with ${String(run.exitCode)}`;
        const detail = run.stderr.trim().split('\n').slice(-1)[0] ?? '';
        results.push({
          ok: false,
          error: `the compiler ${how}${detail === '' ? '' : `: ${detail}`}`,
        });
      }
    } finally {
      await rm(input, { force: true });
      await rm(output, { force: true });
    }
  }
  return results;
}

/** The interpreter that ran must be the one the fingerprint names, or its pycs would not be. */
function checkIdentity(
  stdout: string,
  options: { identity: BytecodeIdentity; python: CompilingPython },
  stderr: string,
  spawnError: string | undefined,
): void {
  let ran: Partial<BytecodeIdentity> | undefined;
  try {
    ran = JSON.parse(stdout.split('\n')[0] ?? '') as Partial<BytecodeIdentity>;
  } catch {
    ran = undefined;
  }
  if (ran === undefined) {
    const detail = spawnError ?? stderr.trim().split('\n').slice(-3).join(' ');
    throw buildError(
      'bytecode-compiler-failed',
      `The runtime Python ${options.python.executable} did not start to compile bytecode${detail === '' ? '' : `: ${detail}`}.`,
      { hint: 'Check that runtime-python (or pythonX.Y on PATH) runs.' },
    );
  }
  const expected = options.identity;
  if (
    ran.version !== expected.version ||
    ran.magic !== expected.magic ||
    ran.cacheTag !== expected.cacheTag ||
    ran.implementation !== expected.implementation
  ) {
    throw buildError(
      'input-changed-during-run',
      `The runtime Python ${options.python.executable} changed while the bundle was built (Python ${expected.version}, magic ${expected.magic} when planned; Python ${String(ran.version)}, magic ${String(ran.magic)} now); run lbuild again.`,
    );
  }
}

function parseResults(data: Buffer): PycResult[] {
  const results: PycResult[] = [];
  let pos = 0;
  while (pos + 5 <= data.length) {
    const status = data.readUInt8(pos);
    const length = data.readUInt32LE(pos + 1);
    if (pos + 5 + length > data.length) break;
    const payload = Buffer.from(data.subarray(pos + 5, pos + 5 + length));
    results.push(
      status === 0 ? { ok: true, pyc: payload } : { ok: false, error: payload.toString('utf8') },
    );
    pos += 5 + length;
  }
  return results;
}
