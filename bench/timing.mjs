// Helpers shared by the benchmarks: run commands interleaved (so machine noise hits all of
// them alike) and report medians.
import { spawnSync } from 'node:child_process';

export function timeOnce(command, args, options = {}) {
  const start = process.hrtime.bigint();
  const result = spawnSync(command, args, { stdio: 'ignore', ...options });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  return { ms, status: result.status };
}

export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Runs each case `runs` times, round-robin, and returns median ms per case name. */
export function interleaved(cases, runs, { warmup = 2 } = {}) {
  const samples = Object.fromEntries(cases.map((c) => [c.name, []]));
  for (let i = 0; i < warmup + runs; i++) {
    for (const c of cases) {
      c.before?.();
      const { ms, status } = timeOnce(c.command, c.args, c.options);
      if (c.expectStatus !== undefined && status !== c.expectStatus) {
        throw new Error(`${c.name}: exit status ${status}, expected ${c.expectStatus}`);
      }
      if (i >= warmup) samples[c.name].push(ms);
    }
  }
  return Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, median(v)]));
}
