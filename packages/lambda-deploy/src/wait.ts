import { setTimeout as sleep } from 'node:timers/promises';
import type { FunctionConfiguration } from '@aws-sdk/client-lambda';
import { buildError } from '@lbuild/core';

/** How a deploy waits for Lambda to finish an update. */
export interface WaitTuning {
  /** How often to poll while an update is in progress. */
  pollIntervalMs: number;
  /** How long to wait for one update to finish. */
  timeoutMs: number;
}

export const DEFAULT_WAIT: WaitTuning = { pollIntervalMs: 1000, timeoutMs: 10 * 60_000 };

export interface WaitOptions {
  tuning: WaitTuning;
  functionName: string;
  /**
   * What we just asked for (`create`, `code update`...): a Failed state or update is then its
   * failure. Undefined: waiting for someone else's update, whose outcome is not ours to judge.
   */
  ours: string | undefined;
  signal?: AbortSignal | undefined;
  /** Called once, when the first read finds the function busy. */
  onWait?: (message: string) => void;
}

/** A function Lambda is still creating or updating. */
export const isBusy = (c: Pick<FunctionConfiguration, 'State' | 'LastUpdateStatus'>): boolean =>
  c.State === 'Pending' || c.LastUpdateStatus === 'InProgress';

/** Polls `read` until the function is neither Pending nor InProgress. */
export async function waitUntilSettled(
  read: () => Promise<FunctionConfiguration>,
  options: WaitOptions,
): Promise<FunctionConfiguration> {
  const { tuning, functionName: fn, ours, signal } = options;
  const deadline = Date.now() + tuning.timeoutMs;
  let announced = false;
  for (;;) {
    const c = await read();
    if (ours !== undefined && c.State === 'Failed') {
      throw buildError(
        'lambda-state-failed',
        `${ours === 'create' ? `Lambda could not create ${fn}` : `${fn} is in state Failed after the ${ours}`}: ${c.StateReason ?? 'no reason given'}${c.StateReasonCode ? ` (${c.StateReasonCode})` : ''}`,
      );
    }
    if (ours !== undefined && c.LastUpdateStatus === 'Failed') {
      throw buildError(
        'lambda-update-failed',
        `Lambda could not apply the ${ours} to ${fn}: ${c.LastUpdateStatusReason ?? 'no reason given'}${
          c.LastUpdateStatusReasonCode ? ` (${c.LastUpdateStatusReasonCode})` : ''
        }`,
        {
          hint: 'the function keeps its previous code and configuration; fix the cause and deploy again',
        },
      );
    }
    if (!isBusy(c)) return c;
    if (Date.now() > deadline) {
      throw buildError(
        'lambda-update-timeout',
        `${fn} was still ${c.State === 'Pending' ? 'Pending' : 'updating'} after ${Math.round(tuning.timeoutMs / 1000)} s`,
      );
    }
    if (!announced) {
      options.onWait?.(
        `waiting for ${fn} to finish ${c.State === 'Pending' ? 'being created' : 'updating'}`,
      );
      announced = true;
    }
    await sleep(tuning.pollIntervalMs, undefined, signal ? { signal } : {});
  }
}
