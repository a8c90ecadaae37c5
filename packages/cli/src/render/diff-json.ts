import type { DiffResult } from '../commands/diff.js';

/**
 * `lbuild diff --json`: the comparison as the library returns it (every list whole; text diffs
 * capped unless `--content`), with what Lambda reported under `deployed`.
 */
export function diffJson({ diff, deployed }: DiffResult): string {
  return JSON.stringify({ ...diff, ...(deployed ? { deployed } : {}) }, null, 2) + '\n';
}
