// Which files of a local project are copied for building, apart from the copying itself: the
// listing of sources a no-op check makes needs the rule, not node:crypto and the pip runner.

/**
 * Top-level names not copied when building a local project: version control, caches, virtual
 * environments and earlier build output (a stale `build/lib` can put deleted modules into a
 * setuptools wheel).
 */
export const SKIP_TOP = new Set([
  '.git',
  '.hg',
  '.svn',
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
export const SKIP_ANY = /(^|\/)(__pycache__|[^/]*\.egg-info)$|\.py[co]$/;

/**
 * Whether a file of a local project (its path relative to the project) is copied for building:
 * the same rule as the copy's filter, for fingerprints that must see exactly what is built.
 */
export function isCopiedFromLocalProject(rel: string): boolean {
  const parts = rel.split('/');
  if (SKIP_TOP.has(parts[0] ?? '')) return false;
  return !parts.some((_, i) => SKIP_ANY.test(parts.slice(0, i + 1).join('/')));
}
