import { setTimeout as sleep } from 'node:timers/promises';
import { isAbortError } from '@lbuild/core';
import { classify, errorName, toLbuildError, type ErrorClass } from './aws-errors.js';

/** How persistently a deploy retries a call. */
export interface RetryTuning {
  /** First retry delay, doubled each time. */
  baseDelayMs: number;
  /** Longest single retry delay. */
  maxDelayMs: number;
  /** Retries after the first attempt. */
  maxRetries: number;
}

export const DEFAULT_RETRY: RetryTuning = {
  baseDelayMs: 1000,
  maxDelayMs: 20_000,
  maxRetries: 6,
};

export interface RetryNotice {
  what: string;
  why: string;
  error: string;
  delayMs: number;
  attempt: number;
}

export interface RetryOptions {
  tuning: RetryTuning;
  /** The function the call is for, named in the failure. */
  functionName: string;
  signal?: AbortSignal | undefined;
  /** Decides a class for errors the call knows better about (undefined: the usual one). */
  override?: (error: unknown) => ErrorClass | undefined;
  onRetry?: (notice: RetryNotice) => void;
  /** Runs after the delay that follows a 409 (a change waits for the function's own update). */
  afterConflict?: () => Promise<unknown>;
}

/**
 * Runs `attempt`, retrying busy (409), throttled, 5xx and network failures with jittered
 * exponential backoff; what escapes is mapped by {@link toLbuildError}.
 */
export async function retrying<T>(
  what: string,
  attempt: () => Promise<T>,
  options: RetryOptions,
): Promise<T> {
  const { tuning, signal } = options;
  for (let i = 0; ; i++) {
    signal?.throwIfAborted();
    try {
      return await attempt();
    } catch (error) {
      if (isAbortError(error) || signal?.aborted === true) throw error;
      const kind = options.override?.(error) ?? classify(error);
      if (kind === 'other' || i >= tuning.maxRetries) {
        throw toLbuildError(error, what, options.functionName);
      }
      const full = Math.min(tuning.baseDelayMs * 2 ** i, tuning.maxDelayMs);
      const delayMs = Math.round(full / 2 + (Math.random() * full) / 2);
      options.onRetry?.({
        what,
        why: kind === 'conflict' ? 'Lambda is busy with another update' : 'Lambda did not answer',
        error: errorName(error),
        delayMs,
        attempt: i + 2,
      });
      await sleep(delayMs, undefined, signal ? { signal } : {});
      if (kind === 'conflict') await options.afterConflict?.();
    }
  }
}
