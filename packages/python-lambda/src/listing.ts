import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { isCopiedFromLocalProject } from './pip/copy-rule.js';

/**
 * The files below `dir`, relative and sorted, as a local project build copies them (no version
 * control, caches or earlier build output), and without wheelhouse scratch folders. A
 * directory's listing enters a fingerprint so that a file added to a local project (or a wheel
 * dropped into a find-links folder) is noticed, not only edits to known files.
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
    if (rel.split('/').some((p) => p.startsWith('.tmp-')) || !isCopiedFromLocalProject(rel))
      continue;
    files.push(rel);
  }
  return files.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}
