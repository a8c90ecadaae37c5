import type { Fault, FaultRule, Operation } from './types.js';
import { OPERATIONS } from './types.js';

interface QueuedRule {
  rule: FaultRule;
  remaining: number;
}

/** Faults queued for the next N matching calls, first queued first applied. */
export class FaultQueue {
  private rules: QueuedRule[] = [];

  add(rule: FaultRule): void {
    validateFaultRule(rule);
    this.rules.push({ rule, remaining: rule.times ?? 1 });
  }

  clear(): void {
    this.rules = [];
  }

  /** Rules that still have calls left, with `times` set to what remains. */
  pending(): FaultRule[] {
    return this.rules.map(({ rule, remaining }) => ({ ...rule, times: remaining }));
  }

  /** Takes one use of the first rule matching this call. */
  take(operation: Operation, functionName: string | undefined): Fault | undefined {
    const index = this.rules.findIndex(
      ({ rule }) =>
        (rule.operation === '*' || rule.operation === operation) &&
        (rule.functionName === undefined || rule.functionName === functionName),
    );
    if (index < 0) return undefined;
    const queued = this.rules[index];
    if (!queued) return undefined;
    queued.remaining -= 1;
    if (queued.remaining <= 0) this.rules.splice(index, 1);
    return queued.rule.fault;
  }
}

/** Throws a TypeError saying what is wrong with a rule that came from a test or over HTTP. */
export function validateFaultRule(value: unknown): asserts value is FaultRule {
  if (typeof value !== 'object' || value === null)
    throw new TypeError('a fault rule must be an object');
  const rule = value as Record<string, unknown>;
  const op = rule.operation;
  if (op !== '*' && !OPERATIONS.includes(op as Operation)) {
    throw new TypeError(
      `unknown operation ${JSON.stringify(op)}: use '*' or one of ${OPERATIONS.join(', ')}`,
    );
  }
  if (rule.functionName !== undefined && typeof rule.functionName !== 'string') {
    throw new TypeError('functionName must be a string');
  }
  if (
    rule.times !== undefined &&
    (typeof rule.times !== 'number' || !Number.isInteger(rule.times) || rule.times < 1)
  ) {
    throw new TypeError('times must be a positive integer');
  }
  const rawFault: unknown = rule.fault;
  if (typeof rawFault !== 'object' || rawFault === null)
    throw new TypeError('fault must be an object');
  const fault = rawFault as Record<string, unknown>;
  switch (fault.kind) {
    case 'error':
      if (typeof fault.status !== 'number' || fault.status < 400 || fault.status > 599) {
        throw new TypeError('an error fault needs a status from 400 to 599');
      }
      if (typeof fault.type !== 'string' || fault.type === '')
        throw new TypeError('an error fault needs a type');
      return;
    case 'drop':
      if (fault.phase !== undefined && fault.phase !== 'before' && fault.phase !== 'after') {
        throw new TypeError("a drop fault's phase is 'before' or 'after'");
      }
      return;
    case 'delay':
      if (typeof fault.ms !== 'number' || fault.ms < 0)
        throw new TypeError('a delay fault needs ms >= 0');
      return;
    case 'update-failed':
      if (typeof fault.reason !== 'string')
        throw new TypeError('an update-failed fault needs a reason');
      return;
    default:
      throw new TypeError(
        `unknown fault kind ${JSON.stringify(fault.kind)}: use error, drop, delay or update-failed`,
      );
  }
}

/** Shorthands for the common faults. */
export const faults = {
  conflict: (
    message = 'The operation cannot be performed at this time. An update is in progress.',
  ): Fault => ({
    kind: 'error',
    status: 409,
    type: 'ResourceConflictException',
    message,
  }),
  throttle: (retryAfterSeconds?: number): Fault => ({
    kind: 'error',
    status: 429,
    type: 'TooManyRequestsException',
    message: 'Rate exceeded',
    ...(retryAfterSeconds !== undefined ? { retryAfterSeconds } : {}),
  }),
  serviceError: (): Fault => ({
    kind: 'error',
    status: 500,
    type: 'ServiceException',
    message: 'Internal error',
  }),
  drop: (phase: 'before' | 'after' = 'before'): Fault => ({ kind: 'drop', phase }),
  delay: (ms: number): Fault => ({ kind: 'delay', ms }),
  updateFailed: (reason: string, reasonCode = 'InvalidConfiguration'): Fault => ({
    kind: 'update-failed',
    reason,
    reasonCode,
  }),
} as const;
