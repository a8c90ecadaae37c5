import picomatch from 'picomatch';
import { globSync, isDynamicPattern } from 'tinyglobby';
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
): ExpandedInputs {
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
    if (globs.length > 0) {
      for (const file of globSync(globs, {
        cwd: root,
        ignore: spec.exclude ?? [],
        dot: true,
        onlyFiles: true,
        expandDirectories: false,
        followSymbolicLinks: true,
      })) {
        found.add(file);
      }
    }
    if (spec.exclude?.length) {
      // Plain paths are not filtered by the glob walker; apply the excludes to them too.
      for (const file of found) if (isExcluded(file, spec.exclude)) found.delete(file);
    }
    const sorted = [...found].sort(compareBytes);
    matches[specId(spec)] = sorted;
    for (const file of sorted) all.add(file);
  }
  return { matches, files: [...all].sort(compareBytes) };
}

function isExcluded(file: string, exclude: readonly string[]): boolean {
  return picomatch(exclude as string[], { dot: true })(file);
}
