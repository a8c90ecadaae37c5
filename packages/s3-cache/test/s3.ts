import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import S3rver from 's3rver';

export interface RunningS3 {
  endpoint: string;
  close(): Promise<void>;
}

/** s3rver's parts this helper reaches into (it is a Koa app with a file-system store). */
interface KoaContext {
  method: string;
  path: string;
  status: number;
  body: unknown;
  type: string;
  get(header: string): string;
}
type Middleware = (ctx: KoaContext, next: () => Promise<void>) => Promise<void>;
interface S3rverInternals {
  middleware: Middleware[];
  store: {
    existsObject(bucket: string, key: string): Promise<boolean>;
    getObject(bucket: string, key: string): Promise<{ content: Readable } | null>;
    deleteObject(bucket: string, key: string): Promise<void>;
  };
}

/**
 * s3rver on 127.0.0.1 (a free port, a temp directory) with these buckets. s3rver accepts only
 * its own dummy key pair (S3RVER/S3RVER).
 *
 * With `s3Features`, it also does two things S3 (and MinIO, R2) do that s3rver 3.7.1 does not:
 * a PutObject with `If-None-Match: *` on an existing key fails with 412 PreconditionFailed
 * (atomically: writes to one key are serialized), and one whose bytes do not match its
 * `x-amz-checksum-sha256` is refused with 400 BadDigest.
 */
export async function startS3(
  buckets: string[],
  options: { s3Features?: boolean } = {},
): Promise<RunningS3> {
  const directory = await mkdtemp(join(tmpdir(), 's3rver-'));
  const server = new S3rver({
    address: '127.0.0.1',
    port: 0,
    silent: true,
    directory,
    configureBuckets: buckets.map((name) => ({ name })),
  });
  const internals = server as unknown as S3rverInternals;
  // Koa composes its middleware when the server starts listening, so this one runs first.
  if (options.s3Features === true) internals.middleware.unshift(s3Features(internals.store));
  const address = await server.run();
  return {
    endpoint: `http://127.0.0.1:${address.port}`,
    close: async () => {
      const closing = server.close();
      server.httpServer?.closeAllConnections();
      await closing;
      await rm(directory, { recursive: true, force: true });
    },
  };
}

function s3Error(ctx: KoaContext, status: number, code: string, message: string): void {
  ctx.status = status;
  ctx.type = 'application/xml';
  ctx.body = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message></Error>`;
}

function s3Features(store: S3rverInternals['store']): Middleware {
  const queues = new Map<string, Promise<void>>();
  return async (ctx, next) => {
    const match = /^\/([^/]+)\/(.+)$/.exec(ctx.path);
    if (ctx.method !== 'PUT' || !match || ctx.get('x-amz-copy-source') !== '') return next();
    const bucket = match[1]!;
    const key = decodeURIComponent(match[2]!);
    const id = `${bucket}/${key}`;
    const before = queues.get(id) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((resolve) => (release = resolve));
    queues.set(
      id,
      before.then(() => mine),
    );
    await before;
    try {
      if (ctx.get('if-none-match') === '*' && (await store.existsObject(bucket, key))) {
        s3Error(
          ctx,
          412,
          'PreconditionFailed',
          'At least one of the pre-conditions you specified did not hold',
        );
        return;
      }
      await next();
      const expected = ctx.get('x-amz-checksum-sha256');
      if (ctx.status !== 200 || expected === '') return;
      const stored = await store.getObject(bucket, key);
      const hash = createHash('sha256');
      if (stored) for await (const chunk of stored.content) hash.update(chunk as Buffer);
      if (hash.digest('base64') !== expected) {
        await store.deleteObject(bucket, key);
        s3Error(
          ctx,
          400,
          'BadDigest',
          'The SHA256 you specified did not match the calculated checksum.',
        );
      }
    } finally {
      release();
    }
  };
}

/** Points the SDK's default chain at dummy credentials only: no profile, no instance metadata. */
export function useDummyAws(dir: string, endpoint?: string): void {
  process.env.AWS_ACCESS_KEY_ID = 'S3RVER';
  process.env.AWS_SECRET_ACCESS_KEY = 'S3RVER';
  delete process.env.AWS_SESSION_TOKEN;
  delete process.env.AWS_PROFILE;
  delete process.env.AWS_REGION;
  delete process.env.AWS_DEFAULT_REGION;
  delete process.env.AWS_ENDPOINT_URL;
  delete process.env.AWS_ENDPOINT_URL_S3;
  process.env.AWS_CONFIG_FILE = join(dir, 'no-aws-config');
  process.env.AWS_SHARED_CREDENTIALS_FILE = join(dir, 'no-aws-credentials');
  process.env.AWS_EC2_METADATA_DISABLED = 'true';
  if (endpoint !== undefined) process.env.AWS_ENDPOINT_URL_S3 = endpoint;
}

export const sha256Hex = (bytes: Uint8Array | string): string =>
  createHash('sha256').update(bytes).digest('hex');

export const never = (): AbortSignal => new AbortController().signal;
