import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, type WriteStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { S3Client } from '@aws-sdk/client-s3';
import { storeContents, type CacheStore, type StoreContents } from '@lbuild/core';
import { createCacheClient, DEFAULT_TIMEOUT_MS, type S3Sdk } from './client.js';
import { isConditionFailed, isNotFound, toStoreError } from './errors.js';
import { formatS3CacheUrl, parseS3CacheUrl, type S3CacheLocation } from './url.js';

export interface S3CacheStoreOptions {
  /**
   * How long a request may wait for an answer, and a transfer may stall, in milliseconds
   * (default 15 s). Opening a connection has its own 2 s limit.
   */
  timeoutMs?: number;
  /** The bucket's region; default: the SDK's (AWS_REGION, the profile's), else us-east-1. */
  region?: string;
  /** Stops creating the store (resolving the region and endpoint). */
  signal?: AbortSignal;
}

/**
 * The shared cache's storage in an S3 bucket (or MinIO, R2, anything that speaks S3), under
 * the URL's prefix:
 *
 * - `<prefix>/blobs/<sha256>`: a blob's bytes, named by their SHA-256 (lower-case hex);
 * - `<prefix>/entries/<key>`: the entry (manifest) stored for a cache key.
 *
 * Throws when `url` is not `s3://bucket/prefix` (see {@link parseS3CacheUrl}).
 */
export async function createS3CacheStore(
  url: string,
  options: S3CacheStoreOptions = {},
): Promise<CacheStore> {
  const location = parseS3CacheUrl(url);
  if ('problem' in location) throw new Error(`invalid cache URL: ${location.problem}`);
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0)
    throw new Error(`invalid cache timeout ${timeoutMs} ms: expected a positive number`);
  options.signal?.throwIfAborted();
  const client = await createCacheClient({ region: options.region, timeoutMs });
  if (options.signal?.aborted) {
    client.s3.destroy();
    options.signal.throwIfAborted();
  }
  return new S3CacheStore(location, client.sdk, client.s3, timeoutMs);
}

const HEX = /^[0-9a-f]+$/;
const SHA256_HEX = /^[0-9a-f]{64}$/;

function checkKey(key: string): void {
  if (!HEX.test(key)) throw new TypeError(`cache key must be lower-case hex: "${key}"`);
}

function checkDigest(digest: string): void {
  if (!SHA256_HEX.test(digest))
    throw new TypeError(`blob digest must be a lower-case hex SHA-256: "${digest}"`);
}

/** A local file system error (it names a path): the caller's problem, not the store's. */
const isLocalFileError = (error: unknown): boolean =>
  typeof (error as { path?: unknown } | undefined)?.path === 'string';

class S3CacheStore implements CacheStore {
  readonly name: string;
  private readonly bucket: string;
  private readonly prefix: string;

  constructor(
    location: S3CacheLocation,
    private readonly sdk: S3Sdk,
    private readonly s3: S3Client,
    private readonly timeoutMs: number,
  ) {
    this.name = formatS3CacheUrl(location);
    this.bucket = location.bucket;
    this.prefix = location.prefix === '' ? '' : `${location.prefix}/`;
  }

  async getEntry(key: string, signal: AbortSignal): Promise<Uint8Array | undefined> {
    checkKey(key);
    return this.call(`reading entry ${key}`, signal, true, async (abortSignal) => {
      try {
        const response = await this.s3.send(
          new this.sdk.GetObjectCommand({ Bucket: this.bucket, Key: this.entryKey(key) }),
          { abortSignal, requestTimeout: this.timeoutMs },
        );
        return response.Body === undefined
          ? new Uint8Array()
          : await response.Body.transformToByteArray();
      } catch (error) {
        if (isNotFound(error)) return undefined;
        throw error;
      }
    });
  }

  async putEntry(key: string, body: Uint8Array, signal: AbortSignal): Promise<boolean> {
    checkKey(key);
    const objectKey = this.entryKey(key);
    // Not every server honours If-None-Match on PUT (s3rver does not): asking first keeps them
    // from overwriting an entry too, except when two writers race between HEAD and PUT.
    if (await this.exists(objectKey, `checking entry ${key}`, signal)) return false;
    return this.call(`writing entry ${key}`, signal, true, async (abortSignal) => {
      try {
        await this.s3.send(
          new this.sdk.PutObjectCommand({
            Bucket: this.bucket,
            Key: objectKey,
            Body: body,
            ContentLength: body.length,
            ContentType: 'application/octet-stream',
            ChecksumSHA256: createHash('sha256').update(body).digest('base64'),
            IfNoneMatch: '*',
          }),
          { abortSignal, requestTimeout: this.timeoutMs },
        );
        return true;
      } catch (error) {
        if (isConditionFailed(error)) return false;
        throw error;
      }
    });
  }

  async hasBlob(digest: string, signal: AbortSignal): Promise<boolean> {
    checkDigest(digest);
    return this.exists(this.blobKey(digest), `checking blob ${digest}`, signal);
  }

  async getBlob(
    digest: string,
    file: string,
    signal: AbortSignal,
    onData?: (chunk: Uint8Array) => void,
  ): Promise<boolean> {
    checkDigest(digest);
    const what = `reading blob ${digest}`;
    // The deadline covers the request up to the answer's headers; the body may take as long
    // as it keeps flowing (the client's socket timeout stops a stalled one).
    const response = await this.call(what, signal, true, async (abortSignal) => {
      try {
        return await this.s3.send(
          new this.sdk.GetObjectCommand({ Bucket: this.bucket, Key: this.blobKey(digest) }),
          { abortSignal, requestTimeout: this.timeoutMs },
        );
      } catch (error) {
        if (isNotFound(error)) return undefined;
        throw error;
      }
    });
    if (response === undefined) return false;
    const body = response.Body;
    if (!(body instanceof Readable)) throw new TypeError('S3 returned no body stream');
    // A sibling temporary file renamed into place: `file` is the whole blob or untouched,
    // never the first half of one when the connection drops.
    const temp = `${file}.${randomBytes(6).toString('hex')}.part`;
    let received = 0;
    const count = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        received += chunk.length;
        onData?.(chunk);
        done(null, chunk);
      },
    });
    let out: WriteStream | undefined;
    try {
      await mkdir(dirname(file), { recursive: true });
      out = createWriteStream(temp, { flags: 'wx' });
      await pipeline(body, count, out, { signal });
      if (response.ContentLength !== undefined && received !== response.ContentLength)
        throw Object.assign(new Error(`got ${received} of ${response.ContentLength} bytes`), {
          name: 'IncompleteBody',
          code: 'ERR_STREAM_PREMATURE_CLOSE',
        });
      await rename(temp, file);
      return true;
    } catch (error) {
      body.destroy();
      // A write stream destroyed before its file opened still creates it, later: remove the
      // file only once the stream is closed.
      const stream = out;
      if (stream !== undefined && !stream.closed)
        await new Promise<void>((resolve) => stream.once('close', () => resolve()));
      await rm(temp, { force: true });
      signal.throwIfAborted();
      if (isLocalFileError(error)) throw error;
      throw this.storeError(error, what);
    }
  }

  async putBlob(digest: string, file: string, signal: AbortSignal): Promise<void> {
    checkDigest(digest);
    const objectKey = this.blobKey(digest);
    if (await this.exists(objectKey, `checking blob ${digest}`, signal)) return;
    const { size } = await stat(file);
    const stream = createReadStream(file);
    try {
      // No whole-request deadline: a large blob on a slow link may take longer than any
      // sensible timeout, and the socket timeout stops a stalled upload.
      await this.call(`writing blob ${digest}`, signal, false, async (abortSignal) => {
        try {
          await this.s3.send(
            new this.sdk.PutObjectCommand({
              Bucket: this.bucket,
              Key: objectKey,
              Body: stream,
              ContentLength: size,
              ContentType: 'application/octet-stream',
              // The blob's name is its SHA-256: S3 refuses the upload if the bytes it got differ.
              ChecksumSHA256: Buffer.from(digest, 'hex').toString('base64'),
              IfNoneMatch: '*',
            }),
            { abortSignal },
          );
        } catch (error) {
          // Another writer stored it meanwhile: content-addressed, so the same bytes.
          if (isConditionFailed(error)) return;
          throw error;
        }
      });
    } finally {
      stream.destroy();
    }
  }

  /**
   * Counts the entries and blobs under the prefix by listing them (one request per 1,000
   * objects): what `lbuild cache` shows of the shared store.
   */
  async contents(signal: AbortSignal): Promise<StoreContents> {
    const [entries, blobs] = await Promise.all([
      this.list(`${this.prefix}entries/`, signal),
      this.list(`${this.prefix}blobs/`, signal),
    ]);
    return storeContents(entries, blobs);
  }

  private async list(
    prefix: string,
    signal: AbortSignal,
  ): Promise<{ size: number; time: Date | undefined }[]> {
    const found: { size: number; time: Date | undefined }[] = [];
    let token: string | undefined;
    do {
      const page = await this.call(`listing ${prefix}`, signal, true, (abortSignal) =>
        this.s3.send(
          new this.sdk.ListObjectsV2Command({
            Bucket: this.bucket,
            Prefix: prefix,
            ...(token === undefined ? {} : { ContinuationToken: token }),
          }),
          { abortSignal, requestTimeout: this.timeoutMs },
        ),
      );
      for (const object of page.Contents ?? [])
        found.push({ size: object.Size ?? 0, time: object.LastModified });
      token = page.IsTruncated === true ? page.NextContinuationToken : undefined;
    } while (token !== undefined);
    return found;
  }

  private entryKey(key: string): string {
    return `${this.prefix}entries/${key}`;
  }

  private blobKey(digest: string): string {
    return `${this.prefix}blobs/${digest}`;
  }

  private async exists(objectKey: string, what: string, signal: AbortSignal): Promise<boolean> {
    return this.call(what, signal, true, async (abortSignal) => {
      try {
        await this.s3.send(
          new this.sdk.HeadObjectCommand({ Bucket: this.bucket, Key: objectKey }),
          {
            abortSignal,
            requestTimeout: this.timeoutMs,
          },
        );
        return true;
      } catch (error) {
        if (isNotFound(error)) return false;
        throw error;
      }
    });
  }

  /**
   * Runs one S3 call. With `deadline`, the whole call (its retry included) must finish within
   * the timeout: a server that accepts connections and never answers costs one timeout, not one
   * per attempt. The caller's abort is passed through as it is; every other failure becomes a
   * CacheStoreError.
   */
  private async call<T>(
    what: string,
    signal: AbortSignal,
    deadline: boolean,
    run: (abortSignal: AbortSignal) => Promise<T>,
  ): Promise<T> {
    signal.throwIfAborted();
    const controller = new AbortController();
    let timedOut = false;
    const timer = deadline
      ? setTimeout(() => {
          timedOut = true;
          controller.abort();
        }, this.timeoutMs)
      : undefined;
    const onAbort = () => controller.abort();
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      return await run(controller.signal);
    } catch (error) {
      signal.throwIfAborted();
      if (isLocalFileError(error)) throw error;
      throw this.storeError(error, what, timedOut);
    } finally {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
    }
  }

  private storeError(error: unknown, what: string, timedOut = false) {
    return toStoreError(error, { where: this.name, bucket: this.bucket, what }, timedOut);
  }
}
