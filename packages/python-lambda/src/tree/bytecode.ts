/**
 * Bytecode in the bundle: which files get a `.pyc`, where it goes, and what compiles it. The
 * compiling itself (an interpreter of the runtime's version, a cache) is behind {@link PycCompiler},
 * so the tree only decides paths and RECORD rows.
 */

/** `bytecode` of a bundle that compiles: PEP 552's two hash-based kinds of pyc. */
export type BytecodeMode = 'unchecked-hash' | 'checked-hash';

/** A `.py` file of the bundle to compile. */
export interface PySource {
  /** Its path in the zip. */
  path: string;
  /** Names its content, as a tree entry's contentKey does: equal keys mean equal bytes. */
  key: string;
  /** Its bytes; a reader that finds other bytes than `key` names throws. */
  read(): Promise<Buffer>;
}

/** What compiling one source gave: the pyc, or why it did not compile. */
export type PycResult = { ok: true; pyc: Buffer } | { ok: false; error: string };

/** Compiles sources into pycs for one interpreter and mode. */
export interface PycCompiler {
  /** `sys.implementation.cache_tag` of the interpreter, e.g. `cpython-312`. */
  readonly cacheTag: string;
  /** One result per source, in order. */
  compile(sources: readonly PySource[], signal?: AbortSignal): Promise<PycResult[]>;
}

/** A `.py` file that gets no pyc: it does not compile under the runtime's Python. */
export interface UncompiledFile {
  path: string;
  error: string;
}

/** Whether a file of the bundle is compiled: every `.py`, as pip compiles what it installs. */
export const isPySource = (path: string): boolean => /(?:^|\/)[^/]+\.py$/.test(path);

/**
 * Where the pyc of `path` goes, as `importlib.util.cache_from_source` names it without
 * optimization: `pkg/mod.py` → `pkg/__pycache__/mod.cpython-312.pyc`.
 */
export function pycPath(path: string, cacheTag: string): string {
  const slash = path.lastIndexOf('/');
  const dir = path.slice(0, slash + 1);
  const base = path.slice(slash + 1, -'.py'.length);
  return `${dir}__pycache__/${base}.${cacheTag}.pyc`;
}
