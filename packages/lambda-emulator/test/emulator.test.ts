import { createHash } from 'node:crypto';
import {
  CreateFunctionCommand,
  DeleteFunctionCommand,
  GetFunctionCommand,
  GetFunctionConfigurationCommand,
  InvalidParameterValueException,
  LambdaClient,
  LambdaServiceException,
  ListFunctionsCommand,
  ListVersionsByFunctionCommand,
  PreconditionFailedException,
  PublishVersionCommand,
  ResourceConflictException,
  ResourceNotFoundException,
  ServiceException,
  TooManyRequestsException,
  UpdateFunctionCodeCommand,
  UpdateFunctionConfigurationCommand,
  waitUntilFunctionActiveV2,
  waitUntilFunctionUpdatedV2,
} from '@aws-sdk/client-lambda';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { faults, makeZip, startLambdaEmulator } from '@lbuild/lambda-emulator';
import type { LambdaEmulator } from '@lbuild/lambda-emulator';
import { DUMMY_CREDENTIALS, S3RVER_CREDENTIALS, startS3rver } from './helpers.js';
import type { RunningS3 } from './helpers.js';

const ROLE = 'arn:aws:iam::123456789012:role/lambda-role';
const sha = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('base64');
const zipA = makeZip({ 'app.py': 'def handler(event, context):\n    return 1\n' });
const zipB = makeZip({ 'app.py': 'def handler(event, context):\n    return 2\n' });

let emu: LambdaEmulator;
let s3: RunningS3;
const clients: LambdaClient[] = [];

function lambda(maxAttempts = 1): LambdaClient {
  const client = new LambdaClient({
    endpoint: emu.endpoint,
    region: 'us-east-1',
    credentials: DUMMY_CREDENTIALS,
    maxAttempts,
  });
  clients.push(client);
  return client;
}

const httpStatus = (error: Error): number | undefined =>
  (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;

/** Runs `fn` and returns what it threw. */
async function thrown(fn: () => Promise<unknown>): Promise<Error> {
  try {
    await fn();
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a rejection');
}

beforeAll(async () => {
  s3 = await startS3rver(['code-bucket']);
  emu = await startLambdaEmulator({ updateDelayMs: 150, s3Endpoint: s3.endpoint });
});

afterEach(() => {
  emu.reset();
  emu.setUpdateDelay(150);
});

afterAll(async () => {
  for (const c of clients) c.destroy();
  await emu.close();
  await s3.close();
});

describe('functions over the real SDK', () => {
  test('CreateFunction: 201, Pending then Active, CodeSha256 is base64 SHA-256', async () => {
    const client = lambda();
    const created = await client.send(
      new CreateFunctionCommand({
        FunctionName: 'hello',
        Runtime: 'python3.12',
        Role: ROLE,
        Handler: 'app.handler',
        Code: { ZipFile: zipA },
        Timeout: 10,
        MemorySize: 256,
        Architectures: ['arm64'],
        Environment: { Variables: { A: '1' } },
      }),
    );
    expect(created.$metadata.httpStatusCode).toBe(201);
    expect(created.State).toBe('Pending');
    expect(created.StateReasonCode).toBe('Creating');
    expect(created.FunctionArn).toBe('arn:aws:lambda:us-east-1:123456789012:function:hello');
    expect(created.CodeSha256).toBe(sha(zipA));
    expect(created.CodeSize).toBe(zipA.length);
    expect(created.Version).toBe('$LATEST');
    expect(created.Architectures).toEqual(['arm64']);
    expect(created.PackageType).toBe('Zip');
    expect(created.LastModified).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+0000$/);

    const err = await thrown(() =>
      client.send(new UpdateFunctionCodeCommand({ FunctionName: 'hello', ZipFile: zipB })),
    );
    expect(err).toBeInstanceOf(ResourceConflictException);
    expect(err.message).toContain('Pending');

    await waitUntilFunctionActiveV2(
      { client, maxWaitTime: 10, minDelay: 1 },
      { FunctionName: 'hello' },
    );
    const got = await client.send(new GetFunctionCommand({ FunctionName: 'hello' }));
    expect(got.Configuration?.State).toBe('Active');
    expect(got.Configuration?.LastUpdateStatus).toBe('Successful');
    expect(got.Configuration?.Environment?.Variables).toEqual({ A: '1' });
    expect(got.Code?.RepositoryType).toBe('S3');
    const download = await fetch(got.Code?.Location ?? '');
    expect(Buffer.from(await download.arrayBuffer())).toEqual(zipA);

    const again = await thrown(() =>
      client.send(
        new CreateFunctionCommand({
          FunctionName: 'hello',
          Runtime: 'python3.12',
          Role: ROLE,
          Handler: 'app.handler',
          Code: { ZipFile: zipA },
        }),
      ),
    );
    expect(again).toBeInstanceOf(ResourceConflictException);
    expect(again.message).toBe('Function already exist: hello');
  });

  test('names, partial ARNs and full ARNs (percent-encoded) address the same function', async () => {
    emu.seedFunction({ name: 'fn-1', code: zipA });
    const client = lambda();
    for (const name of [
      'fn-1',
      '123456789012:function:fn-1',
      'arn:aws:lambda:us-east-1:123456789012:function:fn-1',
      'arn:aws:lambda:us-east-1:123456789012:function:fn-1:$LATEST',
    ]) {
      const got = await client.send(new GetFunctionConfigurationCommand({ FunctionName: name }));
      expect(got.FunctionName).toBe('fn-1');
      expect(got.CodeSha256).toBe(sha(zipA));
    }
    expect(emu.calls({ operation: 'GetFunctionConfiguration' }).map((c) => c.functionName)).toEqual(
      ['fn-1', 'fn-1', 'fn-1', 'fn-1'],
    );
    const wrongRegion = await thrown(() =>
      client.send(
        new GetFunctionCommand({
          FunctionName: 'arn:aws:lambda:eu-west-1:123456789012:function:fn-1',
        }),
      ),
    );
    expect(wrongRegion).toBeInstanceOf(InvalidParameterValueException);
    const bad = await thrown(() =>
      client.send(new GetFunctionCommand({ FunctionName: 'bad name!' })),
    );
    expect(bad.name).toBe('ValidationException');
    expect(bad).toBeInstanceOf(LambdaServiceException);
  });

  test('missing function: ResourceNotFoundException with the ARN in the message', async () => {
    const client = lambda();
    const err = await thrown(() => client.send(new GetFunctionCommand({ FunctionName: 'nope' })));
    expect(err).toBeInstanceOf(ResourceNotFoundException);
    expect(err.name).toBe('ResourceNotFoundException');
    expect(err.message).toBe(
      'Function not found: arn:aws:lambda:us-east-1:123456789012:function:nope',
    );
    expect(httpStatus(err)).toBe(404);
    const q = await thrown(() =>
      client.send(new GetFunctionCommand({ FunctionName: 'nope', Qualifier: '3' })),
    );
    expect(q.message).toBe(
      'Function not found: arn:aws:lambda:us-east-1:123456789012:function:nope:3',
    );
  });

  test('UpdateFunctionCode: InProgress → Successful, 409 while in progress, new RevisionId, 412 on a stale one', async () => {
    const seeded = emu.seedFunction({ name: 'upd', code: zipA });
    const client = lambda();
    const updated = await client.send(
      new UpdateFunctionCodeCommand({
        FunctionName: 'upd',
        ZipFile: zipB,
        RevisionId: seeded.RevisionId,
      }),
    );
    expect(updated.LastUpdateStatus).toBe('InProgress');
    expect(updated.CodeSha256).toBe(sha(zipB));
    expect(updated.RevisionId).not.toBe(seeded.RevisionId);

    const conflict = await thrown(() =>
      client.send(new UpdateFunctionConfigurationCommand({ FunctionName: 'upd', Timeout: 30 })),
    );
    expect(conflict).toBeInstanceOf(ResourceConflictException);
    expect(conflict.message).toBe(
      'The operation cannot be performed at this time. An update is in progress for resource: arn:aws:lambda:us-east-1:123456789012:function:upd',
    );

    const started = Date.now();
    const waited = await waitUntilFunctionUpdatedV2(
      { client, maxWaitTime: 10, minDelay: 1 },
      { FunctionName: 'upd' },
    );
    expect(waited.state).toBe('SUCCESS');
    expect(Date.now() - started).toBeLessThan(5000);
    const after = await client.send(new GetFunctionConfigurationCommand({ FunctionName: 'upd' }));
    expect(after.LastUpdateStatus).toBe('Successful');
    expect(after.CodeSha256).toBe(sha(zipB));
    // Like Lambda, finishing the update moves the RevisionId on again.
    expect(after.RevisionId).not.toBe(updated.RevisionId);

    const stale = await thrown(() =>
      client.send(
        new UpdateFunctionCodeCommand({
          FunctionName: 'upd',
          ZipFile: zipA,
          RevisionId: updated.RevisionId,
        }),
      ),
    );
    expect(stale).toBeInstanceOf(PreconditionFailedException);
    expect(httpStatus(stale)).toBe(412);
    expect(emu.functionState('upd')?.CodeSha256).toBe(sha(zipB));
  });

  test('UpdateFunctionCode: DryRun changes nothing; Architectures switch; Publish makes a version', async () => {
    emu.seedFunction({ name: 'dry', code: zipA });
    emu.setUpdateDelay(0);
    const client = lambda();
    const dry = await client.send(
      new UpdateFunctionCodeCommand({ FunctionName: 'dry', ZipFile: zipB, DryRun: true }),
    );
    expect(dry.CodeSha256).toBe(sha(zipB));
    expect(emu.functionState('dry')?.CodeSha256).toBe(sha(zipA));

    const arm = await client.send(
      new UpdateFunctionCodeCommand({
        FunctionName: 'dry',
        ZipFile: zipB,
        Architectures: ['arm64'],
        Publish: true,
      }),
    );
    expect(arm.Architectures).toEqual(['arm64']);
    expect(arm.Version).toBe('1');
    expect(emu.functionCode('dry', '1')).toEqual(zipB);
    // Nothing changed since version 1 (even though the update has settled since): same version.
    const again = await client.send(new PublishVersionCommand({ FunctionName: 'dry' }));
    expect(again.Version).toBe('1');
  });

  test('UpdateFunctionCode from S3 (s3rver, path style)', async () => {
    emu.seedFunction({ name: 's3fn', code: zipA });
    const s3client = new S3Client({
      endpoint: s3.endpoint,
      region: 'us-east-1',
      credentials: S3RVER_CREDENTIALS,
      forcePathStyle: true,
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
    try {
      await s3client.send(
        new PutObjectCommand({ Bucket: 'code-bucket', Key: 'lbuild/s3fn/abc.zip', Body: zipB }),
      );
    } finally {
      s3client.destroy();
    }
    const client = lambda();
    const updated = await client.send(
      new UpdateFunctionCodeCommand({
        FunctionName: 's3fn',
        S3Bucket: 'code-bucket',
        S3Key: 'lbuild/s3fn/abc.zip',
      }),
    );
    expect(updated.CodeSha256).toBe(sha(zipB));
    expect(emu.functionCode('s3fn')).toEqual(zipB);

    await waitUntilFunctionUpdatedV2(
      { client, maxWaitTime: 10, minDelay: 1 },
      { FunctionName: 's3fn' },
    );
    const missing = await thrown(() =>
      client.send(
        new UpdateFunctionCodeCommand({
          FunctionName: 's3fn',
          S3Bucket: 'code-bucket',
          S3Key: 'nope.zip',
        }),
      ),
    );
    expect(missing).toBeInstanceOf(InvalidParameterValueException);
    expect(missing.message).toBe(
      'Error occurred while GetObject. S3 Error Code: NoSuchKey. S3 Error Message: The specified key does not exist.',
    );
    const call = emu.calls({ operation: 'UpdateFunctionCode' })[0];
    expect(call?.params).toMatchObject({ S3Bucket: 'code-bucket', S3Key: 'lbuild/s3fn/abc.zip' });
  });

  test('a body that is not a zip is refused like Lambda does', async () => {
    emu.seedFunction({ name: 'nz' });
    const err = await thrown(() =>
      lambda().send(
        new UpdateFunctionCodeCommand({ FunctionName: 'nz', ZipFile: Buffer.from('hello') }),
      ),
    );
    expect(err).toBeInstanceOf(InvalidParameterValueException);
    expect(err.message).toBe(
      'Could not unzip uploaded file. Please check your file, then try to upload again.',
    );
  });

  test('UpdateFunctionConfiguration: applies fields, validates ranges, honours RevisionId', async () => {
    const seeded = emu.seedFunction({ name: 'cfg', code: zipA });
    const client = lambda();
    const tooLong = await thrown(() =>
      client.send(new UpdateFunctionConfigurationCommand({ FunctionName: 'cfg', Timeout: 901 })),
    );
    expect(tooLong.name).toBe('ValidationException');
    expect(tooLong.message).toBe(
      "1 validation error detected: Value '901' at 'timeout' failed to satisfy constraint: Member must have value less than or equal to 900",
    );
    const stale = await thrown(() =>
      client.send(
        new UpdateFunctionConfigurationCommand({
          FunctionName: 'cfg',
          Timeout: 30,
          RevisionId: 'not-it',
        }),
      ),
    );
    expect(stale).toBeInstanceOf(PreconditionFailedException);
    const updated = await client.send(
      new UpdateFunctionConfigurationCommand({
        FunctionName: 'cfg',
        Timeout: 30,
        MemorySize: 512,
        Handler: 'main.go',
        Description: 'hi',
        RevisionId: seeded.RevisionId,
      }),
    );
    expect(updated).toMatchObject({
      Timeout: 30,
      MemorySize: 512,
      Handler: 'main.go',
      Description: 'hi',
    });
    expect(updated.LastUpdateStatus).toBe('InProgress');
    await waitUntilFunctionUpdatedV2(
      { client, maxWaitTime: 10, minDelay: 1 },
      { FunctionName: 'cfg' },
    );
    expect(emu.functionState('cfg')?.LastUpdateStatus).toBe('Successful');
  });

  test('PublishVersion: 201, CodeSha256 and RevisionId preconditions, unchanged publishes reuse the version', async () => {
    const seeded = emu.seedFunction({ name: 'pub', code: zipA });
    emu.setUpdateDelay(0);
    const client = lambda();
    const wrongSha = await thrown(() =>
      client.send(new PublishVersionCommand({ FunctionName: 'pub', CodeSha256: sha(zipB) })),
    );
    expect(wrongSha).toBeInstanceOf(InvalidParameterValueException);
    expect(wrongSha.message).toBe(
      `CodeSHA256 (${sha(zipB)}) is different from current CodeSHA256 in $LATEST (${sha(zipA)}). Please try again with the CodeSHA256 in $LATEST.`,
    );
    const wrongRev = await thrown(() =>
      client.send(new PublishVersionCommand({ FunctionName: 'pub', RevisionId: 'stale' })),
    );
    expect(wrongRev).toBeInstanceOf(PreconditionFailedException);

    const v1 = await client.send(
      new PublishVersionCommand({
        FunctionName: 'pub',
        CodeSha256: sha(zipA),
        RevisionId: seeded.RevisionId,
      }),
    );
    expect(v1.$metadata.httpStatusCode).toBe(201);
    expect(v1.Version).toBe('1');
    expect(v1.FunctionArn).toBe('arn:aws:lambda:us-east-1:123456789012:function:pub:1');
    const same = await client.send(new PublishVersionCommand({ FunctionName: 'pub' }));
    expect(same.Version).toBe('1');

    await client.send(new UpdateFunctionCodeCommand({ FunctionName: 'pub', ZipFile: zipB }));
    const v2 = await client.send(
      new PublishVersionCommand({ FunctionName: 'pub', CodeSha256: sha(zipB) }),
    );
    expect(v2.Version).toBe('2');

    const old = await client.send(new GetFunctionCommand({ FunctionName: 'pub', Qualifier: '1' }));
    expect(old.Configuration?.CodeSha256).toBe(sha(zipA));
    const list = await client.send(
      new ListVersionsByFunctionCommand({ FunctionName: 'pub', MaxItems: 2 }),
    );
    expect(list.Versions?.map((v) => v.Version)).toEqual(['$LATEST', '1']);
    const rest = await client.send(
      new ListVersionsByFunctionCommand({ FunctionName: 'pub', Marker: list.NextMarker }),
    );
    expect(rest.Versions?.map((v) => v.Version)).toEqual(['2']);
    expect(rest.NextMarker).toBeUndefined();

    await client.send(new DeleteFunctionCommand({ FunctionName: 'pub', Qualifier: '1' }));
    const gone = await thrown(() =>
      client.send(new GetFunctionCommand({ FunctionName: 'pub', Qualifier: '1' })),
    );
    expect(gone).toBeInstanceOf(ResourceNotFoundException);
    const all = await client.send(new ListFunctionsCommand({}));
    expect(all.Functions?.map((f) => f.FunctionName)).toEqual(['pub']);
  });

  test('PublishVersion while an update is in progress: ResourceConflictException', async () => {
    emu.seedFunction({ name: 'busy', code: zipA });
    const client = lambda();
    await client.send(new UpdateFunctionCodeCommand({ FunctionName: 'busy', ZipFile: zipB }));
    const err = await thrown(() =>
      client.send(new PublishVersionCommand({ FunctionName: 'busy' })),
    );
    expect(err).toBeInstanceOf(ResourceConflictException);
  });

  test('a request over the size limit: 413 RequestEntityTooLargeException', async () => {
    const small = await startLambdaEmulator({
      maxRequestBytes: 1000,
      functions: [{ name: 'big' }],
    });
    const client = new LambdaClient({
      endpoint: small.endpoint,
      region: 'us-east-1',
      credentials: DUMMY_CREDENTIALS,
      maxAttempts: 1,
    });
    try {
      const big = makeZip({ 'blob.bin': Buffer.alloc(5000, 7) });
      const err = await thrown(() =>
        client.send(new UpdateFunctionCodeCommand({ FunctionName: 'big', ZipFile: big })),
      );
      expect(err).toBeInstanceOf(LambdaServiceException);
      expect(err.name).toBe('RequestEntityTooLargeException');
      expect(err.message).toBe(
        'Request must be smaller than 1000 bytes for the UpdateFunctionCode operation',
      );
      expect(httpStatus(err)).toBe(413);
    } finally {
      client.destroy();
      await small.close();
    }
  });
});

describe('faults', () => {
  test('error faults raise the SDK exception classes', async () => {
    emu.seedFunction({ name: 'f', code: zipA });
    const client = lambda();
    emu.injectFault({ operation: 'GetFunction', fault: faults.conflict() });
    emu.injectFault({ operation: 'GetFunction', fault: faults.throttle(1) });
    emu.injectFault({ operation: 'GetFunction', fault: faults.serviceError() });
    emu.injectFault({
      operation: 'GetFunction',
      fault: {
        kind: 'error',
        status: 400,
        type: 'InvalidParameterValueException',
        message: 'nope',
      },
    });
    emu.injectFault({
      operation: 'GetFunction',
      fault: { kind: 'error', status: 412, type: 'PreconditionFailedException' },
    });
    const get = () => thrown(() => client.send(new GetFunctionCommand({ FunctionName: 'f' })));
    expect(await get()).toBeInstanceOf(ResourceConflictException);
    const throttled = await get();
    expect(throttled).toBeInstanceOf(TooManyRequestsException);
    if (!(throttled instanceof TooManyRequestsException)) throw throttled;
    expect(throttled.retryAfterSeconds).toBe('1');
    expect(throttled.Reason).toBe('CallerRateLimitExceeded');
    const svc = await get();
    expect(svc).toBeInstanceOf(ServiceException);
    expect(svc.name).toBe('ServiceException');
    const ipv = await get();
    expect(ipv).toBeInstanceOf(InvalidParameterValueException);
    expect(ipv.message).toBe('nope');
    expect(await get()).toBeInstanceOf(PreconditionFailedException);
    expect(emu.pendingFaults()).toEqual([]);
    const ok = await client.send(new GetFunctionCommand({ FunctionName: 'f' }));
    expect(ok.Configuration?.FunctionName).toBe('f');
    expect(emu.calls({ operation: 'GetFunction' }).map((c) => c.errorType ?? c.status)).toEqual([
      'ResourceConflictException',
      'TooManyRequestsException',
      'ServiceException',
      'InvalidParameterValueException',
      'PreconditionFailedException',
      200,
    ]);
  });

  test('the SDK retries a 429 and a 500 by itself; faults count down per call', async () => {
    emu.seedFunction({ name: 'f', code: zipA });
    emu.injectFault({
      operation: 'GetFunctionConfiguration',
      times: 2,
      fault: faults.serviceError(),
    });
    const client = lambda(3);
    const got = await client.send(new GetFunctionConfigurationCommand({ FunctionName: 'f' }));
    expect(got.FunctionName).toBe('f');
    expect(got.$metadata.attempts).toBe(3);
    expect(emu.countCalls('GetFunctionConfiguration', 'f')).toBe(3);
  });

  test('faults can target one function', async () => {
    emu.seedFunction({ name: 'a' });
    emu.seedFunction({ name: 'b' });
    emu.injectFault({ operation: '*', functionName: 'b', fault: faults.serviceError() });
    const client = lambda();
    await client.send(new GetFunctionCommand({ FunctionName: 'a' }));
    expect(
      await thrown(() => client.send(new GetFunctionCommand({ FunctionName: 'b' }))),
    ).toBeInstanceOf(ServiceException);
  });

  test('a dropped connection before processing: no change; the SDK sees a network error', async () => {
    emu.seedFunction({ name: 'd', code: zipA });
    emu.injectFault({ operation: 'UpdateFunctionCode', fault: faults.drop() });
    const client = lambda();
    const err = await thrown(() =>
      client.send(new UpdateFunctionCodeCommand({ FunctionName: 'd', ZipFile: zipB })),
    );
    expect(err).not.toBeInstanceOf(LambdaServiceException);
    expect(`${err.name} ${err.message} ${String((err as { code?: string }).code)}`).toMatch(
      /ECONNRESET|socket hang up/,
    );
    expect(emu.functionState('d')?.CodeSha256).toBe(sha(zipA));
    expect(emu.calls({ operation: 'UpdateFunctionCode' })[0]?.fault).toBe('drop');
  });

  test('a dropped response after processing: the change happened', async () => {
    emu.seedFunction({ name: 'd', code: zipA });
    emu.injectFault({ operation: 'UpdateFunctionCode', fault: faults.drop('after') });
    const client = lambda();
    await thrown(() =>
      client.send(new UpdateFunctionCodeCommand({ FunctionName: 'd', ZipFile: zipB })),
    );
    expect(emu.functionState('d')?.CodeSha256).toBe(sha(zipB));
  });

  test('with retries on, the SDK retries a dropped connection', async () => {
    emu.seedFunction({ name: 'd', code: zipA });
    emu.injectFault({ operation: 'GetFunction', fault: faults.drop() });
    const got = await lambda(3).send(new GetFunctionCommand({ FunctionName: 'd' }));
    expect(got.$metadata.attempts).toBe(2);
  });

  test('a slow response', async () => {
    emu.seedFunction({ name: 's' });
    emu.injectFault({ operation: 'GetFunction', fault: faults.delay(300) });
    const started = Date.now();
    await lambda().send(new GetFunctionCommand({ FunctionName: 's' }));
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
  });

  test('an update that ends Failed keeps the old code; the SDK waiter reports the failure', async () => {
    emu.seedFunction({ name: 'ff', code: zipA });
    emu.injectFault({
      operation: 'UpdateFunctionCode',
      fault: faults.updateFailed(
        'Lambda was unable to configure your environment variables.',
        'InvalidConfiguration',
      ),
    });
    const client = lambda();
    const accepted = await client.send(
      new UpdateFunctionCodeCommand({ FunctionName: 'ff', ZipFile: zipB }),
    );
    expect(accepted.LastUpdateStatus).toBe('InProgress');
    const err = await thrown(() =>
      waitUntilFunctionUpdatedV2({ client, maxWaitTime: 10, minDelay: 1 }, { FunctionName: 'ff' }),
    );
    expect(err.name).toBe('Error');
    expect(err.message).toContain('FAILURE');
    const state = await client.send(new GetFunctionConfigurationCommand({ FunctionName: 'ff' }));
    expect(state.LastUpdateStatus).toBe('Failed');
    expect(state.LastUpdateStatusReason).toBe(
      'Lambda was unable to configure your environment variables.',
    );
    expect(state.LastUpdateStatusReasonCode).toBe('InvalidConfiguration');
    expect(state.CodeSha256).toBe(sha(zipA));
  });

  test('a create that fails ends in State Failed', async () => {
    emu.setUpdateDelay(0);
    emu.injectFault({
      operation: 'CreateFunction',
      fault: faults.updateFailed('The role is broken', 'InvalidRole'),
    });
    const client = lambda();
    await client.send(
      new CreateFunctionCommand({
        FunctionName: 'cf',
        Runtime: 'python3.12',
        Role: ROLE,
        Handler: 'app.handler',
        Code: { ZipFile: zipA },
      }),
    );
    const state = await client.send(new GetFunctionConfigurationCommand({ FunctionName: 'cf' }));
    expect(state).toMatchObject({
      State: 'Failed',
      StateReason: 'The role is broken',
      StateReasonCode: 'InvalidRole',
    });
  });

  test('bad fault rules are refused with a reason', () => {
    expect(() => {
      emu.injectFault({ operation: 'Nope' as never, fault: faults.drop() });
    }).toThrow(/unknown operation "Nope"/);
    expect(() => {
      emu.injectFault({ operation: '*', fault: { kind: 'error', status: 200, type: 'X' } });
    }).toThrow('an error fault needs a status from 400 to 599');
  });
});

describe('recorded calls', () => {
  test('record operation, function and params without the zip bytes', async () => {
    emu.seedFunction({ name: 'r', code: zipA });
    emu.setUpdateDelay(0);
    const client = lambda();
    await client.send(
      new UpdateFunctionCodeCommand({ FunctionName: 'r', ZipFile: zipB, Publish: true }),
    );
    await client.send(new GetFunctionCommand({ FunctionName: 'r', Qualifier: '1' }));
    const [update, get] = emu.calls();
    expect(update).toMatchObject({
      operation: 'UpdateFunctionCode',
      functionName: 'r',
      params: { Publish: true },
      zipFileBytes: zipB.length,
      status: 200,
    });
    expect(update?.params).not.toHaveProperty('ZipFile');
    expect(get).toMatchObject({
      operation: 'GetFunction',
      qualifier: '1',
      params: { Qualifier: '1' },
    });
    expect(emu.countCalls('UpdateFunctionCode')).toBe(1);
    emu.clearCalls();
    expect(emu.calls()).toEqual([]);
  });
});
