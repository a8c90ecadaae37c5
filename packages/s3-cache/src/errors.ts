import { CacheStoreError } from '@lbuild/core';

/** How SDK and socket errors become a {@link CacheStoreError}'s problem and message. */

const name = (error: unknown): string => (error instanceof Error ? error.name : typeof error);
const code = (error: unknown): unknown => (error as { code?: unknown } | undefined)?.code;
const text = (error: unknown): string => (error instanceof Error ? error.message : String(error));

export const httpStatus = (error: unknown): number | undefined =>
  (error as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata?.httpStatusCode;

/** S3's answers for a key (or blob) that is not there: a miss, not a failure. */
export function isNotFound(error: unknown): boolean {
  const n = name(error);
  // A missing bucket is a 404 too, but S3 names it (except on HEAD, which has no body).
  if (n === 'NoSuchBucket') return false;
  return n === 'NoSuchKey' || n === 'NotFound' || httpStatus(error) === 404;
}

/** S3's answers to a conditional write (If-None-Match: *) on a key that exists or is being written. */
export function isConditionFailed(error: unknown): boolean {
  const n = name(error);
  const status = httpStatus(error);
  return (
    n === 'PreconditionFailed' ||
    n === 'ConditionalRequestConflict' ||
    status === 412 ||
    status === 409
  );
}

const DENIED = new Set([
  'AccessDenied',
  'Forbidden',
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'ExpiredToken',
  'InvalidToken',
  'TokenRefreshRequired',
  'AllAccessDisabled',
  'AccountProblem',
]);

const UNREACHABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ERR_STREAM_PREMATURE_CLOSE',
]);

const DIGEST_MISMATCH = new Set(['BadDigest', 'InvalidDigest', 'XAmzContentChecksumMismatch']);

/** Values that must never reach a message, even if a server or proxy echoed them back. */
function redact(message: string): string {
  let out = message;
  for (const variable of ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN']) {
    const value = process.env[variable];
    if (value !== undefined && value.length >= 8) out = out.split(value).join('***');
  }
  return out;
}

export interface Doing {
  /** `s3://bucket/prefix`. */
  where: string;
  bucket: string;
  /** What was being done: `reading entry 3fa4…`. */
  what: string;
}

/**
 * The CacheStoreError for a failed S3 call. `timedOut` says the store's own deadline (not the
 * caller's signal) stopped it.
 */
export function toStoreError(error: unknown, doing: Doing, timedOut = false): CacheStoreError {
  const n = name(error);
  const c = code(error);
  const status = httpStatus(error);
  // The SDK names an error without a body (a HEAD's) "Unknown"; its status says more.
  const label = (n === 'Unknown' || n === 'Error') && status !== undefined ? `HTTP ${status}` : n;
  const detail = n === 'Error' || n === 'Unknown' ? text(error) : `${n}: ${text(error)}`;
  const make = (problem: CacheStoreError['problem'], message: string): CacheStoreError =>
    new CacheStoreError(problem, redact(`${message} (${doing.what})`), { cause: error });

  if (timedOut || n === 'TimeoutError' || c === 'ETIMEDOUT' || n === 'RequestTimeout')
    return make('timeout', `${doing.where} did not answer in time`);
  if (n === 'CredentialsProviderError' || /Could not load credentials/i.test(text(error)))
    return make(
      'denied',
      `${doing.where} got no AWS credentials: set AWS_PROFILE (and run aws sso login for SSO profiles), or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY`,
    );
  if (DENIED.has(n) || status === 401 || status === 403)
    return make(
      'denied',
      `${doing.where} refused access (${label}): check which AWS credentials are in use (aws sts get-caller-identity) and their permissions on the bucket`,
    );
  if (n === 'NoSuchBucket')
    return make('other', `the bucket ${doing.bucket} of ${doing.where} does not exist`);
  if (DIGEST_MISMATCH.has(n))
    return make(
      'other',
      `${doing.where} refused an upload whose bytes did not match their SHA-256 (${n}); the file changed while it was read, or something between lbuild and S3 changed the bytes`,
    );
  if (/^aborted$|premature close/i.test(text(error)) || n === 'IncompleteBody')
    return make('unreachable', `${doing.where} closed the connection in the middle of an answer`);
  if (
    (typeof c === 'string' && UNREACHABLE_CODES.has(c)) ||
    /socket hang up|ECONNRESET|ECONNREFUSED/i.test(text(error))
  )
    return make('unreachable', `${doing.where} is unreachable (${detail})`);
  return make(
    'other',
    status !== undefined
      ? `${doing.where} answered HTTP ${status} (${detail})`
      : `${doing.where} failed (${detail})`,
  );
}
