import type { FunctionCode } from '@aws-sdk/client-lambda';
import { HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { buildError, configError, formatBytes } from '@lbuild/core';
import { errorName, failWith, httpStatus, sdkCause } from './aws-errors.js';
import type { DeployClients } from './clients.js';
import type { FunctionConfig } from './config.js';
import { compareStored, pinnedVersion, zipDigests, type StoredObject } from './s3-integrity.js';

/** S3's answers to an upload whose bytes do not match its Content-MD5 or checksum header. */
const DIGEST_MISMATCH = new Set(['BadDigest', 'InvalidDigest', 'XAmzContentChecksumMismatch']);
const UPLOAD_CORRUPTED_HINT =
  'something between lbuild and S3 changed the bytes (a proxy, the network); deploy again';

export interface S3UploadArgs {
  config: FunctionConfig;
  clients: DeployClients;
  key: string;
  zipPath: string;
  body: Buffer;
  sha256Hex: string;
  sha256Base64: string;
  signal?: AbortSignal | undefined;
  /** Runs one S3 call with the deploy's retries. */
  retry: <T>(what: string, attempt: () => Promise<T>) => Promise<T>;
  onProgress: (message: string) => void;
}

/**
 * Puts the zip at its content-addressed key and returns the code source naming it. The object
 * already there is trusted only when the digests S3 reports for it match the zip (a same-size
 * object with other bytes is replaced), and an upload carries the zip's MD5 and SHA-256, which S3
 * checks against what it received.
 */
export async function uploadToS3(a: S3UploadArgs): Promise<FunctionCode> {
  const bucket = a.config.s3Bucket ?? '';
  const where = `s3://${bucket}/${a.key}`;
  const sendOpts = a.signal ? { abortSignal: a.signal } : {};
  const digests = zipDigests(a.body);
  if (digests.sha256Base64 !== a.sha256Base64) {
    throw buildError(
      'zip-changed',
      `the zip ${a.zipPath} changed after it was built: its SHA-256 is ${digests.sha256Base64}, the build's ${a.sha256Base64}`,
      { hint: 'build again, then deploy' },
    );
  }
  let present: (StoredObject & { VersionId?: string }) | undefined;
  try {
    const head = await a.retry('HeadObject', () =>
      a.clients.s3.send(
        new HeadObjectCommand({ Bucket: bucket, Key: a.key, ChecksumMode: 'ENABLED' }),
        sendOpts,
      ),
    );
    const stored = compareStored(head, digests);
    if (stored.verdict === 'same') present = head;
    else if (stored.verdict === 'different')
      a.onProgress(`${where} holds other bytes (${stored.reported}); replacing it`);
  } catch (error) {
    const cause = sdkCause(error);
    const status = httpStatus(cause);
    if (status !== 404 && status !== 403 && errorName(cause) !== 'NotFound')
      throw s3Error(a.config, error, where);
  }
  if (present) {
    a.onProgress(`${where} already holds this zip`);
  } else {
    a.onProgress(`uploading ${formatBytes(a.body.length)} to ${where}`);
    try {
      present = await a.retry('PutObject', () =>
        a.clients.s3.send(
          new PutObjectCommand({
            Bucket: bucket,
            Key: a.key,
            Body: a.body,
            ContentLength: a.body.length,
            ContentType: 'application/zip',
            ContentMD5: digests.md5Base64,
            ChecksumSHA256: digests.sha256Base64,
            Metadata: { 'lbuild-sha256': a.sha256Hex },
          }),
          sendOpts,
        ),
      );
    } catch (error) {
      throw s3Error(a.config, error, where);
    }
    // A store that does not check the headers still reports what it stored.
    const stored = compareStored(present, digests);
    if (stored.verdict === 'different') {
      throw buildError(
        's3-upload-corrupted',
        `${where} does not hold the zip after the upload: S3 reports ${stored.reported}, the zip's is ${stored.expected}`,
        { hint: UPLOAD_CORRUPTED_HINT },
      );
    }
  }
  const version = pinnedVersion(present.VersionId);
  return {
    S3Bucket: bucket,
    S3Key: a.key,
    ...(version !== undefined ? { S3ObjectVersion: version } : {}),
  };
}

function s3Error(config: FunctionConfig, error: unknown, where: string): unknown {
  const cause = sdkCause(error) ?? error;
  if (DIGEST_MISMATCH.has(errorName(cause))) {
    return failWith(
      'build',
      's3-upload-corrupted',
      `S3 refused the upload to ${where}: the bytes it received do not match the zip's digest (${errorName(cause)})`,
      cause,
      UPLOAD_CORRUPTED_HINT,
    );
  }
  if (errorName(cause) === 'NoSuchBucket') {
    return configError(
      's3-bucket-missing',
      `s3-bucket "${config.s3Bucket ?? ''}" does not exist (uploading ${where})`,
      {
        hint: `create the bucket in the function's region, or fix s3-bucket in [function.${config.name}]`,
      },
    );
  }
  return error;
}
