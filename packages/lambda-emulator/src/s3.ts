import { invalidParameter } from './api-error.js';

/**
 * Fetches code from a path-style S3 endpoint (such as s3rver) with a plain GET, the way Lambda
 * fetches `S3Bucket`/`S3Key` code. Errors come back in Lambda's words.
 */
export async function fetchS3Object(
  endpoint: string | undefined,
  bucket: string,
  key: string,
  versionId: string | undefined,
): Promise<Buffer> {
  if (endpoint === undefined) {
    throw invalidParameter(
      'Error occurred while GetObject. lambda-emulator was started without an S3 endpoint (s3Endpoint option or --s3-endpoint).',
    );
  }
  const url = new URL(endpoint);
  const base = url.pathname.endsWith('/') ? url.pathname : `${url.pathname}/`;
  url.pathname = `${base}${encodeURIComponent(bucket)}/${key.split('/').map(encodeURIComponent).join('/')}`;
  if (versionId !== undefined) url.searchParams.set('versionId', versionId);
  let response: Response;
  try {
    response = await fetch(url);
  } catch (error) {
    throw invalidParameter(
      `Error occurred while GetObject. S3 Error Code: ConnectionFailed. S3 Error Message: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  const bytes = Buffer.from(await response.arrayBuffer());
  if (!response.ok) {
    const text = bytes.toString('utf8');
    const code = /<Code>([^<]*)<\/Code>/.exec(text)?.[1] ?? `Http${response.status}`;
    const message = /<Message>([^<]*)<\/Message>/.exec(text)?.[1] ?? response.statusText;
    throw invalidParameter(
      `Error occurred while GetObject. S3 Error Code: ${code}. S3 Error Message: ${message}`,
    );
  }
  return bytes;
}
