/**
 * Expected failures are values: a kebab-case `reason` a program can switch on, a sentence for
 * people, and a hint that says how to fix it. `location` points into a config file when the
 * failure is about something the user wrote there.
 */
export interface SourceLocation {
  /** Absolute path of the file. */
  file: string;
  /** 1-based line, when known. */
  line?: number;
  /** 1-based column, when known. */
  column?: number;
  /** The dotted key path inside the file, e.g. `target.test.ouputs`. */
  key?: string;
}

export interface Failure {
  /** Stable kebab-case identifier, e.g. `unknown-key`, `cycle`, `exit-non-zero`. */
  reason: string;
  /** One or more sentences saying what is wrong. */
  message: string;
  /** How to fix it, when there is something useful to say. */
  hint?: string;
  location?: SourceLocation;
  /**
   * Whether the failure is about the user's setup (config, usage: exit status 2) or about a
   * build step that ran and failed (exit status 1).
   */
  kind: 'config' | 'build' | 'internal';
  /** Further problems found in the same pass (every bad key of a config file, not just the first). */
  others?: Failure[];
}

/** An exception that carries a {@link Failure}; thrown across async boundaries, caught as a value. */
export class LbuildError extends Error {
  readonly failure: Failure;

  constructor(failure: Failure, options?: { cause?: unknown }) {
    super(failure.message, options);
    this.name = 'LbuildError';
    this.failure = failure;
  }
}

export function configError(
  reason: string,
  message: string,
  extra: { hint?: string; location?: SourceLocation } = {},
): LbuildError {
  return new LbuildError({ reason, message, kind: 'config', ...extra });
}

export function buildError(
  reason: string,
  message: string,
  extra: { hint?: string; location?: SourceLocation } = {},
): LbuildError {
  return new LbuildError({ reason, message, kind: 'build', ...extra });
}

/** Turns anything thrown into a Failure, keeping LbuildError's own. */
export function toFailure(error: unknown): Failure {
  if (error instanceof LbuildError) return error.failure;
  const message = error instanceof Error ? error.message : String(error);
  return { reason: 'internal-error', message, kind: 'internal' };
}

export function isAbortError(error: unknown): boolean {
  return error instanceof Error && (error.name === 'AbortError' || error.message === 'aborted');
}

export function unreachable(value: never): never {
  throw new Error(`unreachable: ${JSON.stringify(value)}`);
}
