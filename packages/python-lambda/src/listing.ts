import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

/** Build leftovers and caches inside local projects and find-links folders that never matter. */
const SKIP = new Set([
  '.git',
  '.hg',
  '.svn',
  '__pycache__',
  'build',
  'dist',
  '.tox',
  '.nox',
  '.venv',
  'venv',
  'node_modules',
  '.mypy_cache',
  '.pytest_cache',
  '.ruff_cache',
]);

/**
 * The files below `dir`, relative and sorted, without version-control, cache and build
 * directories. A directory's listing enters a fingerprint so that a file added to a local
 * project (or a wheel dropped into a find-links folder) is noticed, not only edits to known files.
 */
export function listFiles(dir: string): string[] {
  let entries;
  try {
    if (!statSync(dir).isDirectory()) return [];
    entries = readdirSync(dir, { recursive: true, withFileTypes: true });
  } catch {
    return [];
  }
  const files: string[] = [];
  for (const entry of entries) {
    if (!entry.isFile()) continue;
    const rel = relative(dir, join(entry.parentPath, entry.name)).split('\\').join('/');
    const parts = rel.split('/');
    if (parts.some((p) => SKIP.has(p) || p.endsWith('.egg-info') || p.startsWith('.tmp-')))
      continue;
    files.push(rel);
  }
  return files.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}
