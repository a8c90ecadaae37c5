import { relative } from 'node:path';
import {
  unreachable,
  type DescribedFailure,
  type Failure,
  type Interrupted,
  type ZipTooLarge,
} from '@lbuild/core';
import type { Colors } from './colors.js';

/** A failure's words: the ones it was given, or the ones composed here from its data. */
export interface FailureText {
  message: string;
  hint?: string;
}

/**
 * The one place a failure's text is decided, for people (formatFailure) and programs
 * (failureJson) alike, whichever command found it.
 */
export function failureText(failure: Failure): FailureText {
  switch (failure.reason) {
    case 'zip-too-large':
      return zipTooLarge(failure);
    case 'interrupted':
      return interrupted(failure);
    default: {
      // Exhaustive: a failure that carries data and has no case above is not a DescribedFailure.
      const described: DescribedFailure = failure;
      return {
        message: described.message,
        ...(described.hint !== undefined ? { hint: described.hint } : {}),
      };
    }
  }
}

function zipTooLarge(failure: ZipTooLarge): FailureText {
  const { limit, size, max, table } = failure;
  const message = `the zip${table ? ` for [${table}]` : ''} is ${size} bytes${
    limit === 'max-unzipped-size' ? ' unzipped' : ''
  }, over ${limit} = ${max}`;
  switch (limit) {
    case 'max-unzipped-size':
      return {
        message,
        hint: 'drop dependencies or files you do not need, or raise max-unzipped-size if your deployment allows more (Lambda allows 250 MB unzipped, container images more)',
      };
    case 'direct-upload-limit':
      return {
        message,
        hint: `Lambda takes a zip this large only through S3: add s3-bucket = "BUCKET" to ${
          table ? `[${table}]` : 'the function'
        } (a bucket in the function's region)`,
      };
    default:
      return unreachable(limit);
  }
}

/** What was cut short; a Record, so that a new `during` without words does not compile. */
const INTERRUPTED: Record<Interrupted['during'], string> = {
  'lock-wait': 'interrupted while waiting for another lbuild to finish',
};

function interrupted(failure: Interrupted): FailureText {
  return { message: INTERRUPTED[failure.during] };
}

/** A failure as `--json` and `--log-format json` give it: its data, with its words. */
export type FailureJson = Omit<Failure, 'others'> & FailureText & { others?: FailureJson[] };

export function failureJson(failure: Failure): FailureJson {
  const { others, ...one } = failure;
  return {
    ...one,
    ...failureText(failure),
    ...(others ? { others: others.map(failureJson) } : {}),
  };
}

/**
 * One failure as people read it:
 *   error: unknown key `ouputs` in [target.test]
 *     --> lbuild.toml:7:1 (target.test.ouputs)
 *     hint: did you mean `outputs`?
 */
export function formatFailure(failure: Failure, c: Colors, cwd: string, prefix = 'error'): string {
  const { message, hint } = failureText(failure);
  const lines = [`${c.red(c.bold(prefix + ':'))} ${message}`];
  const loc = failure.location;
  if (loc) {
    let where = relative(cwd, loc.file) || loc.file;
    if (loc.line !== undefined) where += `:${loc.line}`;
    if (loc.line !== undefined && loc.column !== undefined) where += `:${loc.column}`;
    lines.push(`  ${c.dim('-->')} ${where}${loc.key ? c.dim(` (${loc.key})`) : ''}`);
  }
  if (hint) lines.push(`  ${c.cyan('hint:')} ${hint}`);
  for (const other of failure.others ?? []) lines.push(formatFailure(other, c, cwd, prefix));
  return lines.join('\n');
}
