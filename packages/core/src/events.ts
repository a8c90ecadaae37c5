import type { Failure } from './failure.js';
import type { TargetKey } from './key.js';
import type { Reason } from './reason.js';
import type { Json, LogLevel } from './target.js';

/**
 * What a target ended as.
 * - `up-to-date`: its trace verified; nothing ran.
 * - `built`: it ran and succeeded (see `changedDuringRun` for a run that was not stamped).
 * - `failed`: it ran and failed (or could not start).
 * - `skipped`: not run because a dependency failed or the build stopped.
 * - `stale`: `-q` found it must run.
 * - `would-run`: `-n` found it must run.
 * - `interrupted`: it was running when the build was interrupted.
 */
export type TargetStatus =
  'up-to-date' | 'built' | 'failed' | 'skipped' | 'stale' | 'would-run' | 'interrupted';

export interface TargetReport {
  key: TargetKey;
  kind: string;
  /** What the target does, from its definition (shown by `-n`). */
  description?: string;
  status: TargetStatus;
  reasons: Reason[];
  durationMs: number;
  outputHash?: string;
  /** Built, and produced the same output hash as before: dependents need not run (early cutoff). */
  unchanged?: boolean;
  outputs?: Record<string, string>;
  value?: Json;
  /**
   * Built, but what it depends on changed while it ran (root-relative paths of inputs and
   * snapshotted files that changed, appeared or vanished; `recipe field NAME` for a recipe
   * field): its outputs stand for this build, so dependents use them, but no stamp was written
   * and the next build runs it again.
   */
  changedDuringRun?: string[];
  /** The run's one-line summary for people (see RunOutcome.summary). */
  summary?: string;
  failure?: Failure;
  /**
   * Not run: its outputs were restored from the shared cache (status `built`). `key` is the
   * cache key; `materialised` false when only its stamp was written and the outputs were left in
   * the cache because nothing in this build reads them (see BuildOptions.cache).
   */
  restored?: { key: string; store: string; materialised: boolean };
}

export type BuildEvent =
  | { type: 'build-start'; targets: TargetKey[]; jobs: number; mode: BuildMode }
  | { type: 'lock-wait'; holder?: string }
  | { type: 'target-start'; key: TargetKey; kind: string; reasons: Reason[] }
  | { type: 'target-output'; key: TargetKey; stream: 'stdout' | 'stderr'; text: string }
  | {
      type: 'target-log';
      key: TargetKey;
      level: LogLevel;
      message: string;
      data?: Record<string, Json>;
    }
  | {
      type: 'target-progress';
      key: TargetKey;
      done: number;
      total: number;
      unit?: string;
      /** What the target works on now, for people. */
      detail?: string;
    }
  /** A run that succeeded but was not stamped: `changed` as in TargetReport.changedDuringRun. */
  | { type: 'target-changed-during-run'; key: TargetKey; changed: string[] }
  | { type: 'target-finish'; report: TargetReport }
  /** The shared cache could not be used for something (a store failed, an entry was bad). */
  | { type: 'cache-warning'; message: string; key?: TargetKey }
  | { type: 'build-finish'; summary: BuildSummary };

export type BuildMode = 'build' | 'query' | 'dry-run';

export interface BuildSummary {
  mode: BuildMode;
  /**
   * - `ok`: everything requested is built or up to date.
   * - `stale`: `-q` found work (or `-n` listed some).
   * - `failed`: a target failed.
   * - `interrupted`: the build was stopped by a signal.
   */
  status: 'ok' | 'stale' | 'failed' | 'interrupted';
  targets: TargetReport[];
  durationMs: number;
}
