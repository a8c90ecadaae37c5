import { describeReason, type BuildSummary } from '@lbuild/core';
import { failureJson } from './failure.js';

/**
 * The one machine-readable summary `--json` prints: stable field names, reasons as text and data.
 * A watch prints one per cycle, each on one line (JSON Lines), led by the cycle's `changed`.
 */
export function jsonSummary(
  summary: BuildSummary,
  exitCode: number,
  cycle?: { changed: readonly string[] },
): string {
  return JSON.stringify(
    {
      ...(cycle ? { changed: cycle.changed } : {}),
      status: summary.status,
      mode: summary.mode,
      exitCode,
      durationMs: summary.durationMs,
      targets: summary.targets.map((t) => ({
        key: t.key,
        kind: t.kind,
        status: t.status,
        reasons: t.reasons.map(describeReason),
        reasonDetails: t.reasons,
        durationMs: t.durationMs,
        ...(t.outputHash ? { outputHash: t.outputHash } : {}),
        ...(t.unchanged !== undefined ? { unchanged: t.unchanged } : {}),
        ...(t.outputs ? { outputs: t.outputs } : {}),
        ...(t.value !== undefined ? { value: t.value } : {}),
        ...(t.changedDuringRun ? { changedDuringRun: t.changedDuringRun } : {}),
        ...(t.restored ? { restored: t.restored } : {}),
        ...(t.failure ? { failure: failureJson(t.failure) } : {}),
      })),
    },
    null,
    cycle ? undefined : 2,
  );
}
