import type * as S3SdkModule from '@aws-sdk/client-s3';
import type { S3Client, S3ClientConfig } from '@aws-sdk/client-s3';

/** The SDK module, loaded on first use: importing this package stays cheap (see the CLI's bundle). */
export type S3Sdk = typeof S3SdkModule;

/** How long a connection may take to open: an S3 endpoint answers in milliseconds. */
export const CONNECT_TIMEOUT_MS = 2_000;
/** How long one request may wait for an answer, and a transfer may stall, by default. */
export const DEFAULT_TIMEOUT_MS = 15_000;
/** Where the cache is when nothing names a region: a custom endpoint (MinIO, s3rver) needs none. */
export const FALLBACK_REGION = 'us-east-1';

// The SDK writes some warnings (a failed streaming upload, slow sockets) to the console unless
// given a logger; a library never prints, and the failure reaches the caller anyway.
const silent = () => undefined;
const SILENT_LOGGER = { trace: silent, debug: silent, info: silent, warn: silent, error: silent };

export interface CacheClient {
  sdk: S3Sdk;
  s3: S3Client;
  /** Whether an endpoint override (AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL, a profile's endpoint_url) is in effect. */
  customEndpoint: boolean;
}

/**
 * An S3 client for the cache. Credentials, region and endpoint come from the SDK's default chain
 * (profiles, env, SSO, instance roles; `AWS_ENDPOINT_URL_S3` and `AWS_ENDPOINT_URL`, which the SDK
 * reads itself). With an endpoint override it addresses buckets by path, as MinIO and s3rver need.
 */
export async function createCacheClient(options: {
  region?: string | undefined;
  timeoutMs: number;
}): Promise<CacheClient> {
  const sdk = await import('@aws-sdk/client-s3');
  const { S3Client } = sdk;
  // A throwaway client answers what the SDK would resolve, so the cache follows the same chain
  // as every other AWS tool; no request is sent.
  const probe = new S3Client({ logger: SILENT_LOGGER });
  let region = options.region;
  let endpoint: string | undefined;
  try {
    region ??= await probe.config.region().catch(() => undefined);
    endpoint = await probe.config.serviceConfiguredEndpoint?.();
  } finally {
    probe.destroy();
  }
  const customEndpoint = endpoint !== undefined && endpoint !== '';
  const config: S3ClientConfig = {
    region: region ?? FALLBACK_REGION,
    logger: SILENT_LOGGER,
    // One retry covers a dropped keep-alive connection; more would only delay the local build
    // when the cache is down.
    maxAttempts: 2,
    requestHandler: {
      connectionTimeout: CONNECT_TIMEOUT_MS,
      // A stalled socket (no bytes either way) fails the call, also in the middle of a body;
      // a whole-request limit would cut off large blobs on slow links.
      socketTimeout: options.timeoutMs,
      throwOnRequestTimeout: true,
      logger: SILENT_LOGGER,
    },
    // The bucket may be in another region than the one resolved (or the fallback).
    followRegionRedirects: true,
    // Checksums are sent where lbuild has them (a blob's SHA-256 is its name); the caller hashes
    // whatever it reads back.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    ...(customEndpoint ? { forcePathStyle: true } : {}),
  };
  return { sdk, s3: new S3Client(config), customEndpoint };
}
