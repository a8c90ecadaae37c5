import {
  configError,
  watch,
  type BuildSummary,
  type Project,
  type TargetKey,
  type WatchEvent,
} from '@lbuild/core';
import { workingDirectory, type GlobalOptions } from '../context.js';
import { colorsFor } from '../render/colors.js';
import { formatFailure } from '../render/failure.js';
import { changedDuringRunLine, formatDuration } from '../render/human.js';
import { plugins } from '../plugins.js';

/**
 * `lbuild --watch`: one line per rebuild (what changed, which targets ran, how long, the new
 * zip hash; for deploys whether it uploaded), errors as they come, exit 0 on Ctrl-C.
 */
export async function watchCommand(
  names: string[],
  options: GlobalOptions,
  select?: (project: Project, names: readonly string[]) => TargetKey[],
): Promise<number> {
  refuseReadOnlyModes(options);
  const controller = new AbortController();
  const stop = () => controller.abort();
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  const out = process.stdout;
  const c = colorsFor(out);
  const cwd = workingDirectory(options);
  let first = true;
  /** The last build failed: the next good one gets a line even when it ran nothing. */
  let failing = false;
  const onEvent = (event: WatchEvent) => {
    switch (event.type) {
      case 'watching':
        if (first)
          out.write(
            c.dim(
              `watching ${event.paths} paths under ${event.root}${event.polling ? ' (polling)' : ''}; Ctrl-C to stop\n`,
            ),
          );
        first = false;
        return;
      case 'config-error':
        process.stderr.write(
          formatFailure(event.failure, colorsFor(process.stderr), cwd, 'config error') + '\n',
        );
        if (event.keptPrevious)
          process.stderr.write(c.dim('still watching with the last good configuration\n'));
        return;
      case 'config-reloaded':
        out.write(`${stamp()} configuration reloaded\n`);
        return;
      case 'rebuild-start':
        return;
      case 'rebuild-finish':
        renderRebuild(event.changed, event.summary);
        return;
      case 'build-error':
        failing = true;
        process.stderr.write(formatFailure(event.failure, colorsFor(process.stderr), cwd) + '\n');
        return;
    }
  };
  const renderRebuild = (changed: string[], summary: BuildSummary) => {
    const ran = summary.targets.filter(
      (t) => t.status === 'built' || t.status === 'failed' || t.status === 'interrupted',
    );
    // After a failure, a fix that puts back what the last good build saw runs nothing: say ok.
    const recovered = failing && summary.status === 'ok';
    failing = summary.status === 'failed';
    if (ran.length === 0 && summary.status === 'ok' && !recovered) return; // A touch or an unchanged save.
    const what = changed.length
      ? `${changed.slice(0, 3).join(', ')}${changed.length > 3 ? ` (+${changed.length - 3} more)` : ''}`
      : 'start';
    const targets = ran.map((t) => (t.status === 'built' ? t.key : c.red(t.key))).join(', ');
    const summaries = ran.flatMap((t) => (t.summary ? [t.summary] : []));
    const status =
      summary.status === 'ok'
        ? c.green('ok')
        : summary.status === 'failed'
          ? c.red('failed')
          : summary.status;
    out.write(
      `${stamp()} ${what} → ${targets || 'nothing to run'} ${status} in ${formatDuration(summary.durationMs)}${summaries.length ? ' — ' + summaries.join('; ') : ''}\n`,
    );
    for (const t of summary.targets)
      if (t.changedDuringRun)
        process.stderr.write(changedDuringRunLine(t.key, t.changedDuringRun) + '\n');
    for (const t of summary.targets)
      if (t.failure)
        process.stderr.write(formatFailure(t.failure, colorsFor(process.stderr), cwd) + '\n');
  };
  try {
    await watch({
      start: workingDirectory(options),
      plugins: plugins(),
      names,
      ...(select ? { select } : {}),
      build: {
        ...(options.jobs ? { jobs: options.jobs } : {}),
        keepGoing: Boolean(options.keepGoing),
        explain: Boolean(options.explain),
        external: !options.offline,
      },
      ...(options.poll !== undefined || options.pollDefault ? { poll: options.poll ?? true } : {}),
      signal: controller.signal,
      onEvent,
    });
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
  return 0;
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

function stamp(): string {
  return new Date().toTimeString().slice(0, 8);
}
