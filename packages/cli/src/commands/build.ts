import {
  runSession,
  type BuildEvent,
  type BuildMode,
  type Project,
  type SessionOptions,
  type TargetKey,
} from '@lbuild/core';
import { cacheOptionsFor, cacheSetup } from '../cache-settings.js';
import { openProject, type GlobalOptions } from '../context.js';
import { SessionRenderer } from '../render/session.js';
import { abortOnSignals } from '../signals.js';

/** `lbuild [TARGET...]`, `-q`, `-n`: bring targets up to date, or say whether they are. */
export async function buildCommand(
  names: string[],
  options: GlobalOptions,
  select?: (project: Project, names: readonly string[]) => TargetKey[],
): Promise<number> {
  const project = await openProject(options);
  const mode = modeOf(options);
  const render = await SessionRenderer.create(options, mode);
  // Only a build uses the shared cache: `-q` and `-n` answer from stamps, with no I/O beyond them.
  const cache = mode === 'build' ? await cacheOptionsFor(cacheSetup(project), options) : undefined;
  const signals = abortOnSignals();
  try {
    const summary = await runSession(
      project,
      { ...sessionOptions(names, options, select, render.onEvent), ...(cache ? { cache } : {}) },
      signals.signal,
    );
    return render.finish(summary);
  } finally {
    signals.dispose();
  }
}

export function modeOf(options: GlobalOptions): BuildMode {
  return options.question ? 'query' : options.dryRun ? 'dry-run' : 'build';
}

/** What the command line asks of a build: the same for a one-shot build and each watch cycle. */
export function sessionOptions(
  names: readonly string[],
  options: GlobalOptions,
  select: ((project: Project, names: readonly string[]) => TargetKey[]) | undefined,
  onEvent: (event: BuildEvent) => void,
): SessionOptions {
  const mode = modeOf(options);
  return {
    names,
    ...(select ? { select } : {}),
    mode,
    force: Boolean(options.alwaysMake),
    ...(options.jobs ? { jobs: options.jobs } : {}),
    keepGoing: Boolean(options.keepGoing),
    // --json lists every reason; -n says why each target would run.
    explain: options.explain === true || options.json === true || mode === 'dry-run',
    external: !options.offline,
    onEvent,
  };
}
