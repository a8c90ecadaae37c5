/**
 * Maps `items` through `fn` with at most `limit` calls in flight (file handles are finite),
 * keeping the input order. The first failure is thrown once the calls already started have
 * settled, and no new call starts after it, so no work outlives it.
 */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  const state: { next: number; failure: { error: unknown } | null } = { next: 0, failure: null };
  const worker = async (): Promise<void> => {
    while (state.failure === null && state.next < items.length) {
      const index = state.next++;
      try {
        results[index] = await fn(items[index] as T, index);
      } catch (error) {
        state.failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (state.failure !== null) throw state.failure.error;
  return results;
}

/** A counting semaphore: the scheduler's job slots (`-j`). */
export class Semaphore {
  #free: number;
  readonly #waiting: (() => void)[] = [];

  constructor(slots: number) {
    this.#free = Math.max(1, slots);
  }

  async acquire(): Promise<() => void> {
    if (this.#free > 0) {
      this.#free--;
    } else {
      await new Promise<void>((resolve) => this.#waiting.push(resolve));
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const wake = this.#waiting.shift();
      if (wake) wake();
      else this.#free++;
    };
  }
}
