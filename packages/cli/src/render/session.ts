import type { BuildEvent, BuildMode, BuildSummary } from '@lbuild/core';
import type { GlobalOptions } from '../context.js';
import { workingDirectory } from '../context.js';
import { exitCodeForSummary } from '../exit-code.js';
import { HumanRenderer } from './human.js';
import { jsonSummary } from './json-summary.js';
import { createJsonLogger, type JsonLog } from './log.js';

/**
 * How a build is printed, whether it is a one-shot build or a watch cycle: the engine's events
 * as they come (people's lines, or pino lines with `--log-format json`), then the summary line
 * and, with `--json`, the machine-readable summary on stdout.
 */
export class SessionRenderer {
  readonly #options: GlobalOptions;
  /** stdout carries a command's own report (`lbuild invoke`'s result), not the build's. */
  readonly #report: boolean;
  readonly #human: HumanRenderer | undefined;
  /** Set with `--log-format json`: every line is a pino line. */
  readonly log: JsonLog | undefined;

  private constructor(
    options: GlobalOptions,
    report: boolean,
    human?: HumanRenderer,
    log?: JsonLog,
  ) {
    this.#options = options;
    this.#report = report;
    this.#human = human;
    this.log = log;
  }

  /**
   * With `stdout: 'report'`, people's lines go to stderr and no `--json` summary is printed:
   * stdout is the command's (`lbuild invoke` prints the handler's result there).
   */
  static async create(
    options: GlobalOptions,
    mode: BuildMode,
    stdout: 'summary' | 'report' = 'summary',
  ): Promise<SessionRenderer> {
    const report = stdout === 'report';
    const toStderr = options.json === true || report;
    // pino writes where people's lines would: stderr when stdout carries --json.
    if (options.logFormat === 'json')
      return new SessionRenderer(
        options,
        report,
        undefined,
        await createJsonLogger(toStderr ? 2 : 1),
      );
    const human = new HumanRenderer({
      out: () => (toStderr ? process.stderr : process.stdout),
      err: () => process.stderr,
      cwd: workingDirectory(options),
      mode,
      explain: Boolean(options.explain),
      verbose: Boolean(options.verbose),
    });
    return new SessionRenderer(options, report, human);
  }

  /** Where people's lines go: stdout, or stderr when stdout carries `--json` or a report. */
  out(): NodeJS.WriteStream {
    return this.#options.json || this.#report ? process.stderr : process.stdout;
  }

  /** Whether stdout carries the build's `--json` summaries (and error objects). */
  get jsonSummaries(): boolean {
    return this.#options.json === true && !this.#report;
  }

  readonly onEvent = (event: BuildEvent): void => {
    if (this.log) this.log.onEvent(event);
    else this.#human?.onEvent(event);
  };

  /**
   * The end of a build: its summary line (unless `quiet`: a watch cycle that ran nothing) and the
   * `--json` summary (every cycle has one). Returns the exit code the build earns.
   */
  finish(summary: BuildSummary, cycle?: { changed: readonly string[]; quiet: boolean }): number {
    const code = exitCodeForSummary(summary);
    if (!cycle?.quiet) this.#human?.summary(summary);
    if (this.jsonSummaries) process.stdout.write(jsonSummary(summary, code, cycle) + '\n');
    return code;
  }

  /**
   * The end of a build that only prepares what a command then reports on (`lbuild size`): the
   * summary line when something ran or failed, no `--json` summary (the command prints its own).
   */
  finishQuietly(summary: BuildSummary): number {
    if (summary.targets.some((t) => t.status !== 'up-to-date')) this.#human?.summary(summary);
    return exitCodeForSummary(summary);
  }
}
