import { createServer as createHttpServer, type Server } from 'node:http';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer as createTcpServer, type Server as TcpServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CacheStoreError, type CacheStore } from '@lbuild/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createS3CacheStore } from '../src/index.js';
import { never, sha256Hex, useDummyAws } from './s3.js';

const KEY = 'd4'.repeat(32);
const DIGEST = sha256Hex('blob');
const signal = never();

let dir: string;
const saved = { ...process.env };
const cleanups: (() => Promise<void>)[] = [];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 's3-cache-'));
  useDummyAws(dir);
});

afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
  process.env = { ...saved };
  await rm(dir, { recursive: true, force: true });
});

async function listen(server: Server | TcpServer): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return `http://127.0.0.1:${address.port}`;
}

/** An HTTP server on 127.0.0.1, closed after the test. */
async function serve(handler: Parameters<typeof createHttpServer>[1]): Promise<string> {
  const server = createHttpServer(handler);
  const endpoint = await listen(server);
  cleanups.push(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });
  return endpoint;
}

/** What each store operation throws (or undefined when it did not). */
async function failures(store: CacheStore, file: string) {
  const outcome = (p: Promise<unknown>) =>
    p.then(
      () => undefined,
      (e: unknown) => e,
    );
  await writeFile(join(dir, 'upload'), 'blob');
  return {
    getEntry: await outcome(store.getEntry(KEY, signal)),
    putEntry: await outcome(store.putEntry(KEY, Buffer.from('entry'), signal)),
    hasBlob: await outcome(store.hasBlob(DIGEST, signal)),
    getBlob: await outcome(store.getBlob(DIGEST, file, signal)),
    putBlob: await outcome(store.putBlob(DIGEST, join(dir, 'upload'), signal)),
  };
}

function expectProblem(error: unknown, problem: CacheStoreError['problem']): void {
  expect(error).toBeInstanceOf(CacheStoreError);
  expect((error as CacheStoreError).problem).toBe(problem);
  expect((error as CacheStoreError).message).toMatch(/^s3:\/\/cache\/p /);
}

describe('failing storage', () => {
  it('fails fast with "unreachable" on a closed port', async () => {
    const server = createTcpServer();
    process.env.AWS_ENDPOINT_URL_S3 = await listen(server);
    await new Promise((resolve) => server.close(resolve));
    // A long timeout: failing fast must not depend on it.
    const store = await createS3CacheStore('s3://cache/p', { timeoutMs: 20_000 });
    const started = Date.now();
    const errors = await failures(store, join(dir, 'blob'));
    expect(Date.now() - started).toBeLessThan(10_000);
    for (const error of Object.values(errors)) expectProblem(error, 'unreachable');
  });

  it('gives up with "timeout" on an endpoint that accepts connections and never answers', async () => {
    const sockets = new Set<Socket>();
    const server = createTcpServer((socket) => {
      sockets.add(socket);
      socket.on('error', () => undefined);
    });
    process.env.AWS_ENDPOINT_URL_S3 = await listen(server);
    cleanups.push(async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    });
    const store = await createS3CacheStore('s3://cache/p', { timeoutMs: 300 });
    for (const call of [
      () => store.getEntry(KEY, signal),
      () => store.hasBlob(DIGEST, signal),
      () => store.getBlob(DIGEST, join(dir, 'blob'), signal),
    ]) {
      const started = Date.now();
      const error = await call().catch((e: unknown) => e);
      const took = Date.now() - started;
      expectProblem(error, 'timeout');
      expect(took).toBeGreaterThanOrEqual(250);
      expect(took).toBeLessThan(3_000);
    }
    expect(await readdir(dir)).toEqual([]);
  });

  it("passes the caller's abort through as an abort, not a storage failure", async () => {
    const server = createTcpServer((socket) => socket.on('error', () => undefined));
    process.env.AWS_ENDPOINT_URL_S3 = await listen(server);
    cleanups.push(async () => {
      server.close();
      await Promise.resolve();
    });
    const store = await createS3CacheStore('s3://cache/p', { timeoutMs: 10_000 });
    const started = Date.now();
    const error = await store.getEntry(KEY, AbortSignal.timeout(200)).catch((e: unknown) => e);
    expect(error).not.toBeInstanceOf(CacheStoreError);
    expect((error as Error).name).toMatch(/AbortError|TimeoutError/);
    expect(Date.now() - started).toBeLessThan(3_000);
  });

  it('gives up with "timeout" when a blob stops flowing, and leaves no partial file', async () => {
    process.env.AWS_ENDPOINT_URL_S3 = await serve((_request, response) => {
      response.writeHead(200, { 'content-length': '100000' });
      response.write(Buffer.alloc(50_000, 1));
    });
    const store = await createS3CacheStore('s3://cache/p', { timeoutMs: 300 });
    const started = Date.now();
    const error = await store.getBlob(DIGEST, join(dir, 'blob'), signal).catch((e: unknown) => e);
    expectProblem(error, 'timeout');
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(await readdir(dir)).toEqual([]);
  });

  it('leaves no partial file when the connection drops in the middle of a blob', async () => {
    process.env.AWS_ENDPOINT_URL_S3 = await serve((request, response) => {
      response.writeHead(200, {
        'content-length': '100000',
        'content-type': 'application/octet-stream',
      });
      response.write(Buffer.alloc(50_000, 1), () => request.socket.destroy());
    });
    const store = await createS3CacheStore('s3://cache/p');
    const file = join(dir, 'blob');
    const error = await store.getBlob(DIGEST, file, signal).catch((e: unknown) => e);
    expectProblem(error, 'unreachable');
    expect(await readdir(dir)).toEqual([]);

    // A file that was there stays as it was.
    await writeFile(file, 'before');
    const again = await store.getBlob(DIGEST, file, signal).catch((e: unknown) => e);
    expectProblem(again, 'unreachable');
    expect(await readFile(file, 'utf8')).toBe('before');
    expect(await readdir(dir)).toEqual(['blob']);
  });

  it('says "denied" on 403 AccessDenied, without credentials in the message', async () => {
    process.env.AWS_ACCESS_KEY_ID = 'AKIDEXAMPLEKEYID1234';
    process.env.AWS_SECRET_ACCESS_KEY = 'fake-secret-for-this-test-only';
    process.env.AWS_ENDPOINT_URL_S3 = await serve((request, response) => {
      request.resume();
      request.on('end', () => {
        response.writeHead(403, { 'content-type': 'application/xml' });
        // A HEAD answer has no body; S3 then names only the status.
        response.end(
          request.method === 'HEAD'
            ? undefined
            : '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code><Message>Access Denied</Message><RequestId>1</RequestId></Error>',
        );
      });
    });
    const store = await createS3CacheStore('s3://cache/p');
    const errors = await failures(store, join(dir, 'blob'));
    for (const error of Object.values(errors)) {
      expectProblem(error, 'denied');
      expect((error as Error).message).not.toContain('fake-secret-for-this-test-only');
      expect((error as Error).message).not.toContain('AKIDEXAMPLEKEYID1234');
    }
    expect((errors.getEntry as Error).message).toMatch(/refused access \(AccessDenied\)/);
    expect((errors.hasBlob as Error).message).toMatch(/refused access \(HTTP 403\)/);
  });

  it('says "denied" quickly when there are no credentials at all', async () => {
    delete process.env.AWS_ACCESS_KEY_ID;
    delete process.env.AWS_SECRET_ACCESS_KEY;
    let requests = 0;
    process.env.AWS_ENDPOINT_URL_S3 = await serve((_request, response) => {
      requests++;
      response.end();
    });
    const store = await createS3CacheStore('s3://cache/p');
    const started = Date.now();
    const error = await store.getEntry(KEY, signal).catch((e: unknown) => e);
    expectProblem(error, 'denied');
    expect((error as Error).message).toMatch(/got no AWS credentials/);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(requests).toBe(0);
  });

  it('keeps credentials out of messages even when a server echoes the request', async () => {
    process.env.AWS_ACCESS_KEY_ID = 'AKIDEXAMPLEKEYID1234';
    process.env.AWS_SECRET_ACCESS_KEY = 'fake-secret-for-this-test-only';
    process.env.AWS_SESSION_TOKEN = 'fake-session-token-for-this-test';
    process.env.AWS_ENDPOINT_URL_S3 = await serve((request, response) => {
      request.resume();
      response.writeHead(400, { 'content-type': 'application/xml' });
      response.end(
        `<Error><Code>Weird</Code><Message>${JSON.stringify(request.headers)} fake-secret-for-this-test-only</Message></Error>`,
      );
    });
    const store = await createS3CacheStore('s3://cache/p');
    const error = await store.getEntry(KEY, signal).catch((e: unknown) => e);
    expectProblem(error, 'other');
    const message = (error as Error).message;
    expect(message).toMatch(/answered HTTP 400 \(Weird: /);
    for (const secret of [
      'AKIDEXAMPLEKEYID1234',
      'fake-secret-for-this-test-only',
      'fake-session-token-for-this-test',
    ])
      expect(message).not.toContain(secret);
  });

  it('says "denied" when only writing is refused (read-only credentials)', async () => {
    // What S3 answers a role with s3:GetObject and s3:ListBucket but no s3:PutObject.
    process.env.AWS_ENDPOINT_URL_S3 = await serve((request, response) => {
      request.resume();
      request.on('end', () => {
        if (request.method === 'HEAD') {
          response.writeHead(404);
          response.end();
          return;
        }
        response.writeHead(403, { 'content-type': 'application/xml' });
        response.end('<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>');
      });
    });
    const store = await createS3CacheStore('s3://cache/p');
    const errors = await failures(store, join(dir, 'blob'));
    expect(errors.hasBlob).toBeUndefined();
    expectProblem(errors.putEntry, 'denied');
    expectProblem(errors.putBlob, 'denied');
  });
});
