import { describeReason, type BuildSummary } from '@lbuild/core';

/** The one machine-readable summary `--json` prints: stable field names, reasons as text and data. */
export function jsonSummary(summary: BuildSummary, exitCode: number): string {
  return JSON.stringify(
    {
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
        ...(t.failure ? { failure: t.failure } : {}),
      })),
    },
    null,
    2,
  );
}
