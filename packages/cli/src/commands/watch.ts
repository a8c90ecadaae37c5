import {
  configError,
  watch,
  type BuildSummary,
  type Failure,
  type Project,
  type TargetKey,
  type WatchEvent,
} from '@lbuild/core';
import { workingDirectory, type GlobalOptions } from '../context.js';
import { colorsFor } from '../render/colors.js';
import { failureJson, formatFailure } from '../render/failure.js';
import { jsonError } from '../render/json-error.js';
import { formatDuration } from '../render/human.js';
import { SessionRenderer } from '../render/session.js';
import { exitCodeForFailure } from '../exit-code.js';
import { plugins } from '../plugins.js';
import { modeOf, sessionOptions } from './build.js';

/**
 * `lbuild --watch`: each cycle is a build, printed as a one-shot build prints it (the same
 * renderer and options: `--explain`, `-v`, `--json`, `--log-format json`), then one line for the
 * cycle (what changed, which targets ran, how long, the new zip hash; for deploys whether it
 * uploaded). A cycle that ran nothing prints nothing but its `--json` summary. Exit 0 on Ctrl-C.
 */
export async function watchCommand(
  names: string[],
  options: GlobalOptions,
  select?: (project: Project, names: readonly string[]) => TargetKey[],
  extras?: WatchExtras,
): Promise<number> {
  refuseReadOnlyModes(options);
  const controller = new AbortController();
  const stop = () => controller.abort();
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  const render = await SessionRenderer.create(
    options,
    modeOf(options),
    extras ? 'report' : 'summary',
  );
  const cycles = new CycleLines(render, workingDirectory(options));
  try {
    await watch({
      start: workingDirectory(options),
      plugins: plugins(),
      session: sessionOptions(names, options, select, render.onEvent),
      ...(options.poll !== undefined || options.pollDefault ? { poll: options.poll ?? true } : {}),
      signal: controller.signal,
      onEvent: cycles.onEvent,
      ...(extras?.paths ? { extraPaths: extras.paths } : {}),
      ...(extras ? { afterCycle: extras.afterCycle } : {}),
    });
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
  return 0;
}

/** What a command that watches does after each cycle's build (`lbuild --watch invoke`). */
export interface WatchExtras {
  /** Absolute paths watched on top of the targets' inputs (an event file). */
  paths?: readonly string[];
  /** Runs after each cycle is reported; stdout is then its own, people's lines go to stderr. */
  afterCycle: (project: Project, outcome: WatchEvent, signal: AbortSignal) => Promise<void>;
}

/** The watch's own lines, around the builds the session renderer prints. */
class CycleLines {
  readonly #render: SessionRenderer;
  readonly #cwd: string;
  #first = true;
  /** The last build failed: the next good one gets a line even when it ran nothing. */
  #failing = false;

  constructor(render: SessionRenderer, cwd: string) {
    this.#render = render;
    this.#cwd = cwd;
  }

  readonly onEvent = (event: WatchEvent): void => {
    const log = this.#render.log;
    const out = this.#render.out();
    const c = colorsFor(out);
    switch (event.type) {
      case 'watching': {
        if (!this.#first) return;
        this.#first = false;
        const line = `watching ${event.paths} paths under ${event.root}${event.polling ? ' (polling)' : ''}; Ctrl-C to stop`;
        if (log)
          log.write('info', { event: 'watching', paths: event.paths, root: event.root }, line);
        else out.write(c.dim(line) + '\n');
        return;
      }
      case 'config-error':
        this.#failure(event.failure, 'config error');
        if (event.keptPrevious && !log)
          process.stderr.write(c.dim('still watching with the last good configuration\n'));
        return;
      case 'config-reloaded':
        if (log) log.write('info', { event: 'config-reloaded' }, 'configuration reloaded');
        else out.write(`${clock()} configuration reloaded\n`);
        return;
      case 'rebuild-start':
        return;
      case 'rebuild-finish':
        this.#cycle(event.changed, event.summary);
        return;
      case 'build-error':
        this.#failing = true;
        this.#failure(event.failure);
        return;
    }
  };

  #failure(failure: Failure, label?: string): void {
    const log = this.#render.log;
    if (log) {
      const json = failureJson(failure);
      log.write('error', { event: 'watch-error', failure: json }, json.message);
      return;
    }
    process.stderr.write(
      formatFailure(failure, colorsFor(process.stderr), this.#cwd, label) + '\n',
    );
    // --json: a cycle that could not build still has its line, as the one-shot build's exit code.
    if (this.#render.jsonSummaries)
      process.stdout.write(jsonError(failure, exitCodeForFailure(failure), true) + '\n');
  }

  #cycle(changed: string[], summary: BuildSummary): void {
    const ran = summary.targets.filter(
      (t) => t.status === 'built' || t.status === 'failed' || t.status === 'interrupted',
    );
    // After a failure, a fix that puts back what the last good build saw runs nothing: say ok.
    const recovered = this.#failing && summary.status === 'ok';
    this.#failing = summary.status === 'failed';
    // A touch or an unchanged save: no line.
    const quiet = ran.length === 0 && summary.status === 'ok' && !recovered;
    const what = changed.length ? changed : ['start'];
    this.#render.finish(summary, { changed: what, quiet });
    if (quiet) return;
    const log = this.#render.log;
    const out = this.#render.out();
    const c = colorsFor(out);
    const targets = ran.map((t) => (t.status === 'built' ? t.key : c.red(t.key))).join(', ');
    const summaries = ran.flatMap((t) => (t.summary ? [t.summary] : []));
    const took = formatDuration(summary.durationMs);
    if (log) {
      log.write(
        summary.status === 'failed' ? 'error' : 'info',
        {
          event: 'watch-cycle',
          changed: what,
          targets: ran.map((t) => t.key),
          status: summary.status,
          durationMs: summary.durationMs,
        },
        `${what.join(', ')} → ${ran.map((t) => t.key).join(', ') || 'nothing to run'} ${summary.status} in ${took}`,
      );
      return;
    }
    const status =
      summary.status === 'ok'
        ? c.green('ok')
        : summary.status === 'failed'
          ? c.red('failed')
          : summary.status;
    const shown = `${what.slice(0, 3).join(', ')}${what.length > 3 ? ` (+${what.length - 3} more)` : ''}`;
    out.write(
      `${clock()} ${shown} → ${targets || 'nothing to run'} ${status} in ${took}${summaries.length ? ' — ' + summaries.join('; ') : ''}\n`,
    );
  }
}

/**
 * -q and -n promise that nothing runs, and a watch builds (and deploys) on every change: the two
 * cannot both hold, and ignoring either one surprises, so the combination is a usage error.
 */
function refuseReadOnlyModes(options: GlobalOptions): void {
  if (options.question) {
    throw configError(
      'watch-question',
      '-q (--question) and --watch cannot be combined: -q runs nothing and answers once, a watch runs (and deploys) on every change',
      {
        hint: 'drop --watch to ask once whether anything would run, or drop -q to watch',
      },
    );
  }
  if (options.dryRun) {
    throw configError(
      'watch-dry-run',
      '-n (--dry-run) and --watch cannot be combined: -n runs nothing, a watch runs (and deploys) on every change',
      { hint: 'drop --watch to list once what would run, or drop -n to watch' },
    );
  }
}

function clock(): string {
  return new Date().toTimeString().slice(0, 8);
}
