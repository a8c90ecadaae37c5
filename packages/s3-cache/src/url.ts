/** Where a shared cache lives on S3: a bucket and a key prefix ('' for the bucket's root). */
export interface S3CacheLocation {
  bucket: string;
  /** Without leading or trailing slashes; '' when the URL names only the bucket. */
  prefix: string;
}

export const S3_CACHE_URL_FORM = 's3://bucket/prefix';

// S3's bucket naming rules (MinIO and R2 follow them): a name that breaks them cannot be
// addressed, so saying so here beats an obscure error from the first request.
const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const SEGMENT = /^[A-Za-z0-9!\-_.*'()+=,;:@ ]+$/;

/**
 * Reads a cache URL such as `s3://bucket/prefix` (the prefix is optional). Returns what is wrong
 * instead of throwing, so a caller can point at the setting that holds it.
 */
export function parseS3CacheUrl(url: string): S3CacheLocation | { problem: string } {
  const expected = `expected ${S3_CACHE_URL_FORM} (the prefix is optional)`;
  // Problems quote the URL: never with a user name or password someone wrote into it.
  const withoutLogin = url.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^@/]*@/i, '$1');
  if (withoutLogin !== url) {
    return {
      problem: `"${withoutLogin}" carries a login before the bucket (left out here). The cache takes its credentials from the AWS SDK (AWS_PROFILE, AWS_ACCESS_KEY_ID, an instance role), never from the URL: ${expected}`,
    };
  }
  if (!url.startsWith('s3://')) return { problem: `"${url}" is not an s3:// URL: ${expected}` };
  const rest = url.slice('s3://'.length);
  if (/[?#]/.test(rest))
    return { problem: `"${url}" has a query or fragment, which S3 keys cannot hold: ${expected}` };
  const slash = rest.indexOf('/');
  const bucket = slash === -1 ? rest : rest.slice(0, slash);
  if (bucket === '') return { problem: `"${url}" names no bucket: ${expected}` };
  if (!BUCKET.test(bucket) || bucket.includes('..'))
    return {
      problem: `"${bucket}" is not a valid S3 bucket name (3-63 lower-case letters, digits, dots and hyphens): ${expected}`,
    };
  const path = slash === -1 ? '' : rest.slice(slash + 1).replace(/\/+$/, '');
  if (path === '') return { bucket, prefix: '' };
  const segments = path.split('/');
  for (const segment of segments) {
    if (segment === '' || segment === '.' || segment === '..')
      return { problem: `"${url}" has an empty, "." or ".." part in its prefix: ${expected}` };
    if (!SEGMENT.test(segment))
      return {
        problem: `"${url}" has characters in its prefix that S3 keys should not hold (use letters, digits and -_.): ${expected}`,
      };
  }
  return { bucket, prefix: segments.join('/') };
}

/** The URL a location is named by in messages: `s3://bucket/prefix`. */
export function formatS3CacheUrl(location: S3CacheLocation): string {
  return location.prefix === ''
    ? `s3://${location.bucket}`
    : `s3://${location.bucket}/${location.prefix}`;
}
