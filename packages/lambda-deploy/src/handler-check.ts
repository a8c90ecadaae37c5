import { basename } from 'node:path';
import type { Readable } from 'node:stream';
import yauzl from 'yauzl';
import type { Entry, ZipFile } from 'yauzl';
import { closest } from '@lbuild/core';
import type { Described } from '@lbuild/core';

export type HandlerCheck =
  | {
      ok: true;
      /** The zip entry that provides the module, e.g. `pkg/api.py`. */
      moduleFile: string;
      /** Set when the function could not be confirmed but may well exist (star import, `__getattr__`, …). */
      note?: string;
    }
  | { ok: false; failure: Described<'config', 'handler-invalid' | 'handler-not-found'> };

/** Largest module source read to look for the function. */
const MAX_SOURCE_BYTES = 8 * 1024 * 1024;
const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Layers the handler's module may come from. */
export interface HandlerLayers {
  /** Zips of the project's layers, in the function's order: their modules are under `python/`. */
  zips?: { label: string; path: string }[];
  /** Layers lbuild cannot look into (version ARNs): a module not found may be in one of them. */
  unseen?: string[];
}

/** Where Lambda's Python runtimes put a layer's `python/` folders on sys.path (under /opt). */
function layerModuleRoots(entries: Iterable<string>): string[] {
  const roots = new Set<string>(['python/']);
  for (const name of entries) {
    const site = /^(python\/lib\/python3\.\d+\/site-packages\/)/.exec(name)?.[1];
    if (site) roots.add(site);
  }
  return [...roots];
}

/**
 * Checks, without any network, that a Python handler `a.b.c.fn` exists in a zip: a module
 * `a/b/c.py` (or a package `a/b/c/__init__.py`, a compiled extension `a/b/c.*.so`, or
 * sourceless `a/b/c.pyc`) and, for a `.py` source, a top-level binding of `fn` (`def`,
 * `async def`, assignment, class or import). A failure names what is missing and what is there.
 * Runtimes other than Python are not checked. With `layers`, a module the zip does not have
 * may come from a layer's `python/` folder, as Lambda puts it on sys.path after the code.
 */
export async function checkHandlerInZip(
  zipPath: string,
  handler: string,
  runtime?: string,
  layers: HandlerLayers = {},
): Promise<HandlerCheck> {
  if (runtime !== undefined && !runtime.startsWith('python')) {
    return {
      ok: true,
      moduleFile: '',
      note: `runtime ${runtime} is not Python: handler not checked`,
    };
  }
  const zipName = basename(zipPath);
  const dot = handler.lastIndexOf('.');
  const modulePart = dot > 0 ? handler.slice(0, dot) : '';
  const fn = dot > 0 ? handler.slice(dot + 1) : '';
  const moduleSegments = modulePart.split(/[./]/);
  if (!IDENT.test(fn) || moduleSegments.some((s) => !IDENT.test(s))) {
    return fail(
      'handler-invalid',
      `handler "${handler}" is not a Python handler: Lambda expects MODULE.FUNCTION, e.g. "app.handler" for def handler(event, context) in app.py`,
      'set handler = "MODULE.FUNCTION"',
    );
  }
  const modulePath = moduleSegments.join('/');
  const moduleName = moduleSegments.join('.');

  const zip = await yauzl.openPromise(zipPath, { lazyEntries: true, autoClose: false });
  try {
    const entries = new Map<string, Entry>();
    for await (const entry of zip.eachEntry()) entries.set(entry.fileName, entry);

    const module = { handler, modulePart, modulePath, fn };
    const inZip = await findModule(zip, entries, '', zipName, module);
    if (inZip) return inZip;
    for (const layer of layers.zips ?? []) {
      const found = await findInLayer(layer, module);
      if (found) return found;
    }
    if (layers.unseen?.length) {
      return {
        ok: true,
        moduleFile: '',
        note: `module ${moduleName} is not in ${zipName}${layers.zips?.length ? ' or its layers' : ''}; it may come from ${layers.unseen.join(', ')} (not checked)`,
      };
    }

    // The module is missing: say what was looked for and what is there.
    const modules = moduleNames([...entries.keys()]);
    const suggestion = closest(moduleName, modules) ?? caseInsensitive(moduleName, modules);
    const nested = [...entries.keys()].find((name) => name.endsWith(`/${modulePath}.py`));
    let hint: string;
    if (suggestion !== undefined) {
      hint = `did you mean handler = "${suggestion}.${fn}"?`;
    } else if (nested !== undefined) {
      const prefix = nested.slice(0, -`${modulePath}.py`.length).replace(/\/$/, '');
      hint = `${nested} is in ${prefix}/ inside the zip: use handler = "${prefix.replaceAll('/', '.')}.${moduleName}.${fn}", or put the module at the top of the zip`;
    } else {
      const top = modules.filter((m) => !m.includes('.'));
      hint =
        top.length > 0
          ? `Python modules at the top of the zip: ${list(top)}`
          : `${zipName} has no Python modules at its top level`;
    }
    const inLayers = layers.zips?.length
      ? ` or under python/ in ${layers.zips.map((l) => l.label).join(', ')}`
      : '';
    return fail(
      'handler-not-found',
      `handler "${handler}": module ${moduleName} is not in ${zipName}${inLayers} (looked for ${modulePath}.py, ${modulePath}/__init__.py and ${modulePath}.*.so)`,
      hint,
    );
  } finally {
    zip.close();
  }
}

interface ModuleQuery {
  handler: string;
  modulePart: string;
  modulePath: string;
  fn: string;
}

/** Looks for the handler's module in a layer zip's module roots; undefined when it is not there. */
async function findInLayer(
  layer: { label: string; path: string },
  module: ModuleQuery,
): Promise<HandlerCheck | undefined> {
  const zip = await yauzl.openPromise(layer.path, { lazyEntries: true, autoClose: false });
  try {
    const entries = new Map<string, Entry>();
    for await (const entry of zip.eachEntry()) entries.set(entry.fileName, entry);
    for (const root of layerModuleRoots(entries.keys())) {
      const found = await findModule(zip, entries, root, layer.label, module);
      if (found) return found;
    }
    return undefined;
  } finally {
    zip.close();
  }
}

/**
 * The module `prefix + modulePath` in a zip: checked for the function when it is a source, taken
 * on trust when compiled; undefined when the zip does not have it.
 */
async function findModule(
  zip: ZipFile,
  entries: Map<string, Entry>,
  prefix: string,
  zipName: string,
  { handler, modulePart, modulePath, fn }: ModuleQuery,
): Promise<HandlerCheck | undefined> {
  const path = `${prefix}${modulePath}`;
  const where = (file: string) => (prefix === '' ? file : `${file} in ${zipName}`);
  const source = entries.get(`${path}.py`) ?? entries.get(`${path}/__init__.py`);
  if (source) {
    const text = await readText(zip, source);
    const found = findBinding(text, fn);
    if (found.kind === 'found') return { ok: true, moduleFile: where(source.fileName) };
    if (found.kind === 'maybe')
      return { ok: true, moduleFile: where(source.fileName), note: found.note };
    const defined = topLevelNames(text);
    const functions = defined.filter((d) => d.def).map((d) => d.name);
    const names = defined.map((d) => d.name);
    const suggestion = closest(fn, functions) ?? closest(fn, names) ?? caseInsensitive(fn, names);
    const what =
      functions.length > 0
        ? ` (functions defined there: ${list(functions)})`
        : ' (it defines no top-level functions)';
    return fail(
      'handler-not-found',
      `handler "${handler}": ${source.fileName} in ${zipName} has no top-level function ${fn}${what}`,
      suggestion !== undefined
        ? `did you mean handler = "${modulePart}.${suggestion}"?`
        : `define def ${fn}(event, context): in ${source.fileName}, or point handler at a function that exists`,
    );
  }
  const extension = [...entries.keys()].find(
    (name) =>
      name === `${path}.pyc` || new RegExp(`^${escapeRe(path)}(\\.[^/]+)?\\.so$`).test(name),
  );
  if (extension !== undefined) {
    return {
      ok: true,
      moduleFile: where(extension),
      note: `${extension} is compiled: function ${fn} not checked`,
    };
  }
  return undefined;
}

function fail(
  reason: 'handler-invalid' | 'handler-not-found',
  message: string,
  hint: string,
): HandlerCheck {
  return { ok: false, failure: { reason, message, hint, kind: 'config' } };
}

function list(names: string[], max = 12): string {
  return names.length > max ? `${names.slice(0, max).join(', ')}, …` : names.join(', ');
}

function escapeRe(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function caseInsensitive(word: string, candidates: readonly string[]): string | undefined {
  return candidates.find((c) => c.toLowerCase() === word.toLowerCase());
}

async function readText(zip: ZipFile, entry: Entry): Promise<string> {
  if (entry.uncompressedSize > MAX_SOURCE_BYTES) return '';
  const stream: Readable = await zip.openReadStreamPromise(entry);
  const chunks: Buffer[] = [];
  for await (const chunk of stream as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks).toString('utf8');
}

/** Dotted module names a zip provides (`pkg.api` for `pkg/api.py`, `pkg` for `pkg/__init__.py`). */
function moduleNames(entries: string[]): string[] {
  const out = new Set<string>();
  for (const name of entries) {
    let path: string | undefined;
    if (name.endsWith('/__init__.py')) path = name.slice(0, -'/__init__.py'.length);
    else if (name.endsWith('.py')) path = name.slice(0, -'.py'.length);
    else if (name.endsWith('.so')) path = name.replace(/(\.[^/.]+)?\.so$/, '');
    if (path === undefined || path.split('/').some((s) => !IDENT.test(s))) continue;
    out.add(path.replaceAll('/', '.'));
  }
  return [...out].sort();
}

/** Removes comments and string contents well enough to scan for bindings line by line. */
function stripStringsAndComments(text: string): string {
  return text
    .replace(/("""|''')[\s\S]*?\1/g, (m) => m.replace(/[^\n]/g, ' '))
    .replace(/("|')(?:\\.|(?!\1)[^\\\n])*\1/g, (m) => ' '.repeat(m.length))
    .replace(/#[^\n]*/g, '');
}

/** Names a top-level import statement binds (joining parenthesised continuation lines). */
function importedNames(statement: string): string[] | '*' {
  const from = /^from\s+\S+\s+import\s+\(?([^)]*)\)?/s.exec(statement);
  const plain = /^import\s+(.*)$/s.exec(statement);
  const body = from?.[1] ?? plain?.[1];
  if (body === undefined) return [];
  if (from && body.trim() === '*') return '*';
  return body
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part !== '' && part !== '\\')
    .map((part) => {
      const alias = /\bas\s+([A-Za-z_][A-Za-z0-9_]*)$/.exec(part);
      if (alias?.[1]) return alias[1];
      // `import a.b` binds `a`
      return part.split(/[.\s]/)[0] ?? part;
    });
}

interface Statement {
  indent: number;
  text: string;
}

function statements(text: string): Statement[] {
  const lines = stripStringsAndComments(text).split('\n');
  const out: Statement[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] ?? '';
    if (line.trim() === '') continue;
    let statement = line;
    // Join parenthesised imports and backslash continuations.
    if (/^\s*(from|import)\b/.test(line)) {
      let depth = (line.match(/\(/g) ?? []).length - (line.match(/\)/g) ?? []).length;
      while ((depth > 0 || statement.trimEnd().endsWith('\\')) && i + 1 < lines.length) {
        i++;
        const next = lines[i] ?? '';
        statement = `${statement.replace(/\\\s*$/, '')} ${next}`;
        depth += (next.match(/\(/g) ?? []).length - (next.match(/\)/g) ?? []).length;
      }
    }
    out.push({ indent: line.length - line.trimStart().length, text: statement.trim() });
  }
  return out;
}

function binds(statement: string, name: string): boolean {
  const n = escapeRe(name);
  if (new RegExp(`^(async\\s+)?def\\s+${n}\\s*\\(`).test(statement)) return true;
  if (new RegExp(`^class\\s+${n}\\b`).test(statement)) return true;
  if (new RegExp(`^${n}\\s*(:[^=]*)?=(?!=)`).test(statement)) return true;
  if (/^(from|import)\b/.test(statement)) {
    const names = importedNames(statement);
    return names !== '*' && names.includes(name);
  }
  return false;
}

function findBinding(
  text: string,
  name: string,
): { kind: 'found' } | { kind: 'maybe'; note: string } | { kind: 'missing' } {
  const all = statements(text);
  if (all.some((s) => s.indent === 0 && binds(s.text, name))) return { kind: 'found' };
  if (all.some((s) => s.indent > 0 && binds(s.text, name))) {
    return {
      kind: 'maybe',
      note: `${name} is only defined inside a block; assuming it is bound at import time`,
    };
  }
  if (all.some((s) => s.indent === 0 && /^from\s+\S+\s+import\s+\*/.test(s.text))) {
    return { kind: 'maybe', note: `${name} may come from a star import; not verified` };
  }
  if (all.some((s) => s.indent === 0 && /^def\s+__getattr__\s*\(/.test(s.text))) {
    return { kind: 'maybe', note: `the module defines __getattr__; ${name} not verified` };
  }
  if (new RegExp(`globals\\(\\)\\s*\\[\\s*\\S*${escapeRe(name)}`).test(text)) {
    return { kind: 'maybe', note: `${name} is set through globals(); not verified` };
  }
  return { kind: 'missing' };
}

/** Top-level functions (`def: true`), classes and assigned names, in source order. */
function topLevelNames(text: string): { name: string; def: boolean }[] {
  const out: { name: string; def: boolean }[] = [];
  for (const s of statements(text)) {
    if (s.indent !== 0) continue;
    const def = /^(?:async\s+)?def\s+([A-Za-z_][A-Za-z0-9_]*)/.exec(s.text)?.[1];
    const other =
      /^class\s+([A-Za-z_][A-Za-z0-9_]*)/.exec(s.text)?.[1] ??
      /^([A-Za-z_][A-Za-z0-9_]*)\s*(?::[^=]*)?=(?!=)/.exec(s.text)?.[1];
    const name = def ?? other;
    if (name !== undefined && !out.some((o) => o.name === name))
      out.push({ name, def: def !== undefined });
  }
  return out;
}
