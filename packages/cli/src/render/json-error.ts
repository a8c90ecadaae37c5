import type { Failure } from '@lbuild/core';
import { failureJson, type FailureJson } from './failure.js';

/**
 * What `--json` prints on stdout when a command stops before it has a summary (a config error,
 * a missing config file, an unknown target): the same `status` and `exitCode` fields as the
 * summary, and each problem as a failure object with the fields a target's `failure` has.
 * `oneLine` for `--watch`, whose stdout is one JSON document a line.
 */
export function jsonError(failure: Failure, exitCode: number, oneLine = false): string {
  return JSON.stringify(
    { status: 'error', exitCode, errors: flatten(failureJson(failure)) },
    null,
    oneLine ? undefined : 2,
  );
}

/** A failure and the further problems found with it, as one list. */
function flatten(failure: FailureJson): Omit<FailureJson, 'others'>[] {
  const { others = [], ...one } = failure;
  return [one, ...others.flatMap(flatten)];
}
