import { configError, type CacheStore } from '@lbuild/core';

/**
 * The remote store of the shared cache for an `s3://bucket/prefix` URL (`[cache] url` or
 * LBUILD_CACHE_URL), with credentials from the AWS SDK's default chain. `timeoutMs` bounds each
 * request, so a dead endpoint costs one warning, not a hung build.
 */
export function remoteStoreFor(url: string, options: { timeoutMs: number }): Promise<CacheStore> {
  return Promise.reject(
    configError(
      'invalid-cache-setting',
      `the shared cache at ${url} needs the S3 backend, which is not wired into this lbuild yet (request timeout ${String(options.timeoutMs)} ms)`,
      { hint: 'unset LBUILD_CACHE_URL and [cache] url to use the local cache directory only' },
    ),
  );
}
