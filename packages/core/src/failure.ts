/**
 * Expected failures are values: one tagged union, {@link Failure}, whose `reason` a program can
 * switch on. Most reasons are said in words where they are found (a message, and a hint that
 * says how to fix it); a few carry data instead, and the CLI composes their text (one renderer
 * for every command). `location` points into a config file when the failure is about something
 * the user wrote there.
 *
 * Each reason belongs to exactly one `kind`, and the kind alone decides the exit status, so the
 * same reason gives the same exit status wherever it is found (the type check below keeps the
 * reason lists apart).
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

/**
 * - `config`: about the user's setup, what they wrote or asked for (exit status 2);
 * - `build`: a build step ran and failed (exit status 1);
 * - `internal`: lbuild itself is wrong (exit status 2);
 * - `interrupted`: stopped by Ctrl-C or a signal (exit status 130).
 */
export type FailureKind = 'config' | 'build' | 'internal' | 'interrupted';

/** Reasons about what the user wrote, asked for or set up: the fix is theirs to make. */
export type ConfigReason =
  | 'architecture-mismatch'
  | 'invalid-cache-setting'
  | 'aws-access-denied'
  | 'aws-credentials'
  | 'aws-region'
  | 'config-exists'
  | 'cycle'
  | 'diff-mode'
  | 'duplicate-target'
  | 'free-threaded-build-python'
  | 'function-is-image'
  | 'function-not-found'
  | 'handler-invalid'
  | 'handler-missing'
  | 'handler-not-found'
  | 'index-credentials-conflict'
  | 'index-credentials-unsupported'
  | 'invalid-config'
  | 'invalid-event'
  | 'invalid-name'
  | 'invalid-toml'
  | 'invalid-zip-level'
  | 'invoke-mode'
  | 'layer-region'
  | 'layer-without-dependencies'
  | 'local-requirement-not-a-project'
  | 'local-requirement-not-an-archive'
  | 'local-requirement-not-found'
  | 'lock-and-requirements'
  | 'lock-environment-mismatch'
  | 'lock-format'
  | 'lock-git-source'
  | 'lock-key-without-lock'
  | 'lock-missing'
  | 'lock-no-root-project'
  | 'lock-out-of-date'
  | 'lock-package-not-supported'
  | 'lock-python-mismatch'
  | 'lock-syntax'
  | 'lock-unknown-extras'
  | 'lock-unknown-format'
  | 'lock-unknown-groups'
  | 'lock-unknown-package'
  | 'lock-unreadable'
  | 'lock-unsupported-source'
  | 'malformed-toml'
  | 'missing-input'
  | 'no-bundles'
  | 'no-config'
  | 'no-functions'
  | 'no-pyproject'
  | 'not-a-layer'
  | 'not-a-python-project'
  | 'not-a-zip'
  | 'offline-deploy'
  | 'pip-constraint-not-found'
  | 'pip-not-found'
  | 'pip-too-old'
  | 'pyproject-syntax'
  | 'python-not-found'
  | 'python-probe-failed'
  | 'remote-requirements-file'
  | 'requirement-without-name'
  | 'requirements-include-cycle'
  | 'requirements-not-found'
  | 'requirements-syntax'
  | 'runtime-blocked'
  | 'runtime-mismatch'
  | 'runtime-python-not-found'
  | 's3-bucket-missing'
  | 'size-mode'
  | 'source-root-missing'
  | 'unknown-architecture'
  | 'unknown-bundle'
  | 'unknown-dependency'
  | 'unknown-function'
  | 'unknown-key'
  | 'unknown-layer'
  | 'unknown-python-runtime'
  | 'unknown-target'
  | 'unset-variable'
  | 'unzipped-too-large'
  | 'watch-dry-run'
  | 'watch-question';

/** Reasons a build step that ran gives for failing. */
export type BuildReason =
  | 'bad-entry-point'
  | 'bad-wheel'
  | 'bad-wheel-metadata'
  | 'bad-zip'
  | 'bytecode-compiler-failed'
  | 'cache-changed'
  | 'code-download-failed'
  | 'code-sha-mismatch'
  | 'command-not-found'
  | 'concurrent-modification'
  | 'duplicate-wheels'
  | 'duplicate-zip-path'
  | 'exit-non-zero'
  | 'function-deleted'
  | 'hash-mismatch'
  | 'hashes-missing'
  | 'host-built-wheel'
  | 'index-not-found'
  | 'index-refused-credentials'
  | 'index-server-error'
  | 'index-tls-failed'
  | 'index-unreachable'
  | 'input-changed-during-run'
  | 'input-vanished'
  | 'lambda-error'
  | 'lambda-state-failed'
  | 'lambda-unavailable'
  | 'lambda-update-failed'
  | 'lambda-update-timeout'
  | 'local-project-build-failed'
  | 'local-project-not-pure'
  | 'lock-unexpected-file'
  | 'missing-file'
  | 'missing-tree'
  | 'missing-wheel-list'
  | 'no-suitable-wheel'
  | 'not-a-file'
  | 'output-not-produced'
  | 'pip-failed'
  | 'requirement-not-found'
  | 'requirements-conflict'
  | 's3-upload-corrupted'
  | 'source-changed'
  | 'target-dependency-unsatisfied'
  | 'unsafe-wheel-entry'
  | 'unsafe-zip-path'
  | 'wheel-build-failed'
  | 'wheel-unsuitable'
  | 'wheelhouse-changed'
  | 'wheelhouse-incomplete'
  | 'zip-changed'
  | 'zip-missing'
  | 'zip-path-conflict';

/** Reasons that mean lbuild itself is wrong. */
export type InternalReason = 'bad-sha256' | 'internal-error' | 'wrong-fflate-version';

interface FailureBase {
  location?: SourceLocation;
  /** Further problems found in the same pass (every bad key of a config file, not just the first). */
  others?: Failure[];
}

/** A failure said in words where it was found. */
export interface Described<K extends FailureKind, R extends string> extends FailureBase {
  kind: K;
  reason: R;
  /** One or more sentences saying what is wrong. */
  message: string;
  /** How to fix it, when there is something useful to say. */
  hint?: string;
}

/**
 * The zip is larger than one of Lambda's limits allows: a property of what the bundle holds and
 * of the limit the config sets, so a config failure (exit 2) whether the build or a deploy
 * finds it. Nothing is written or sent.
 */
export interface ZipTooLarge extends FailureBase {
  kind: 'config';
  reason: 'zip-too-large';
  /**
   * The limit, by its config key: `max-unzipped-size` (the zip's entries, unzipped, checked when
   * the zip is built) or `direct-upload-limit` (the zip itself, checked before a deploy of a
   * function without s3-bucket).
   */
  limit: 'max-unzipped-size' | 'direct-upload-limit';
  /** Bytes: unzipped for max-unzipped-size, the zip file's for direct-upload-limit. */
  size: number;
  /** The limit in bytes. */
  max: number;
  /** The config table that sets the limit, e.g. `bundle.app` or `function.hello`. */
  table?: string;
}

/** Ctrl-C or a signal stopped lbuild before it could start building. */
export interface Interrupted extends FailureBase {
  kind: 'interrupted';
  reason: 'interrupted';
  /** What lbuild was doing: waiting for another lbuild's build lock on the project. */
  during: 'lock-wait';
}

export type Failure =
  | Described<'config', ConfigReason>
  | Described<'build', BuildReason>
  | Described<'internal', InternalReason>
  | ZipTooLarge
  | Interrupted;

/** The failures said in words where they were found (every reason but those carrying data). */
export type DescribedFailure = Extract<Failure, { message: string }>;

// A reason in two lists would give two exit statuses: this fails to compile when one is.
type MustBeEmpty<T extends never> = T;
export type ReasonsAreDisjoint = [
  MustBeEmpty<ConfigReason & BuildReason>,
  MustBeEmpty<(ConfigReason | BuildReason) & InternalReason>,
  MustBeEmpty<
    (ConfigReason | BuildReason | InternalReason) & (ZipTooLarge | Interrupted)['reason']
  >,
];

/**
 * The failure, when it was said in words where it was found (a caller may add to those words);
 * undefined for one that carries data for the CLI to say.
 */
export function describedFailure(failure: Failure): DescribedFailure | undefined {
  switch (failure.reason) {
    case 'zip-too-large':
    case 'interrupted':
      return undefined;
    default: {
      // Exhaustive: a failure that carries data and has no case above is not a DescribedFailure.
      const described: DescribedFailure = failure;
      return described;
    }
  }
}

/** An exception that carries a {@link Failure}; thrown across async boundaries, caught as a value. */
export class LbuildError extends Error {
  readonly failure: Failure;

  constructor(failure: Failure, options?: { cause?: unknown }) {
    // People read the CLI's rendering; the Error's own message only shows in a stack trace.
    super('message' in failure ? failure.message : failure.reason, options);
    this.name = 'LbuildError';
    this.failure = failure;
  }
}

export function configError(
  reason: ConfigReason,
  message: string,
  extra: { hint?: string; location?: SourceLocation } = {},
): LbuildError {
  return new LbuildError({ reason, message, kind: 'config', ...extra });
}

export function buildError(
  reason: BuildReason,
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
