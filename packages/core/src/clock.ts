/**
 * Milliseconds from a monotonic clock. `performance.now()` would do, but touching the global
 * `performance` loads perf_hooks, a measurable part of a no-op check's start-up.
 */
export function monotonicMs(): number {
  const [seconds, nanos] = process.hrtime();
  return seconds * 1000 + nanos / 1e6;
}
