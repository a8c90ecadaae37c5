import { CacheStoreError, configError, type CacheStore } from '@lbuild/core';

/**
 * The remote store of the shared cache for an `s3://bucket/prefix` URL (`[cache] url` or
 * LBUILD_CACHE_URL), with credentials from the AWS SDK's default chain. `timeoutMs` bounds each
 * request, so a dead endpoint costs one warning, not a hung build.
 */
export async function remoteStoreFor(
  url: string,
  options: { timeoutMs: number },
): Promise<CacheStore> {
  const { createS3CacheStore, parseS3CacheUrl, S3_CACHE_URL_FORM } =
    await import('@lbuild/s3-cache');
  const parsed = parseS3CacheUrl(url);
  if ('problem' in parsed) {
    throw configError('invalid-cache-setting', `the shared cache URL is wrong: ${parsed.problem}`, {
      hint: `set [cache] url or LBUILD_CACHE_URL to ${S3_CACHE_URL_FORM}`,
    });
  }
  try {
    return await createS3CacheStore(url, { timeoutMs: options.timeoutMs });
  } catch (error) {
    // A store that cannot even be set up (a broken AWS profile) is one more way for the remote
    // cache to be unavailable: the engine warns once and builds locally.
    return unavailableStore(url, error instanceof Error ? error.message : String(error));
  }
}

function unavailableStore(name: string, reason: string): CacheStore {
  const fail = (): never => {
    throw new CacheStoreError('other', `cannot use the shared cache: ${reason}`);
  };
  return {
    name,
    getEntry: () => Promise.resolve().then(fail),
    putEntry: () => Promise.resolve().then(fail),
    hasBlob: () => Promise.resolve().then(fail),
    getBlob: () => Promise.resolve().then(fail),
    putBlob: () => Promise.resolve().then(fail),
  };
}
