/**
 * Maps `items` through `fn` with at most `limit` calls in flight, keeping the input order. The
 * first failure is thrown once the calls already started have settled, so no work outlives it.
 */
export async function mapConcurrent<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  const state: { next: number; failure: { error: unknown } | null } = { next: 0, failure: null };
  async function worker(): Promise<void> {
    while (state.failure === null && state.next < items.length) {
      const index = state.next++;
      try {
        results[index] = await fn(items[index] as T, index);
      } catch (error) {
        state.failure ??= { error };
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (state.failure !== null) throw state.failure.error;
  return results;
}
