import { LbuildError, isAbortError } from '@lbuild/core';
import type { BuildReason, ConfigReason } from '@lbuild/core';

/**
 * How AWS SDK errors read: their name, their HTTP status, whether a retry can help, and the
 * Failure a user gets when one escapes the retries.
 */

export const errorName = (error: unknown): string =>
  error instanceof Error ? error.name : typeof error;

export const httpStatus = (error: unknown): number | undefined =>
  (error as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata?.httpStatusCode;

const NETWORK_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'EPIPE',
  'ETIMEDOUT',
  'EAI_AGAIN',
  'ENOTFOUND',
  'ECONNABORTED',
]);

export type ErrorClass = 'conflict' | 'transient' | 'other';

/** How a failed call should be treated by the retry loop. */
export function classify(error: unknown): ErrorClass {
  const name = errorName(error);
  if (name === 'ResourceConflictException') return 'conflict';
  if (
    name === 'TooManyRequestsException' ||
    name === 'ThrottlingException' ||
    name === 'ServiceException' ||
    name === 'EC2ThrottledException' ||
    name === 'TimeoutError' ||
    name === 'RequestTimeout'
  ) {
    return 'transient';
  }
  const status = httpStatus(error);
  if (status !== undefined && (status >= 500 || status === 429)) return 'transient';
  const code = (error as { code?: unknown } | undefined)?.code;
  if (typeof code === 'string' && NETWORK_CODES.has(code)) return 'transient';
  if (error instanceof Error && /socket hang up|ECONNRESET|EPIPE/.test(error.message))
    return 'transient';
  return 'other';
}

/** The SDK error an LbuildError made by {@link toLbuildError} wraps (or the error itself). */
export const sdkCause = (error: unknown): unknown =>
  error instanceof LbuildError ? error.cause : error;

/** A RevisionId-guarded change refused because the function changed meanwhile. */
export const isPrecondition = (error: unknown): boolean =>
  error instanceof LbuildError && errorName(error.cause) === 'PreconditionFailedException';

export function failWith(
  kind: 'config',
  reason: ConfigReason,
  message: string,
  cause: unknown,
  hint?: string,
): LbuildError;
export function failWith(
  kind: 'build',
  reason: BuildReason,
  message: string,
  cause: unknown,
  hint?: string,
): LbuildError;
export function failWith(
  kind: 'config' | 'build',
  reason: ConfigReason | BuildReason,
  message: string,
  cause: unknown,
  hint?: string,
): LbuildError {
  const failure = { message, ...(hint !== undefined ? { hint } : {}) };
  return new LbuildError(
    kind === 'config'
      ? { ...failure, kind, reason: reason as ConfigReason }
      : { ...failure, kind, reason: reason as BuildReason },
    { cause },
  );
}

const ACCESS_DENIED = [
  'UnrecognizedClientException',
  'InvalidSignatureException',
  'ExpiredTokenException',
  'AccessDeniedException',
  'AccessDenied',
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
];

/** Turns an AWS SDK error that escaped the retries into a Failure a user can act on (the SDK error is its cause). */
export function toLbuildError(error: unknown, what: string, fn: string): unknown {
  if (error instanceof LbuildError || isAbortError(error)) return error;
  const name = errorName(error);
  const message = error instanceof Error ? error.message : String(error);
  if (name === 'CredentialsProviderError' || /Could not load credentials/.test(message)) {
    return failWith(
      'config',
      'aws-credentials',
      `no AWS credentials found for deploying ${fn}`,
      error,
      'set AWS_PROFILE (and run `aws sso login` for SSO profiles), or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY',
    );
  }
  if (/Region is missing/i.test(message)) {
    return failWith(
      'config',
      'aws-region',
      `no AWS region for deploying ${fn}`,
      error,
      'set region in [function.NAME] of lbuild.toml, or AWS_REGION, or a region in your AWS profile',
    );
  }
  if (ACCESS_DENIED.includes(name) || httpStatus(error) === 403) {
    return failWith(
      'config',
      'aws-access-denied',
      `AWS refused ${what} for ${fn}: ${name}: ${message}`,
      error,
      'check which AWS credentials are in use (aws sts get-caller-identity) and their permissions',
    );
  }
  if (classify(error) !== 'other') {
    return failWith(
      'build',
      'lambda-unavailable',
      `${what} for ${fn} kept failing: ${name}: ${message}`,
      error,
      'Lambda was busy, throttled or unreachable through every retry; try again later',
    );
  }
  return failWith(
    'build',
    'lambda-error',
    `AWS refused ${what} for ${fn}: ${name}: ${message}`,
    error,
  );
}
