import { readdirSync, realpathSync, type Dirent } from 'node:fs';
import picomatch from 'picomatch';
import { isDynamicPattern } from 'tinyglobby';
import { configError } from './failure.js';
import { statFile } from './file-state.js';
import type { InputSpec } from './target.js';

export interface ExpandedInputs {
  /** Per spec id (see {@link specId}), the root-relative files it matched, sorted. */
  matches: Record<string, string[]>;
  /** All matched files, root-relative, sorted and unique. */
  files: string[];
}

export function specId(spec: InputSpec): string {
  const exclude = spec.exclude?.length ? ` !${spec.exclude.join(',')}` : '';
  return spec.patterns.join(',') + exclude;
}

function compareBytes(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Lists the files a target's input specs match. A plain path names one file that must exist; a
 * plain directory stands for everything below it; globs may match nothing.
 */
export function expandInputs(
  root: string,
  specs: readonly InputSpec[],
  owner: string,
  /** The target's own outputs: a glob that covers them (`inputs = ["."]`) must not make the
   * target's every run change its own inputs. */
  ownOutputs: readonly string[] = [],
  options: ExpandOptions = {},
): ExpandedInputs {
  const isOwnOutput = outputMatcher(ownOutputs);
  const isOtherOutput = outputMatcher(options.otherOutputs ?? []);
  const stateDir = options.stateDir ?? DEFAULT_STATE_DIR;
  const matches: Record<string, string[]> = {};
  const all = new Set<string>();
  for (const spec of specs) {
    const found = new Set<string>();
    const globs: string[] = [];
    for (const pattern of spec.patterns) {
      const clean = pattern.replace(/^\.\//, '').replace(/\/+$/, '');
      if (isDynamicPattern(clean)) {
        globs.push(clean);
        continue;
      }
      const stats = statFile(`${root}/${clean}`);
      if (stats?.isDirectory()) {
        globs.push(`${clean}/**`);
      } else if (stats?.isFile()) {
        found.add(clean);
      } else {
        throw configError(
          'missing-input',
          `missing input \`${pattern}\` of target ${owner}: no such file`,
          {
            hint: 'create the file, fix the path (it is relative to the project root), or use a glob if it may be absent',
            ...(spec.location ? { location: spec.location } : {}),
          },
        );
      }
    }
    const excluded = spec.exclude?.length ? compiledExclude(spec.exclude) : undefined;
    if (globs.length > 0) walkGlobs(root, globs, excluded, found, stateDir);
    if (excluded) {
      // Plain paths are not filtered by the walk; apply the excludes to them too.
      for (const file of found) if (excluded(file)) found.delete(file);
    }
    for (const file of found) {
      if (isOwnOutput(file) || (spec.excludeOutputs === true && isOtherOutput(file)))
        found.delete(file);
    }
    const sorted = [...found].sort(compareBytes);
    matches[specId(spec)] = sorted;
    for (const file of sorted) all.add(file);
  }
  return { matches, files: [...all].sort(compareBytes) };
}

export interface ExpandOptions {
  /**
   * lbuild's own stamps and caches, root-relative (default `.lbuild`): never an input, whatever
   * a glob says (`inputs = ["."]`). Empty when the state directory is outside the project.
   */
  stateDir?: string;
  /** Outputs other targets declare: left out of the specs that say `excludeOutputs`. */
  otherOutputs?: readonly string[];
}

const DEFAULT_STATE_DIR = '.lbuild';

/**
 * Whether a root-relative file is one of `outputs`, lies below one, or is (or lies below) the
 * temporary sibling an atomic write of one goes through (see temporarySibling), which a target
 * running at the same time, or one killed mid-write, leaves next to it.
 */
function outputMatcher(outputs: readonly string[]): (file: string) => boolean {
  const clean = outputs.map((o) => o.replace(/^\.\//, '').replace(/\/+$/, ''));
  if (clean.length === 0) return () => false;
  const temporary = clean.map((o) => {
    const slash = o.lastIndexOf('/');
    return { dir: o.slice(0, slash + 1), prefix: `.${o.slice(slash + 1)}.` };
  });
  return (file) =>
    clean.some((o) => file === o || file.startsWith(o + '/')) ||
    temporary.some((t) => {
      if (!file.startsWith(t.dir)) return false;
      const name = file.slice(t.dir.length).split('/', 1)[0] ?? '';
      return name.startsWith(t.prefix) && name.endsWith('.tmp');
    });
}

/** Globs match dot files too: `.env` and `.github/` are inputs like any other. */
const MATCH = { dot: true, posix: true };

/**
 * Compiled exclude lists, by their patterns: every bundle of a project has the same default
 * excludes, and compiling them once per target was a good part of a no-op check of many bundles.
 */
const excludeMatchers = new Map<string, (path: string) => boolean>();

function compiledExclude(patterns: readonly string[]): (path: string) => boolean {
  const id = patterns.join('\0');
  let matcher = excludeMatchers.get(id);
  if (!matcher) {
    matcher = picomatch([...patterns], MATCH);
    excludeMatchers.set(id, matcher);
  }
  return matcher;
}

/**
 * Whether `exclude` globs cover a relative '/'-separated file path, as an input spec's `exclude`
 * leaves files out of its walk: the path matches, or one of its folders does as `folder/` (the
 * walk does not enter it). For files that are not on disk, such as a wheel's, matched the same way.
 */
export function excludeMatcher(patterns: readonly string[]): (path: string) => boolean {
  if (patterns.length === 0) return () => false;
  const excluded = compiledExclude(patterns);
  return (path) => {
    if (excluded(path)) return true;
    for (let slash = path.indexOf('/'); slash !== -1; slash = path.indexOf('/', slash + 1))
      if (excluded(path.slice(0, slash + 1))) return true;
    return false;
  };
}

/**
 * Adds the files below `root` that the globs match, root-relative. Each glob is walked from its
 * static base (`src` for `src/**\/*.py`), no deeper than it can match, skipping directories an
 * exclude covers. Links are followed; a link to a directory already entered through a link (a
 * loop) is not. (A direct walk: a general glob library's per-path bookkeeping took half of a
 * no-op check of ten thousand files.)
 */
function walkGlobs(
  root: string,
  globs: readonly string[],
  excluded: ((path: string) => boolean) | undefined,
  found: Set<string>,
  stateDir: string,
): void {
  for (const glob of globs) {
    const scan = picomatch.scan(glob);
    const match = picomatch.makeRe(glob, MATCH);
    // Without `**`, a glob of N segments matches nothing deeper than N levels below its base.
    const depth = scan.glob.includes('**') ? Infinity : scan.glob.split('/').length;
    const visit = (dir: string, left: number, links: ReadonlySet<string>): void => {
      let entries: Dirent[];
      try {
        entries = readdirSync(dir === '' ? root : `${root}/${dir}`, { withFileTypes: true });
      } catch {
        return; // Not there (a glob may match nothing), or not readable.
      }
      for (const entry of entries) {
        const rel = dir === '' ? entry.name : `${dir}/${entry.name}`;
        let isFile = entry.isFile();
        let isDirectory = entry.isDirectory();
        let through = links;
        if (entry.isSymbolicLink()) {
          const target = statFile(`${root}/${rel}`);
          isFile = target?.isFile() ?? false;
          isDirectory = target?.isDirectory() ?? false;
          if (isDirectory) {
            const real = realpathSync(`${root}/${rel}`);
            if (links.has(real)) continue;
            through = new Set([...links, real]);
          }
        }
        if (isFile) {
          if (match.test(rel) && !excluded?.(rel)) found.add(rel);
        } else if (isDirectory && left > 1 && rel !== stateDir && !excluded?.(`${rel}/`)) {
          visit(rel, left - 1, through);
        }
      }
    };
    visit(scan.base, depth, new Set());
  }
}
