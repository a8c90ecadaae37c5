import type { SourceLocation } from './failure.js';
import type { FileRecord } from './file-state.js';
import type { TargetKey } from './key.js';

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/**
 * Files a target reads, relative to the project root. A pattern without glob characters names
 * one file that must exist; a glob may match nothing. The *set* of matched files is part of the
 * trace, so adding or deleting a matching file reruns the target.
 */
export interface InputSpec {
  patterns: string[];
  exclude?: string[];
  /**
   * Leave out every file that another target declares as an output (or its temporary sibling
   * during an atomic write), unless this target depends on that target. For globs as wide as
   * `.`: what other targets write changes with their runs and with build order, so it is not a
   * source; naming an output (a plain path) makes its target a dependency, and then it stays.
   */
  excludeOutputs?: boolean;
  /** Where the patterns were written, for "missing input" errors. */
  location?: SourceLocation;
}

/** What a target's run can see of one dependency. */
export interface DependencyResult {
  key: TargetKey;
  /** Absolute paths of the dependency's declared outputs. */
  outputs: string[];
  /** The value the dependency's run returned (recorded in its stamp). */
  value: Json | undefined;
  outputHash: string;
}

export type LogLevel = 'debug' | 'info' | 'warn';

export interface RunContext {
  readonly key: TargetKey;
  /** Absolute project root. */
  readonly root: string;
  /** Aborted on Ctrl-C / SIGTERM or when the build stops after a failure. */
  readonly signal: AbortSignal;
  readonly deps: ReadonlyMap<TargetKey, DependencyResult>;
  /** Absolute paths of this target's matched static inputs, sorted. */
  readonly inputs: readonly string[];
  /** The same files per input spec, in the order of `TargetDefinition.inputs`. */
  readonly inputGroups: readonly (readonly string[])[];
  /** A private directory for this target under `.lbuild/`, kept between runs. */
  readonly stateDir: string;
  /** A directory shared by all targets of the project for caches (e.g. a wheelhouse). */
  readonly cacheDir: string;
  /**
   * Notes a file this run read that was not a declared input (like a compiler's depfile): it
   * enters the trace, so a change to it reruns the target.
   */
  readonly recordRead: (path: string) => void;
  /** The content hash of a file, shared with the engine's memo (never hashed twice in a run). */
  readonly hashFile: (path: string) => Promise<string>;
  readonly log: (level: LogLevel, message: string, data?: Record<string, Json>) => void;
  readonly output: (stream: 'stdout' | 'stderr', text: string) => void;
  readonly progress: (done: number, total: number, unit?: string) => void;
}

export interface RunOutcome {
  /** A small JSON value recorded in the stamp and passed to dependents; enters the output hash. */
  value?: Json;
  /** Files read during the run (absolute or root-relative), in addition to `recordRead`. */
  reads?: string[];
  /**
   * One short line for people about what the run made ("dist/api.zip: 1.2 MB, 340 files,
   * sha256 …"). Shown by the CLI; not part of the stamp or any hash.
   */
  summary?: string;
}

/** The context an external freshness check gets (e.g. "does Lambda run this zip?"). */
export interface ExternalCheckContext {
  readonly key: TargetKey;
  readonly root: string;
  readonly signal: AbortSignal;
  readonly deps: ReadonlyMap<TargetKey, DependencyResult>;
  /** The value recorded by the last successful run. */
  readonly value: Json | undefined;
}

export interface TargetDefinition {
  key: TargetKey;
  /** What made it: `command`, `wheelhouse`, `zip`, `upload`... shown by `lbuild graph`. */
  kind: string;
  description?: string;
  deps: TargetKey[];
  inputs?: InputSpec[];
  /** Files (or directories) this target writes, relative to the project root. */
  outputs?: string[];
  /**
   * Everything about *how* the outputs are made that is not a file: command line, settings,
   * tool versions, declared environment values. Each field enters the fingerprint; `--explain`
   * names the field that changed. Keep secrets out: put their hash here instead.
   */
  recipe: () => Json | Promise<Json>;
  /** Built when no target is named (default true). Deploy targets say false. */
  buildByDefault?: boolean;
  /** Where the target was declared, for errors that point into the config file. */
  location?: SourceLocation;
  /**
   * A check beyond the trace, for state that lives outside the project (a deployed function).
   * Returns a reason when running the target would change something, undefined when it would
   * not. A build calls it when the trace verifies; `-q` and `-n` let it decide (it knows whether
   * a run would change anything, even with no stamp). Skipped with `--offline`.
   */
  checkExternal?: (ctx: ExternalCheckContext) => Promise<string | undefined>;
  /**
   * Keep the previous stamp while running and after a failure (default: remove it first). For
   * targets whose stamp records state outside the project (what is deployed), which a failed
   * run leaves as it was; a failed run still never writes a stamp.
   */
  keepStampOnFailure?: boolean;
  /**
   * Does the work. Expected failures are thrown as LbuildError. Outputs must be written
   * atomically or removed on failure: the engine only deletes declared outputs that a failed or
   * interrupted run modified.
   */
  run: (ctx: RunContext) => Promise<RunOutcome | undefined>;
}

export type { FileRecord };
