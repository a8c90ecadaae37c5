import { createHash } from 'node:crypto';
import { describe, expect, test } from 'vitest';
import { compareStored, pinnedVersion, zipDigests } from '../src/s3-integrity.js';

const zip = Buffer.from('PK\x05\x06 the zip');
const other = Buffer.from('PK\x05\x06 the zap'); // same length, other bytes
const digests = zipDigests(zip);
const md5Hex = (b: Buffer) => createHash('md5').update(b).digest('hex');
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('base64');

describe('zipDigests', () => {
  test('Content-MD5 (base64), the ETag form (hex) and the SHA-256 checksum (base64)', () => {
    expect(digests).toEqual({
      md5Base64: createHash('md5').update(zip).digest('base64'),
      md5Hex: md5Hex(zip),
      sha256Base64: sha256(zip),
    });
  });
});

describe('compareStored: an object is the zip by its digests, never by its size', () => {
  test.each([
    ['a single-part ETag of the zip', { ETag: `"${md5Hex(zip)}"` }, 'same'],
    [
      'a single-part ETag of other bytes of the same size',
      { ETag: `"${md5Hex(other)}"` },
      'different',
    ],
    ['the SHA-256 checksum of the zip', { ChecksumSHA256: sha256(zip) }, 'same'],
    [
      'the SHA-256 of other bytes, whatever the ETag says',
      { ChecksumSHA256: sha256(other), ETag: `"${md5Hex(zip)}"` },
      'different',
    ],
    [
      'SSE-S3 encryption: the ETag is still the MD5',
      { ETag: `"${md5Hex(zip)}"`, ServerSideEncryption: 'AES256' },
      'same',
    ],
    ['a multipart ETag', { ETag: `"${md5Hex(zip)}-2"` }, 'unknown'],
    [
      'SSE-KMS: the ETag is not the MD5',
      { ETag: `"${md5Hex(other)}"`, ServerSideEncryption: 'aws:kms' },
      'unknown',
    ],
    [
      'SSE-C: the ETag is not the MD5',
      { ETag: `"${md5Hex(other)}"`, SSECustomerAlgorithm: 'AES256' },
      'unknown',
    ],
    ['no ETag, no checksum', {}, 'unknown'],
  ] as const)('%s', (_, stored, verdict) => {
    expect(compareStored(stored, digests).verdict).toBe(verdict);
  });
});

test('pinnedVersion: a real version id, not the "null" of an unversioned object', () => {
  expect(pinnedVersion('3HL4kqtJlcpXroDTDmJ')).toBe('3HL4kqtJlcpXroDTDmJ');
  expect(pinnedVersion('null')).toBeUndefined();
  expect(pinnedVersion(undefined)).toBeUndefined();
});
