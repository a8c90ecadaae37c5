import { describe, expect, it } from 'vitest';
import { createS3CacheStore, formatS3CacheUrl, parseS3CacheUrl } from '../src/index.js';

describe('parseS3CacheUrl', () => {
  it.each([
    ['s3://bucket', { bucket: 'bucket', prefix: '' }],
    ['s3://bucket/', { bucket: 'bucket', prefix: '' }],
    ['s3://my.bucket-1/lbuild', { bucket: 'my.bucket-1', prefix: 'lbuild' }],
    ['s3://bucket/team/lbuild/', { bucket: 'bucket', prefix: 'team/lbuild' }],
  ])('reads %s', (url, expected) => {
    expect(parseS3CacheUrl(url)).toEqual(expected);
    expect(formatS3CacheUrl(expected)).toBe(url.replace(/\/$/, ''));
  });

  it.each([
    ['https://bucket/prefix', /not an s3:\/\/ URL/],
    ['bucket/prefix', /not an s3:\/\/ URL/],
    ['s3://', /names no bucket/],
    ['s3:///prefix', /names no bucket/],
    ['s3://Bucket/prefix', /not a valid S3 bucket name/],
    ['s3://ab', /not a valid S3 bucket name/],
    ['s3://user:secret@bucket/prefix', /"s3:\/\/bucket\/prefix" carries a login/],
    ['https://user:secret@bucket/prefix', /"https:\/\/bucket\/prefix" carries a login/],
    ['s3://bucket/a//b', /empty, "\." or "\.\." part/],
    ['s3://bucket/../b', /empty, "\." or "\.\." part/],
    ['s3://bucket/prefix?versionId=1', /query or fragment/],
    ['s3://bucket/pre\\fix', /characters in its prefix/],
  ])('refuses %s, saying what is expected', (url, problem) => {
    const result = parseS3CacheUrl(url);
    expect(result).toHaveProperty('problem');
    const message = (result as { problem: string }).problem;
    expect(message).toMatch(problem);
    expect(message).toContain('expected s3://bucket/prefix');
    // A password written into the URL never reaches a message.
    expect(message).not.toContain('secret');
  });

  it('makes createS3CacheStore throw the same problem', async () => {
    await expect(createS3CacheStore('s3://Bad/prefix')).rejects.toThrow(
      /invalid cache URL: .*expected s3:\/\/bucket\/prefix/,
    );
  });
});
