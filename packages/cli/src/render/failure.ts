import { relative } from 'node:path';
import type { Failure } from '@lbuild/core';
import type { Colors } from './colors.js';

/**
 * One failure as people read it:
 *   error: unknown key `ouputs` in [target.test]
 *     --> lbuild.toml:7:1 (target.test.ouputs)
 *     hint: did you mean `outputs`?
 */
export function formatFailure(failure: Failure, c: Colors, cwd: string, prefix = 'error'): string {
  const lines = [`${c.red(c.bold(prefix + ':'))} ${failure.message}`];
  const loc = failure.location;
  if (loc) {
    let where = relative(cwd, loc.file) || loc.file;
    if (loc.line !== undefined) where += `:${loc.line}`;
    if (loc.line !== undefined && loc.column !== undefined) where += `:${loc.column}`;
    lines.push(`  ${c.dim('-->')} ${where}${loc.key ? c.dim(` (${loc.key})`) : ''}`);
  }
  if (failure.hint) lines.push(`  ${c.cyan('hint:')} ${failure.hint}`);
  for (const other of failure.others ?? []) lines.push(formatFailure(other, c, cwd, prefix));
  return lines.join('\n');
}
