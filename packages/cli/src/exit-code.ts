import { unreachable, type BuildSummary, type Failure } from '@lbuild/core';

/** make's conventions: 0 success, 1 a target failed (or is stale under -q), 2 usage/config/internal. */
export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_ERROR = 2;
/** 128 + SIGINT, as shells report an interrupted command. */
export const EXIT_INTERRUPTED = 130;

/** A failure's exit status: its kind decides it, and each reason has one kind. */
export function exitCodeForFailure(failure: Failure): number {
  switch (failure.kind) {
    case 'build':
      return EXIT_FAILED;
    case 'config':
    case 'internal':
      return EXIT_ERROR;
    case 'interrupted':
      return EXIT_INTERRUPTED;
    default:
      return unreachable(failure);
  }
}

export function exitCodeForSummary(summary: BuildSummary): number {
  switch (summary.status) {
    case 'ok':
      return EXIT_OK;
    case 'stale':
      return summary.mode === 'query' ? EXIT_FAILED : EXIT_OK;
    case 'interrupted':
      return EXIT_INTERRUPTED;
    case 'failed': {
      // `-q` runs nothing, so a failure there is a check that could not be made (a remote
      // service that did not answer): an error, not "something would run".
      if (summary.mode === 'query') return EXIT_ERROR;
      // A target that failed because of what the user wrote (a config error found while
      // building) is exit 2, like any other config error; a step that ran and failed is 1.
      const codes = summary.targets.flatMap((t) =>
        t.failure ? [exitCodeForFailure(t.failure)] : [],
      );
      return codes.some((code) => code !== EXIT_FAILED) ? EXIT_ERROR : EXIT_FAILED;
    }
    default:
      return unreachable(summary.status);
  }
}
