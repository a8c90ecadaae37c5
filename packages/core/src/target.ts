import type { Failure, SourceLocation } from './failure.js';
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
  /** The dependency definition's `artifact`: what its outputs are, as the config says. */
  artifact?: TargetDefinition['artifact'];
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
   * Declares files this run depends on that are not declared inputs (like a compiler's depfile):
   * hashes them now and returns their content hashes (undefined for one that does not exist),
   * in the order given; paths are absolute or root-relative. They enter the trace, so a change
   * reruns the target.
   *
   * Call it BEFORE the run reads or uses the files (and before handing them to a tool that
   * will): the trace must record the content the run saw. A hash taken after the run would
   * stamp an edit made while it ran (a local project edited while pip builds it) as built, and
   * the next build would call the old output up to date. After the run the engine checks each
   * snapshot, and every declared input, again: when one changed, appeared or vanished, the run
   * is not stamped and the next build runs it again. A file the run only finds while it works
   * (an include named inside a file) is snapshotted as soon as it is found, before it is read.
   */
  readonly snapshot: (paths: readonly string[]) => Promise<(string | undefined)[]>;
  /** The content hash of a file, shared with the engine's memo (never hashed twice in a run). */
  readonly hashFile: (path: string) => Promise<string>;
  readonly log: (level: LogLevel, message: string, data?: Record<string, Json>) => void;
  readonly output: (stream: 'stdout' | 'stderr', text: string) => void;
  /** How far a long run got; `detail` says what it works on now (`downloading numpy-….whl`). */
  readonly progress: (done: number, total: number, unit?: string, detail?: string) => void;
}

export interface RunOutcome {
  /** A small JSON value recorded in the stamp and passed to dependents; enters the output hash. */
  value?: Json;
  /**
   * One short line for people about what the run made ("dist/api.zip: 1.2 MB, 340 files,
   * sha256 …"). Shown by the CLI; not part of the stamp or any hash.
   */
  summary?: string;
  /**
   * Files outside the declared outputs that the result refers to and that must come with it when
   * it is restored from the shared cache: a wheelhouse's wheels, kept in `RunContext.cacheDir`
   * (the only place such files may be). Absolute or root-relative. Not part of the stamp.
   */
  cacheFiles?: string[];
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
  /**
   * The files and directories beyond `inputs` that a run will snapshot (see
   * `RunContext.snapshot`), as far as they are known before it runs: a requirements file and its
   * includes. Absolute paths; a directory ends in `/` and stands for every file below it. Shown
   * by `lbuild graph`, which runs nothing; the run still snapshots what it actually reads.
   */
  listInputs?: () => Promise<string[]>;
  /** Files (or directories) this target writes, relative to the project root. */
  outputs?: string[];
  /**
   * Everything about *how* the outputs are made that is not a file: command line, settings,
   * tool versions, declared environment values. Each field enters the fingerprint; `--explain`
   * names the field that changed. Keep secrets out: put their hash here instead.
   */
  recipe: () => Json | Promise<Json>;
  /**
   * Says more about a recipe field that changed than its name: where the value now comes from
   * (a package index chosen by an environment variable or a file). Called only with `--explain`,
   * `-n` or `--json`, and only for a target that would run; never on the up-to-date path. The
   * text is shown to people and stored nowhere: keep secrets out.
   */
  explain?: (field: string) => Promise<string | undefined>;
  /** Built when no target is named (default true). Deploy targets say false. */
  buildByDefault?: boolean;
  /** Where the target was declared, for errors that point into the config file. */
  location?: SourceLocation;
  /**
   * What the outputs are, as the config says, for targets of other plugins that use them: a
   * Lambda zip publishes its runtime's Python and architecture under `lambda`. Known before
   * anything runs; the engine only passes it on (to `checkDependencies` and to dependents' runs),
   * and each consumer validates the part it reads.
   */
  artifact?: { readonly [kind: string]: Json };
  /**
   * Checks this target against its dependencies' definitions (their `artifact`s) when the graph
   * is built, so that tables that contradict each other are refused by every command, `-q` and
   * `-n` included, before anything runs. Throws an LbuildError.
   */
  checkDependencies?: (deps: ReadonlyMap<TargetKey, TargetDefinition>) => void;
  /**
   * Says, in the config's words, why a dependency that is not a target is missing (a name that
   * should be a table of another plugin), instead of the engine's generic message. Gets every
   * target of the graph, for the hint; undefined keeps the generic message.
   */
  missingDependency?: (
    dep: TargetKey,
    targets: ReadonlyMap<TargetKey, TargetDefinition>,
  ) => Failure | undefined;
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
   * The target's outputs may be shared through the build cache (BuildOptions.cache): a run is
   * looked up by a key made of what it depends on, and restored instead of run on a hit. Only
   * for targets whose outputs are a function of their key: not for commands (they may read
   * anything) or for targets that change the world (an upload).
   */
  cache?: {
    /**
     * The part of the recipe that enters the key, from its fields (dotted name → hash, as the
     * stamp keeps them): only what the outputs depend on, and nothing that names this machine
     * (an absolute path, the build Python's patch version when wheels are fetched for another
     * platform). Default: every field.
     */
    recipe?: (fields: Readonly<Record<string, string>>) => Json | Promise<Json>;
  };
  /**
   * Does the work. Expected failures are thrown as LbuildError. Outputs must be written
   * atomically or removed on failure: the engine only deletes declared outputs that a failed or
   * interrupted run modified.
   */
  run: (ctx: RunContext) => Promise<RunOutcome | undefined>;
}

export type { FileRecord };
