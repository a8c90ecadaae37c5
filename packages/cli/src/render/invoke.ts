import type { InvokeOutcome } from '@lbuild/python-lambda';
import type { Colors } from './colors.js';

/** The handler's result on stdout: the JSON as Python wrote it (big numbers stay exact). */
export function invokeResult(json: string): string {
  return json + '\n';
}

/**
 * A failed invoke on stderr. The handler's own errors (an exception, an import that failed) were
 * logged by the bootstrap as they happened, traceback included, as Lambda logs them; what only
 * lbuild saw (a timeout, Python ending without a word) is said here, in the same shape.
 */
export function invokeError(
  outcome: Extract<InvokeOutcome, { status: 'error' | 'timeout' }>,
  c: Colors,
): string {
  const { errorType, errorMessage } = outcome.error;
  if (outcome.status === 'error' && errorType !== 'Runtime.ExitError') return '';
  return `${c.red('[ERROR]')} ${errorType}: ${errorMessage}\n`;
}
