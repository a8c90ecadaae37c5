import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CacheStoreError } from '@lbuild/core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createS3CacheStore } from '../src/index.js';
import { never, sha256Hex, startS3, useDummyAws, type RunningS3 } from './s3.js';

const KEY = 'a1'.repeat(32);
const signal = never();

let dir: string;
const saved = { ...process.env };

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 's3-cache-'));
  useDummyAws(dir);
});

afterEach(async () => {
  process.env = { ...saved };
  await rm(dir, { recursive: true, force: true });
});

/** A fetch of one object by path-style URL, bypassing the store: what is really in the bucket. */
async function objectAt(s3: RunningS3, path: string): Promise<string | undefined> {
  const response = await fetch(`${s3.endpoint}/${path}`);
  if (response.status === 404) return undefined;
  return Buffer.from(await response.arrayBuffer()).toString();
}

describe('on s3rver', () => {
  let s3: RunningS3;
  beforeAll(async () => {
    s3 = await startS3(['cache'], { s3Features: true });
  });
  afterAll(() => s3.close());
  beforeEach(() => {
    process.env.AWS_ENDPOINT_URL_S3 = s3.endpoint;
  });

  it('stores entries and blobs under prefix/entries and prefix/blobs, and reads them back', async () => {
    const store = await createS3CacheStore('s3://cache/team/lbuild/');
    expect(store.name).toBe('s3://cache/team/lbuild');

    expect(await store.getEntry(KEY, signal)).toBeUndefined();
    expect(await store.putEntry(KEY, Buffer.from('{"manifest":1}'), signal)).toBe(true);
    expect(Buffer.from((await store.getEntry(KEY, signal))!).toString()).toBe('{"manifest":1}');
    expect(await objectAt(s3, `cache/team/lbuild/entries/${KEY}`)).toBe('{"manifest":1}');

    const bytes = Buffer.alloc(300_000, 7);
    const digest = sha256Hex(bytes);
    const source = join(dir, 'source.bin');
    await writeFile(source, bytes);
    expect(await store.hasBlob(digest, signal)).toBe(false);
    await store.putBlob(digest, source, signal);
    expect(await store.hasBlob(digest, signal)).toBe(true);
    expect(await objectAt(s3, `cache/team/lbuild/blobs/${digest}`)).toBe(bytes.toString());

    const restored = join(dir, 'out', 'nested', 'restored.bin');
    const seen: Uint8Array[] = [];
    expect(await store.getBlob(digest, restored, signal, (chunk) => seen.push(chunk))).toBe(true);
    expect(await readFile(restored)).toEqual(bytes);
    // What the caller hashes as it arrives is what was written.
    expect(Buffer.concat(seen)).toEqual(bytes);
    // putBlob of a stored blob asks and skips: a changed local copy does not replace it.
    await writeFile(source, 'other bytes');
    await store.putBlob(digest, source, signal);
    expect(await objectAt(s3, `cache/team/lbuild/blobs/${digest}`)).toBe(bytes.toString());
  });

  it('uses the bucket root when the URL has no prefix', async () => {
    const store = await createS3CacheStore('s3://cache');
    expect(store.name).toBe('s3://cache');
    expect(await store.putEntry('b2', Buffer.from('root'), signal)).toBe(true);
    expect(await objectAt(s3, 'cache/entries/b2')).toBe('root');
  });

  it('never overwrites an entry: the first write wins', async () => {
    const store = await createS3CacheStore('s3://cache/first');
    expect(await store.putEntry(KEY, Buffer.from('first'), signal)).toBe(true);
    expect(await store.putEntry(KEY, Buffer.from('second'), signal)).toBe(false);
    expect(Buffer.from((await store.getEntry(KEY, signal))!).toString()).toBe('first');
  });

  it('lets exactly one of two racing writers store an entry; the other gets false', async () => {
    const a = await createS3CacheStore('s3://cache/race');
    const b = await createS3CacheStore('s3://cache/race');
    for (let round = 0; round < 5; round++) {
      const key = `${round}`.padStart(8, 'c');
      const results = await Promise.all([
        a.putEntry(key, Buffer.from('from a'), signal),
        b.putEntry(key, Buffer.from('from b'), signal),
      ]);
      expect(results.filter(Boolean)).toHaveLength(1);
      const winner = results[0] ? 'from a' : 'from b';
      expect(await objectAt(s3, `cache/race/entries/${key}`)).toBe(winner);
    }
  });

  it('reports a missing blob as a miss and leaves no file', async () => {
    const store = await createS3CacheStore('s3://cache/missing');
    const file = join(dir, 'blob');
    expect(await store.getBlob('0'.repeat(64), file, signal)).toBe(false);
    expect(await store.hasBlob('0'.repeat(64), signal)).toBe(false);
    expect(await readdir(dir)).toEqual([]);
  });

  it('uploads a blob with its SHA-256, so bytes that do not match their name are refused', async () => {
    const store = await createS3CacheStore('s3://cache/checksum');
    const file = join(dir, 'blob');
    await writeFile(file, 'these bytes');
    const wrong = sha256Hex('other bytes');
    const error = await store.putBlob(wrong, file, signal).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(CacheStoreError);
    expect((error as CacheStoreError).problem).toBe('other');
    expect((error as CacheStoreError).message).toMatch(/did not match their SHA-256/);
    expect(await store.hasBlob(wrong, signal)).toBe(false);
  });

  it('names the bucket when it does not exist', async () => {
    const store = await createS3CacheStore('s3://no-such-bucket/p');
    const error = await store.getEntry(KEY, signal).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CacheStoreError);
    expect((error as CacheStoreError).problem).toBe('other');
    expect((error as CacheStoreError).message).toMatch(
      /the bucket no-such-bucket .*does not exist/,
    );
  });

  it('takes its endpoint from AWS_ENDPOINT_URL_S3 and addresses the bucket by path', async () => {
    // By host name, not IP: the SDK would put the bucket into the host name (cache.localhost)
    // unless told to use paths.
    process.env.AWS_ENDPOINT_URL_S3 = s3.endpoint.replace('127.0.0.1', 'localhost');
    const store = await createS3CacheStore('s3://cache/by-name');
    expect(await store.putEntry(KEY, Buffer.from('path-style'), signal)).toBe(true);
    expect(await objectAt(s3, `cache/by-name/entries/${KEY}`)).toBe('path-style');
  });

  it('finds the endpoint in AWS_ENDPOINT_URL too, and needs no region with one', async () => {
    delete process.env.AWS_ENDPOINT_URL_S3;
    process.env.AWS_ENDPOINT_URL = s3.endpoint;
    const store = await createS3CacheStore('s3://cache/generic');
    expect(await store.putEntry(KEY, Buffer.from('x'), signal)).toBe(true);
    expect(await objectAt(s3, `cache/generic/entries/${KEY}`)).toBe('x');
  });
});

describe('on s3rver without conditional writes', () => {
  let s3: RunningS3;
  beforeAll(async () => {
    s3 = await startS3(['cache']);
  });
  afterAll(() => s3.close());

  it('still never overwrites an entry written before', async () => {
    process.env.AWS_ENDPOINT_URL_S3 = s3.endpoint;
    const store = await createS3CacheStore('s3://cache/plain');
    expect(await store.putEntry(KEY, Buffer.from('first'), signal)).toBe(true);
    expect(await store.putEntry(KEY, Buffer.from('second'), signal)).toBe(false);
    expect(await objectAt(s3, `cache/plain/entries/${KEY}`)).toBe('first');
  });
});
