import { createHash } from 'node:crypto';

/** The digests of a zip that S3 checks on upload and reports back. */
export interface ZipDigests {
  /** Base64 of the raw MD5: the Content-MD5 header, which S3 checks against what it received. */
  md5Base64: string;
  /** Hex MD5: a single-part, unencrypted or SSE-S3 object's ETag (quoted). */
  md5Hex: string;
  /** Base64 of the raw SHA-256: the x-amz-checksum-sha256 header, kept by S3 with the object. */
  sha256Base64: string;
}

export function zipDigests(bytes: Uint8Array): ZipDigests {
  const md5 = createHash('md5').update(bytes).digest();
  return {
    md5Base64: md5.toString('base64'),
    md5Hex: md5.toString('hex'),
    sha256Base64: createHash('sha256').update(bytes).digest('base64'),
  };
}

/** What HeadObject (with ChecksumMode ENABLED) or PutObject says about an object. */
export interface StoredObject {
  ETag?: string;
  ChecksumSHA256?: string;
  ServerSideEncryption?: string;
  SSECustomerAlgorithm?: string;
}

export type StoredVerdict =
  | { verdict: 'same' }
  | { verdict: 'different'; reported: string; expected: string }
  /** Nothing S3 reported can tell: a multipart or KMS-encrypted object without a SHA-256. */
  | { verdict: 'unknown' };

/**
 * Whether an object holds exactly the zip, judged by the digests S3 reports, never by its size.
 * A stored SHA-256 checksum decides when there is one; otherwise the ETag, but only where S3
 * defines it as the MD5 of the bytes (one part, not encrypted with KMS or a customer key).
 */
export function compareStored(stored: StoredObject, zip: ZipDigests): StoredVerdict {
  if (stored.ChecksumSHA256 !== undefined) {
    return stored.ChecksumSHA256 === zip.sha256Base64
      ? { verdict: 'same' }
      : {
          verdict: 'different',
          reported: `SHA-256 checksum ${stored.ChecksumSHA256}`,
          expected: zip.sha256Base64,
        };
  }
  const etag = stored.ETag;
  const md5Etag =
    etag !== undefined &&
    /^"[0-9a-f]{32}"$/.test(etag) &&
    !(stored.ServerSideEncryption ?? '').startsWith('aws:kms') &&
    stored.SSECustomerAlgorithm === undefined;
  if (!md5Etag) return { verdict: 'unknown' };
  return etag === `"${zip.md5Hex}"`
    ? { verdict: 'same' }
    : { verdict: 'different', reported: `ETag ${etag}`, expected: `MD5 ${zip.md5Hex}` };
}

/** A version S3 names (a versioned bucket), to pin what Lambda fetches to what was checked. */
export function pinnedVersion(versionId: string | undefined): string | undefined {
  return versionId !== undefined && versionId !== '' && versionId !== 'null'
    ? versionId
    : undefined;
}
