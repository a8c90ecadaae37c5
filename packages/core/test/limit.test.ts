import { describe, expect, it } from 'vitest';
import { mapLimit } from '../src/index.js';

const tick = () => new Promise((resolve) => setTimeout(resolve, 5));

describe('mapLimit', () => {
  it('keeps the order and never has more than the limit in flight', async () => {
    let inFlight = 0;
    let most = 0;
    const results = await mapLimit([5, 1, 4, 2, 3], 2, async (n) => {
      most = Math.max(most, ++inFlight);
      await new Promise((resolve) => setTimeout(resolve, n * 3));
      inFlight--;
      return n * 10;
    });
    expect(results).toEqual([50, 10, 40, 20, 30]);
    expect(most).toBe(2);
  });

  it('starts nothing after a failure, and throws it once the calls in flight have settled', async () => {
    const started: number[] = [];
    const settled: number[] = [];
    const outcome = await mapLimit([0, 1, 2, 3, 4, 5], 2, async (n) => {
      started.push(n);
      await tick();
      if (n === 0) throw new Error('first fails');
      await tick();
      settled.push(n);
      return n;
    }).catch((error: unknown) => error);
    expect(outcome).toEqual(new Error('first fails'));
    // 1 was in flight when 0 failed: it finished before the failure was thrown; 2.. never began.
    expect(started).toEqual([0, 1]);
    expect(settled).toEqual([1]);
  });
});
