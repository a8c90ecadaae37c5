import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetFunctionCommand } from '@aws-sdk/client-lambda';
import type { LambdaClient } from '@aws-sdk/client-lambda';
import { HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import type { S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { LbuildError } from '@lbuild/core';
import { makeZip, startLambdaEmulator } from '@lbuild/lambda-emulator';
import type { LambdaEmulator } from '@lbuild/lambda-emulator';
import { createClients, deployFunction, s3EndpointOverridden } from '../src/index.js';
import { functionConfig, startS3rver, useLocalAws, writeZip } from './helpers.js';
import type { RunningS3 } from './helpers.js';

let dir: string;
let emu: LambdaEmulator;
let s3: RunningS3;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lambda-clients-'));
  emu = await startLambdaEmulator({ updateDelayMs: 0 });
  s3 = await startS3rver(['artifacts']);
});

beforeEach(() => {
  useLocalAws({}, dir);
  delete process.env.AWS_ENDPOINT_URL_LAMBDA;
  delete process.env.AWS_ENDPOINT_URL_S3;
  delete process.env.AWS_ENDPOINT_URL;
  delete process.env.AWS_IGNORE_CONFIGURED_ENDPOINT_URLS;
  emu.reset();
});

afterAll(async () => {
  await emu.close();
  await s3.close();
  await rm(dir, { recursive: true, force: true });
});

interface CaptureStack {
  add(
    middleware: () => (args: { request: unknown }) => Promise<never>,
    options: { step: 'finalizeRequest'; priority: 'low'; name: string },
  ): void;
}

/** The URL a client would send to, captured just before sending (nothing leaves the machine). */
async function targetOf(
  client: LambdaClient | S3Client,
  send: () => Promise<unknown>,
): Promise<string> {
  let url = '';
  (client.middlewareStack as unknown as CaptureStack).add(
    () => (args) => {
      const request = args.request as {
        protocol: string;
        hostname: string;
        port?: number;
        path: string;
      };
      url = `${request.protocol}//${request.hostname}${request.port ? `:${request.port}` : ''}${request.path}`;
      return Promise.reject(new Error('captured'));
    },
    { step: 'finalizeRequest', priority: 'low', name: 'captureTarget' },
  );
  await expect(send()).rejects.toThrow('captured');
  return url;
}

describe('the SDK (3.1164) honours the endpoint variables', () => {
  test('no override: the real regional endpoints (captured, not sent)', async () => {
    const clients = createClients(
      { functionName: 'api', region: 'eu-west-1' },
      { env: process.env },
    );
    try {
      expect(
        await targetOf(clients.lambda, () =>
          clients.lambda.send(new GetFunctionCommand({ FunctionName: 'api' })),
        ),
      ).toBe('https://lambda.eu-west-1.amazonaws.com/2015-03-31/functions/api');
      expect(
        await targetOf(clients.s3, () =>
          clients.s3.send(new HeadObjectCommand({ Bucket: 'my-bucket', Key: 'k' })),
        ),
      ).toBe('https://my-bucket.s3.eu-west-1.amazonaws.com/k');
      expect(await clients.lambda.config.region()).toBe('eu-west-1');
    } finally {
      clients.destroy();
    }
  });

  test('AWS_ENDPOINT_URL_LAMBDA points Lambda at the emulator', async () => {
    process.env.AWS_ENDPOINT_URL_LAMBDA = emu.endpoint;
    emu.seedFunction({ name: 'api' });
    const clients = createClients({ functionName: 'api' }, { env: process.env });
    try {
      const got = await clients.lambda.send(new GetFunctionCommand({ FunctionName: 'api' }));
      expect(got.Configuration?.FunctionName).toBe('api');
      expect(emu.countCalls('GetFunction', 'api')).toBe(1);
      // S3 is untouched by the Lambda-only variable.
      expect(
        await targetOf(clients.s3, () =>
          clients.s3.send(new HeadObjectCommand({ Bucket: 'my-bucket', Key: 'k' })),
        ),
      ).toBe('https://my-bucket.s3.us-east-1.amazonaws.com/k');
    } finally {
      clients.destroy();
    }
  });

  test('AWS_ENDPOINT_URL covers both; the service variable wins over it', async () => {
    process.env.AWS_ENDPOINT_URL = 'http://127.0.0.1:9';
    let clients = createClients({ functionName: 'api' }, { env: process.env });
    try {
      expect(
        await targetOf(clients.lambda, () =>
          clients.lambda.send(new GetFunctionCommand({ FunctionName: 'api' })),
        ),
      ).toBe('http://127.0.0.1:9/2015-03-31/functions/api');
      expect(clients.s3.config.forcePathStyle).toBe(true);
      expect(
        await targetOf(clients.s3, () =>
          clients.s3.send(new HeadObjectCommand({ Bucket: 'b', Key: 'k' })),
        ),
      ).toBe('http://127.0.0.1:9/b/k');
    } finally {
      clients.destroy();
    }
    process.env.AWS_ENDPOINT_URL_LAMBDA = emu.endpoint;
    clients = createClients({ functionName: 'api' }, { env: process.env });
    try {
      emu.seedFunction({ name: 'api' });
      await clients.lambda.send(new GetFunctionCommand({ FunctionName: 'api' }));
      expect(emu.countCalls('GetFunction')).toBe(1);
    } finally {
      clients.destroy();
    }
  });

  test('AWS_ENDPOINT_URL_S3 points S3 at s3rver, path style, and a streamed-size upload keeps its bytes', async () => {
    process.env.AWS_ENDPOINT_URL_S3 = s3.endpoint;
    expect(s3EndpointOverridden(process.env)).toBe(true);
    const clients = createClients({ functionName: 'api' }, { env: process.env });
    try {
      expect(clients.s3.config.forcePathStyle).toBe(true);
      const body = Buffer.alloc(3_000_000, 1);
      await clients.s3.send(
        new PutObjectCommand({ Bucket: 'artifacts', Key: 'x/y.zip', Body: body }),
      );
      const head = await clients.s3.send(
        new HeadObjectCommand({ Bucket: 'artifacts', Key: 'x/y.zip' }),
      );
      expect(head.ContentLength).toBe(3_000_000);
    } finally {
      clients.destroy();
    }
  });

  test('AWS_IGNORE_CONFIGURED_ENDPOINT_URLS turns path style off again', () => {
    expect(
      s3EndpointOverridden({
        AWS_ENDPOINT_URL_S3: 'http://x',
        AWS_IGNORE_CONFIGURED_ENDPOINT_URLS: 'true',
      }),
    ).toBe(false);
    expect(s3EndpointOverridden({})).toBe(false);
  });

  test('the region comes from a function ARN when none is configured', async () => {
    const clients = createClients({
      functionName: 'arn:aws:lambda:ap-south-1:123456789012:function:api',
    });
    try {
      expect(await clients.lambda.config.region()).toBe('ap-south-1');
    } finally {
      clients.destroy();
    }
  });
});

describe('setup problems are config failures', () => {
  async function deployFailure(): Promise<LbuildError> {
    const zip = await writeZip(dir, 'c.zip', { 'app.py': 'def handler(e, c):\n    pass\n' });
    const clients = createClients({ functionName: 'api' }, { env: process.env });
    try {
      await deployFunction({
        config: functionConfig('api', { bundle: 'api' }),
        zipPath: zip.path,
        sha256Hex: zip.sha256Hex,
        sha256Base64: zip.sha256Base64,
        clients,
        options: { retryBaseDelayMs: 1, pollIntervalMs: 1 },
      });
    } catch (error) {
      if (error instanceof LbuildError) return error;
      throw error;
    } finally {
      clients.destroy();
    }
    throw new Error('expected a failure');
  }

  test('no credentials anywhere', async () => {
    process.env.AWS_ENDPOINT_URL_LAMBDA = emu.endpoint;
    delete process.env.AWS_ACCESS_KEY_ID;
    delete process.env.AWS_SECRET_ACCESS_KEY;
    const error = await deployFailure();
    expect(error.failure).toEqual({
      reason: 'aws-credentials',
      kind: 'config',
      message: 'no AWS credentials found for deploying api',
      hint: 'set AWS_PROFILE (and run `aws sso login` for SSO profiles), or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY',
    });
    expect(emu.calls()).toEqual([]);
  });

  test('no region anywhere', async () => {
    process.env.AWS_ENDPOINT_URL_LAMBDA = emu.endpoint;
    delete process.env.AWS_REGION;
    delete process.env.AWS_DEFAULT_REGION;
    const error = await deployFailure();
    expect(error.failure).toMatchObject({
      reason: 'aws-region',
      kind: 'config',
      message: 'no AWS region for deploying api',
    });
  });

  test('the emulator zip helper makes zips the deploy accepts', () => {
    expect(makeZip({ 'a.py': '' }).subarray(0, 4)).toEqual(Buffer.from('PK\x03\x04', 'latin1'));
  });
});
