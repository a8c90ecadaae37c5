import { runBuild, stateDirOf } from '../build.js';
import type { Project } from '../config/load.js';
import type { BuildEvent, BuildMode, BuildSummary } from '../events.js';
import type { TargetKey } from '../key.js';
import type { CacheOptions } from '../cache/options.js';

/** What one build is asked to do: the same for a one-shot build and for each watch cycle. */
export interface SessionOptions {
  /** Names (keys or aliases) to build; empty for the defaults. */
  names: readonly string[];
  /** Turns names into keys, e.g. `deploy` resolving function names; default: graph.resolve. */
  select?: (project: Project, names: readonly string[]) => TargetKey[];
  mode?: BuildMode;
  /** `-B`: run every selected target. */
  force?: boolean;
  /** `-j`: targets run at once. */
  jobs?: number;
  /** `-k`: after a failure, go on with targets that do not depend on it. */
  keepGoing?: boolean;
  /** Collect every reason, not just the first. */
  explain?: boolean;
  /** Run external freshness checks (a deployed function); false with `--offline`. */
  external?: boolean;
  /** Every event of the build, as it happens: what a renderer draws. */
  onEvent?: (event: BuildEvent) => void;
  /** The shared build cache (see BuildOptions.cache). */
  cache?: CacheOptions;
}

/** The keys a session builds in `project`. */
export function sessionTargets(project: Project, options: SessionOptions): TargetKey[] {
  if (options.select) return options.select(project, options.names);
  return options.names.length
    ? options.names.map((name) => project.graph.resolve(name))
    : project.defaults;
}

/** One build of a loaded project: options in, events out as they happen, a summary at the end. */
export async function runSession(
  project: Project,
  options: SessionOptions,
  signal?: AbortSignal,
): Promise<BuildSummary> {
  return runBuild({
    root: project.root,
    stateDir: stateDirOf(project.root),
    graph: project.graph,
    targets: sessionTargets(project, options),
    mode: options.mode,
    force: options.force,
    jobs: options.jobs,
    keepGoing: options.keepGoing,
    explain: options.explain,
    external: options.external,
    signal,
    onEvent: options.onEvent,
    ...(options.cache ? { cache: options.cache } : {}),
  });
}
