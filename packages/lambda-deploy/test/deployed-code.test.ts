import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { GetFunctionCommandOutput } from '@aws-sdk/client-lambda';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { LbuildError } from '@lbuild/core';
import { makeZip, startLambdaEmulator, type LambdaEmulator } from '@lbuild/lambda-emulator';
import { createClients, downloadDeployedCode, type DeployClients } from '../src/index.js';
import { useLocalAws } from './helpers.js';

/**
 * downloadDeployedCode against the emulator (GetFunction, and its presigned-shaped Code.Location
 * served over HTTP), and against a local server answering what S3 might: a refusal, too many
 * bytes, other bytes. The URL never reaches an error, and no file is left.
 */

const CODE = makeZip({ 'app.py': 'def handler(event, context):\n    return 1\n' });
const SECRET = 'X-Amz-Signature=0123456789abcdef';

let dir: string;
let emu: LambdaEmulator;
let server: Server;
let serverUrl = '';
/** What the local server answers next. */
let answer: { status: number; body: Buffer } = { status: 200, body: CODE };
let clients: DeployClients;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lambda-deployed-code-'));
  emu = await startLambdaEmulator({ updateDelayMs: 0 });
  server = createServer((_req, res) => {
    res.writeHead(answer.status, { 'content-type': 'application/zip' });
    res.end(answer.body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  serverUrl = `http://127.0.0.1:${String((server.address() as AddressInfo).port)}/code?${SECRET}`;
});

beforeEach(() => {
  useLocalAws({ lambda: emu.endpoint }, dir);
  emu.reset();
  emu.seedFunction({ name: 'api', code: CODE });
  clients = createClients({ functionName: 'api' }, { env: process.env });
});

afterEach(() => {
  clients.destroy();
});

afterAll(async () => {
  await emu.close();
  await new Promise((resolve) => server.close(resolve));
  await rm(dir, { recursive: true, force: true });
});

/** GetFunction's answer, as the client receives it, sent to the local server instead. */
function pointAtLocalServer(): void {
  clients.lambda.middlewareStack.add(
    (next) => async (args) => {
      const result = await next(args);
      const output = result.output as GetFunctionCommandOutput;
      if (output.Code) output.Code.Location = serverUrl;
      return result;
    },
    { step: 'initialize', name: 'pointAtLocalServer' },
  );
}

async function failure(dest: string): Promise<LbuildError> {
  const error: unknown = await downloadDeployedCode({ functionName: 'api' }, clients, dest).catch(
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(LbuildError);
  expect(existsSync(dest)).toBe(false);
  const failed = error as LbuildError;
  // Neither the message, the hint nor a cause carries the presigned URL.
  expect(JSON.stringify(failed.failure)).not.toContain('X-Amz-Signature');
  expect(failed.cause).toBeUndefined();
  return failed;
}

describe('downloadDeployedCode', () => {
  test('downloads the code Lambda reports, with its CodeSha256', async () => {
    const dest = join(dir, 'ok.zip');
    const got = await downloadDeployedCode({ functionName: 'api' }, clients, dest);
    expect(readFileSync(dest)).toEqual(CODE);
    expect(got).toMatchObject({
      functionName: 'api',
      codeSha256: createHash('sha256').update(CODE).digest('base64'),
      codeSize: CODE.length,
    });
    expect(emu.calls().map((c) => c.operation)).toEqual(['GetFunction']);
  });

  test('a refused download: code-download-failed with the HTTP status, no file', async () => {
    pointAtLocalServer();
    answer = { status: 403, body: Buffer.from('<Error><Code>AccessDenied</Code></Error>') };
    const error = await failure(join(dir, 'refused.zip'));
    expect(error.failure).toMatchObject({
      reason: 'code-download-failed',
      kind: 'build',
      message: 'downloading the code of api failed: HTTP 403',
    });
  });

  test('more bytes than GetFunction reported: refused, no file', async () => {
    pointAtLocalServer();
    answer = { status: 200, body: Buffer.concat([CODE, Buffer.alloc(10)]) };
    const error = await failure(join(dir, 'large.zip'));
    expect(error.failure.reason).toBe('code-download-failed');
    expect('message' in error.failure && error.failure.message).toContain(
      `larger than the ${String(CODE.length)} bytes expected`,
    );
  });

  test('other bytes than the CodeSha256: code-sha-mismatch, no file', async () => {
    pointAtLocalServer();
    const other = Buffer.from(CODE);
    other[other.length - 1] ^= 1;
    answer = { status: 200, body: other };
    const error = await failure(join(dir, 'other.zip'));
    expect(error.failure.reason).toBe('code-sha-mismatch');
  });

  test('a function that does not exist: function-not-found, a config error with a hint', async () => {
    const missing = createClients({ functionName: 'nope' }, { env: process.env });
    try {
      const error: unknown = await downloadDeployedCode(
        { functionName: 'nope', name: 'nope' },
        missing,
        join(dir, 'missing.zip'),
      ).catch((e: unknown) => e);
      expect((error as LbuildError).failure).toMatchObject({
        reason: 'function-not-found',
        kind: 'config',
        hint: expect.stringContaining('lbuild deploy nope') as unknown,
      });
    } finally {
      missing.destroy();
    }
  });
});
