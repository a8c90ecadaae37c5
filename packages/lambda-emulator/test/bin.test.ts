import { execFile, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import {
  GetFunctionCommand,
  LambdaClient,
  TooManyRequestsException,
  UpdateFunctionCodeCommand,
} from '@aws-sdk/client-lambda';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { LambdaEmulatorControl, faults, makeZip } from '@lbuild/lambda-emulator';
import { DUMMY_CREDENTIALS } from './helpers.js';

const pkg = fileURLToPath(new URL('..', import.meta.url));
const root = fileURLToPath(new URL('../../..', import.meta.url));
let child: ChildProcess | undefined;
let endpoint = '';

beforeAll(async () => {
  // The bin runs from dist: build this package first (incremental, fast when up to date).
  await promisify(execFile)(process.execPath, [
    `${root}node_modules/typescript/bin/tsc`,
    '-b',
    pkg,
  ]);
  const proc = spawn(
    process.execPath,
    [`${pkg}dist/bin.js`, '--port', '0', '--update-delay-ms', '50'],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  child = proc;
  endpoint = await new Promise<string>((resolve, reject) => {
    let out = '';
    proc.stdout.setEncoding('utf8');
    proc.stdout.on('data', (chunk: string) => {
      out += chunk;
      const match = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
      if (match?.[1]) resolve(match[1]);
    });
    proc.once('exit', (code) => {
      reject(new Error(`lambda-emulator exited with ${String(code)}: ${out}`));
    });
  });
});

afterAll(() => {
  if (child?.pid !== undefined && child.exitCode === null) child.kill('SIGTERM');
});

test('the bin prints its endpoint and an AWS_ENDPOINT_URL_LAMBDA line', () => {
  expect(endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
});

test('an emulator in another process is driven over the control API', async () => {
  const control = new LambdaEmulatorControl(endpoint);
  const zip = makeZip({ 'app.py': 'def handler(e, c):\n    return 0\n' });
  const seeded = await control.seedFunction({ name: 'remote', code: zip });
  expect(seeded.CodeSha256).toBe(createHash('sha256').update(zip).digest('base64'));

  await control.injectFault({ operation: 'GetFunction', fault: faults.throttle() });
  expect(await control.pendingFaults()).toHaveLength(1);
  const client = new LambdaClient({
    endpoint,
    region: 'us-east-1',
    credentials: DUMMY_CREDENTIALS,
    maxAttempts: 1,
  });
  try {
    await expect(
      client.send(new GetFunctionCommand({ FunctionName: 'remote' })),
    ).rejects.toBeInstanceOf(TooManyRequestsException);
    const got = await client.send(new GetFunctionCommand({ FunctionName: 'remote' }));
    expect(got.Configuration?.FunctionName).toBe('remote');
    await client.send(
      new UpdateFunctionCodeCommand({ FunctionName: 'remote', ZipFile: makeZip({ 'x.py': '' }) }),
    );
  } finally {
    client.destroy();
  }
  expect(await control.countCalls('GetFunction', 'remote')).toBe(2);
  expect(await control.countCalls('UpdateFunctionCode')).toBe(1);
  expect((await control.functionState('remote'))?.LastUpdateStatus).toMatch(
    /InProgress|Successful/,
  );
  await control.setUpdateDelay(0);
  await control.clearCalls();
  expect(await control.calls()).toEqual([]);
  await control.reset();
  expect(await control.functionState('remote')).toBeUndefined();
  await expect(
    control.injectFault({ operation: '*', fault: { kind: 'nope' } as never }),
  ).rejects.toThrow(/unknown fault kind "nope"/);
});
