import {
  describeReason,
  type BuildEvent,
  type BuildMode,
  type BuildSummary,
  type TargetKey,
  type TargetReport,
} from '@lbuild/core';
import { colorsFor, type Colors } from './colors.js';
import { formatFailure } from './failure.js';

export interface HumanOptions {
  /** Streams are passed as getters: creating process.stdout costs start-up time, and `-q` prints nothing. */
  out: () => NodeJS.WriteStream;
  err: () => NodeJS.WriteStream;
  cwd: string;
  mode: BuildMode;
  explain: boolean;
  verbose: boolean;
}

/** Without a terminal, a running target's progress is printed at most this often. */
const PROGRESS_LINE_MS = 2000;

const SPINNER = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

/**
 * Concise lines for people: one per target that runs, its reasons with `--explain`, the
 * commands' own output as it comes, and on a terminal a live status line for long work.
 */
export class HumanRenderer {
  readonly #o: HumanOptions;
  #colors: Colors | undefined;
  readonly #running = new Map<
    TargetKey,
    { started: number; progress?: string; printed?: number }
  >();
  #timer: NodeJS.Timeout | undefined;
  #frame = 0;
  #statusShown = false;

  constructor(options: HumanOptions) {
    this.#o = options;
  }

  get #c(): Colors {
    this.#colors ??= colorsFor(this.#o.out());
    return this.#colors;
  }

  get #live(): boolean {
    return this.#o.out().isTTY && this.#o.mode === 'build' && process.env.CI === undefined;
  }

  onEvent = (event: BuildEvent): void => {
    const c = this.#c;
    switch (event.type) {
      case 'build-start':
      case 'build-finish':
        return;
      case 'lock-wait':
        this.#line(
          `${c.yellow('waiting')} for another lbuild${event.holder ? ` (${event.holder})` : ''} to finish building this project…`,
          true,
        );
        return;
      case 'target-start': {
        this.#running.set(event.key, { started: Date.now() });
        this.#line(`${c.cyan('▶')} ${c.bold(event.key)}`);
        if (this.#o.explain)
          for (const r of event.reasons) this.#line(c.dim(`    because ${describeReason(r)}`));
        this.#startTicker();
        return;
      }
      case 'target-output':
        this.#clearStatus();
        (event.stream === 'stdout' ? this.#o.out() : this.#o.err()).write(event.text);
        return;
      case 'target-log':
        if (event.level === 'debug' && !this.#o.verbose) return;
        this.#line(
          event.level === 'warn'
            ? `  ${c.yellow('warning:')} ${event.message}`
            : `  ${event.message}`,
          event.level === 'warn',
        );
        return;
      case 'target-progress': {
        const running = this.#running.get(event.key);
        if (!running) return;
        running.progress = `${event.done}/${event.total}${event.unit ? ' ' + event.unit : ''}${event.detail ? `, ${event.detail}` : ''}`;
        // Without a live status line (a log, CI), long work still shows: what it works on, at
        // most every PROGRESS_LINE_MS, and nothing for work done sooner.
        const now = Date.now();
        if (
          event.detail &&
          !this.#live &&
          now - (running.printed ?? running.started) >= PROGRESS_LINE_MS
        ) {
          running.printed = now;
          this.#line(c.dim(`  ${event.key}: ${running.progress}`));
        }
        return;
      }
      case 'target-changed-during-run':
        this.#line(changedDuringRunLine(event.key, event.changed), true);
        return;
      case 'cache-warning':
        this.#line(`${c.yellow('warning:')} ${event.message}`, true);
        return;
      case 'target-finish':
        this.#running.delete(event.report.key);
        this.#finish(event.report);
        if (this.#running.size === 0) this.#stopTicker();
        return;
    }
  };

  #finish(report: TargetReport): void {
    const c = this.#c;
    const time = c.dim(`(${formatDuration(report.durationMs)})`);
    switch (report.status) {
      case 'built':
        if (report.restored) {
          // Said as a build says it, so a log reads the same whether pip ran or not.
          const where = report.restored.materialised ? '' : ' (stamp only: nothing here reads it)';
          this.#line(
            `${c.green('✓')} ${report.key} ${c.cyan('restored from cache')} ${report.restored.key.slice(0, 12)}${where} ${time}`,
          );
          if (this.#o.explain)
            for (const r of report.reasons) this.#line(c.dim(`    because ${describeReason(r)}`));
          if (report.summary && report.restored.materialised) this.#line(`  ${report.summary}`);
          return;
        }
        this.#line(
          `${c.green('✓')} ${report.key} ${time}${report.unchanged ? c.dim(' output unchanged') : ''}`,
        );
        if (report.summary) this.#line(`  ${report.summary}`);
        return;
      case 'failed':
        this.#line(`${c.red('✗')} ${report.key} ${c.red('failed')} ${time}`, true);
        if (report.failure) this.#line(formatFailure(report.failure, c, this.#o.cwd), true);
        return;
      case 'interrupted':
        this.#line(`${c.red('✗')} ${report.key} interrupted`, true);
        return;
      case 'stale':
        if (this.#o.explain)
          this.#line(`${report.key} would run: ${report.reasons.map(describeReason).join('; ')}`);
        return;
      case 'would-run':
        this.#line(
          `${c.yellow('would run')} ${report.key}${report.description ? c.dim(`: ${report.description}`) : ''}`,
        );
        if (this.#o.explain)
          for (const r of report.reasons) this.#line(c.dim(`    because ${describeReason(r)}`));
        return;
      case 'up-to-date':
        if (this.#o.verbose) this.#line(c.dim(`  ${report.key} up to date`));
        return;
      case 'skipped':
        if (this.#o.verbose) this.#line(c.dim(`  ${report.key} skipped`));
        return;
    }
  }

  summary(summary: BuildSummary): void {
    const c = this.#c;
    const counts = (status: TargetReport['status']) =>
      summary.targets.filter((t) => t.status === status).length;
    const total = summary.targets.length;
    const took = formatDuration(summary.durationMs);
    switch (summary.mode) {
      case 'query':
        if (this.#o.explain)
          this.#line(
            summary.status === 'ok'
              ? `lbuild: up to date (${total} targets)`
              : `lbuild: not up to date`,
          );
        return;
      case 'dry-run':
        this.#line(
          counts('would-run')
            ? `lbuild: ${counts('would-run')} of ${total} targets would run`
            : `lbuild: up to date (${total} targets), nothing would run`,
        );
        return;
      case 'build':
        break;
    }
    switch (summary.status) {
      case 'ok': {
        const built = counts('built');
        if (built === 0) {
          this.#line(`lbuild: up to date (${total} target${total === 1 ? '' : 's'})`);
        } else {
          const unchanged = summary.targets.filter((t) => t.unchanged).length;
          const restored = summary.targets.filter((t) => t.restored).length;
          const notes = [
            ...(restored ? [`${restored} restored from cache`] : []),
            ...(unchanged ? [`${unchanged} with unchanged output`] : []),
          ];
          this.#line(
            `lbuild: ${c.green('built')} ${built} target${built === 1 ? '' : 's'}${notes.length ? ` (${notes.join(', ')})` : ''}, ${total - built} up to date, in ${took}`,
          );
        }
        return;
      }
      case 'failed':
        this.#line(
          `lbuild: ${c.red('build failed')}: ${counts('failed')} failed, ${counts('skipped')} skipped, ${counts('built')} built, in ${took}`,
          true,
        );
        return;
      case 'interrupted':
        this.#line(
          `lbuild: ${c.red('interrupted')}; finished targets keep their stamps, the rest will run next time`,
          true,
        );
        return;
      case 'stale':
        return;
    }
  }

  #line(text: string, error = false): void {
    this.#clearStatus();
    (error ? this.#o.err() : this.#o.out()).write(text + '\n');
    this.#drawStatus();
  }

  #startTicker(): void {
    if (!this.#live || this.#timer) return;
    this.#timer = setInterval(() => {
      this.#frame++;
      this.#clearStatus();
      this.#drawStatus();
    }, 120);
    this.#timer.unref();
  }

  #stopTicker(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    this.#clearStatus();
  }

  #drawStatus(): void {
    if (!this.#live || this.#running.size === 0 || !this.#timer) return;
    const now = Date.now();
    const parts = [...this.#running].map(
      ([key, r]) =>
        `${key} ${formatDuration(now - r.started)}${r.progress ? ` ${r.progress}` : ''}`,
    );
    const text = `${SPINNER[this.#frame % SPINNER.length] ?? ''} ${parts.join(', ')}`;
    const width = this.#o.out().columns || 80;
    this.#o.out().write(this.#c.dim(text.slice(0, width - 1)));
    this.#statusShown = true;
  }

  #clearStatus(): void {
    if (!this.#statusShown) return;
    this.#o.out().write('\r\x1b[K');
    this.#statusShown = false;
  }
}

/** The one line for a run that was not stamped because what it read changed meanwhile. */
export function changedDuringRunLine(key: TargetKey, changed: readonly string[]): string {
  const what = `${changed.slice(0, 3).join(', ')}${changed.length > 3 ? ` (+${changed.length - 3} more)` : ''}`;
  return `lbuild: ${key}: ${what} changed while the target ran; not stamped, the next build runs it again`;
}

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${ms}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(2)}s`;
  return `${Math.floor(ms / 60_000)}m${Math.round((ms % 60_000) / 1000)}s`;
}
