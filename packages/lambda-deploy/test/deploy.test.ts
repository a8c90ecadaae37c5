import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UpdateFunctionConfigurationCommand } from '@aws-sdk/client-lambda';
import { GetObjectCommand, HeadObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { LbuildError } from '@lbuild/core';
import type { DescribedFailure, Failure } from '@lbuild/core';
import { faults, startLambdaEmulator } from '@lbuild/lambda-emulator';
import type { LambdaEmulator } from '@lbuild/lambda-emulator';
import { createClients, deployFunction, readFunction } from '../src/index.js';
import type {
  DeployClients,
  DeployEvent,
  DeployOptions,
  DeployResult,
  FunctionConfig,
} from '../src/index.js';
import { functionConfig, startS3rver, useLocalAws, writeZip } from './helpers.js';
import type { RunningS3, TestZip } from './helpers.js';

const ROLE = 'arn:aws:iam::123456789012:role/lambda-exec';
const FAST: DeployOptions = { pollIntervalMs: 20, retryBaseDelayMs: 10, retryMaxDelayMs: 50 };
const APP_A = 'def handler(event, context):\n    return "a"\n';
const APP_B = 'def handler(event, context):\n    return "b"\n';

let dir: string;
let emu: LambdaEmulator;
let s3: RunningS3;
let zipA: TestZip;
let zipB: TestZip;
let clients: DeployClients;
let events: DeployEvent[];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lambda-deploy-'));
  s3 = await startS3rver(['artifacts']);
  emu = await startLambdaEmulator({ updateDelayMs: 60, s3Endpoint: s3.endpoint });
  useLocalAws({ lambda: emu.endpoint, s3: s3.endpoint }, dir);
  zipA = await writeZip(dir, 'a.zip', { 'app.py': APP_A });
  zipB = await writeZip(dir, 'b.zip', { 'app.py': APP_B });
});

beforeEach(() => {
  emu.reset();
  emu.setUpdateDelay(60);
  events = [];
  clients = createClients({ functionName: 'api' }, { env: process.env });
});

afterEach(() => {
  clients.destroy();
});

afterAll(async () => {
  await emu.close();
  await s3.close();
  await rm(dir, { recursive: true, force: true });
});

function deploy(
  config: FunctionConfig,
  zip: TestZip,
  options: DeployOptions = {},
  signal?: AbortSignal,
) {
  return deployFunction({
    config,
    zipPath: zip.path,
    sha256Hex: zip.sha256Hex,
    sha256Base64: zip.sha256Base64,
    clients,
    onEvent: (e) => events.push(e),
    options: { ...FAST, ...options },
    ...(signal ? { signal } : {}),
  });
}

/** The Failure of an expected LbuildError. */
async function failureOf(promise: Promise<unknown>): Promise<Failure> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof LbuildError) return error.failure;
    throw error;
  }
  throw new Error('expected the deploy to fail');
}

const api = (extra: Record<string, unknown> = {}) =>
  functionConfig('api', { bundle: 'api', ...extra });

describe('code updates only when the hash changed', () => {
  test('unchanged zip: no UpdateFunctionCode', async () => {
    emu.seedFunction({ name: 'api', code: zipA.bytes });
    const result = await deploy(api(), zipA);
    expect(result).toMatchObject({
      functionName: 'api',
      functionArn: 'arn:aws:lambda:us-east-1:123456789012:function:api',
      codeSha256: zipA.sha256Base64,
      uploaded: false,
      via: 'none',
      created: false,
      configChanged: [],
      dryRun: false,
    });
    expect(result.version).toBeUndefined();
    expect(emu.countCalls('UpdateFunctionCode')).toBe(0);
    expect(emu.calls().map((c) => c.operation)).toEqual(['GetFunction']);
    expect(events.map((e) => e.step)).toEqual(['read', 'unchanged', 'done']);
  });

  test('changed zip: exactly one UpdateFunctionCode with the RevisionId, then none', async () => {
    const seeded = emu.seedFunction({ name: 'api', code: zipA.bytes });
    const first = await deploy(api(), zipB);
    expect(first).toMatchObject({
      uploaded: true,
      via: 'zip',
      codeSha256: zipB.sha256Base64,
      configChanged: [],
    });
    const updates = emu.calls({ operation: 'UpdateFunctionCode' });
    expect(updates).toHaveLength(1);
    expect(updates[0]?.params).toMatchObject({ RevisionId: seeded.RevisionId, Publish: false });
    expect(updates[0]?.zipFileBytes).toBe(zipB.bytes.length);
    expect(emu.functionCode('api')).toEqual(zipB.bytes);
    // It waited for the update to finish: the result's RevisionId is the settled one.
    expect(first.revisionId).toBe(emu.functionState('api')?.RevisionId);
    expect(emu.functionState('api')?.LastUpdateStatus).toBe('Successful');

    const second = await deploy(api(), zipB);
    expect(second).toMatchObject({ uploaded: false, via: 'none' });
    expect(emu.countCalls('UpdateFunctionCode')).toBe(1);
  });

  test("a function busy with someone else's update is waited for first", async () => {
    emu.seedFunction({ name: 'api', code: zipA.bytes });
    emu.setUpdateDelay(300);
    await clients.lambda.send(
      new UpdateFunctionConfigurationCommand({ FunctionName: 'api', Description: 'theirs' }),
    );
    const result = await deploy(api(), zipB);
    expect(result.uploaded).toBe(true);
    expect(emu.countCalls('UpdateFunctionCode')).toBe(1);
    expect(emu.calls({ operation: 'UpdateFunctionCode' })[0]?.status).toBe(200);
    expect(events.some((e) => e.step === 'wait')).toBe(true);
  });

  test('dry run reads and reports, changes nothing', async () => {
    emu.seedFunction({ name: 'api', code: zipA.bytes, timeout: 3 });
    const result = await deploy(api({ timeout: 30 }), zipB, { dryRun: true });
    expect(result).toMatchObject({
      dryRun: true,
      uploaded: true,
      via: 'zip',
      configChanged: ['timeout'],
    });
    expect(emu.calls().map((c) => c.operation)).toEqual(['GetFunction']);
    expect(events.find((e) => e.step === 'dry-run')?.message).toBe(
      'would upload 0.2 KB (direct) and change timeout of api',
    );
  });

  test('a zip that is not there: a build failure naming it', async () => {
    const missing = { ...zipA, path: join(dir, 'nope.zip') };
    expect(await failureOf(deploy(api(), missing))).toEqual({
      reason: 'zip-missing',
      kind: 'build',
      message: `the zip to deploy, ${missing.path}, does not exist`,
      hint: 'build [bundle.api] first',
    });
  });

  test('readFunction: one GetFunction; undefined when missing', async () => {
    emu.seedFunction({ name: 'api', code: zipA.bytes });
    expect((await readFunction(api(), clients))?.CodeSha256).toBe(zipA.sha256Base64);
    expect(await readFunction(functionConfig('other', { bundle: 'x' }), clients)).toBeUndefined();
    expect(emu.calls().map((c) => c.operation)).toEqual(['GetFunction', 'GetFunction']);
  });
});

describe('through S3 over the direct-upload limit', () => {
  test('PutObject under a content-addressed key, UpdateFunctionCode with S3Bucket/S3Key', async () => {
    emu.seedFunction({ name: 'api', code: zipA.bytes });
    const config = api({ 's3-bucket': 'artifacts', 'direct-upload-limit': 100 });
    const result = await deploy(config, zipB);
    expect(result).toMatchObject({ uploaded: true, via: 's3', codeSha256: zipB.sha256Base64 });
    const key = `lbuild/api/${zipB.sha256Hex}.zip`;
    const update = emu.calls({ operation: 'UpdateFunctionCode' });
    expect(update).toHaveLength(1);
    expect(update[0]?.params).toMatchObject({ S3Bucket: 'artifacts', S3Key: key });
    expect(update[0]?.zipFileBytes).toBeUndefined();
    const object = await clients.s3.send(new GetObjectCommand({ Bucket: 'artifacts', Key: key }));
    expect(Buffer.from(await object.Body!.transformToByteArray())).toEqual(zipB.bytes);
    expect(events.find((e) => e.step === 'upload-s3')?.message).toBe(
      `uploading 0.2 KB to s3://artifacts/${key}`,
    );

    // The same zip again for a function that lacks it: the object is reused, not uploaded again.
    emu.seedFunction({ name: 'api', code: zipA.bytes });
    events = [];
    await deploy(config, zipB);
    expect(events.find((e) => e.step === 'upload-s3')?.message).toBe(
      `s3://artifacts/${key} already holds this zip`,
    );
    const head = await clients.s3.send(new HeadObjectCommand({ Bucket: 'artifacts', Key: key }));
    expect(head.ContentLength).toBe(zipB.bytes.length);
  });

  test('over the limit without s3-bucket: a config failure before any upload', async () => {
    emu.seedFunction({ name: 'api', code: zipA.bytes });
    const failure = await failureOf(deploy(api({ 'direct-upload-limit': 100 }), zipB));
    expect(failure).toEqual({
      reason: 'zip-too-large',
      kind: 'config',
      limit: 'direct-upload-limit',
      size: zipB.bytes.length,
      max: 100,
      table: 'function.api',
    });
    expect(emu.countCalls('UpdateFunctionCode')).toBe(0);
  });

  test('a zip that changed on disk since its hash was taken is not uploaded', async () => {
    emu.seedFunction({ name: 'api', code: zipB.bytes });
    const config = api({
      's3-bucket': 'artifacts',
      's3-prefix': 'changed/',
      'direct-upload-limit': 100,
    });
    // zipB's bytes under zipA's hashes: what a zip rewritten after its build looks like.
    const failure = await failureOf(deploy(config, { ...zipA, path: zipB.path }));
    expect(failure).toEqual({
      reason: 'zip-changed',
      kind: 'build',
      message: `the zip ${zipB.path} changed after it was built: its SHA-256 is ${zipB.sha256Base64}, the build's ${zipA.sha256Base64}`,
      hint: 'build again, then deploy',
    });
    expect(emu.countCalls('UpdateFunctionCode')).toBe(0);
    await expect(
      clients.s3.send(
        new HeadObjectCommand({ Bucket: 'artifacts', Key: `changed/api/${zipA.sha256Hex}.zip` }),
      ),
    ).rejects.toMatchObject({ name: 'NotFound' });
  });

  test('a bucket that does not exist', async () => {
    emu.seedFunction({ name: 'api', code: zipA.bytes });
    const failure = await failureOf(
      deploy(api({ 's3-bucket': 'nope-bucket', 'direct-upload-limit': 100 }), zipB),
    );
    expect(failure).toMatchObject({ reason: 's3-bucket-missing', kind: 'config' });
    expect((failure as DescribedFailure).message).toBe(
      `s3-bucket "nope-bucket" does not exist (uploading s3://nope-bucket/lbuild/api/${zipB.sha256Hex}.zip)`,
    );
  });
});

describe('faults', () => {
  beforeEach(() => {
    emu.seedFunction({ name: 'api', code: zipA.bytes });
  });

  const deployed = (result: DeployResult) => {
    expect(result.codeSha256).toBe(zipB.sha256Base64);
    expect(emu.functionCode('api')).toEqual(zipB.bytes);
  };

  test('409 ResourceConflictException: waits and retries', async () => {
    emu.injectFault({ operation: 'UpdateFunctionCode', times: 2, fault: faults.conflict() });
    deployed(await deploy(api(), zipB));
    expect(emu.countCalls('UpdateFunctionCode')).toBe(3);
    const retries = events.filter((e) => e.step === 'retry');
    expect(retries.map((e) => e.error)).toEqual([
      'ResourceConflictException',
      'ResourceConflictException',
    ]);
    expect(retries[0]?.message).toMatch(
      /^UpdateFunctionCode: Lambda is busy with another update \(ResourceConflictException\); retrying in \d+\.\d s$/,
    );
  });

  test("429 throttling past the SDK's own retries: retried with backoff", async () => {
    emu.injectFault({ operation: 'UpdateFunctionCode', times: 4, fault: faults.throttle() });
    deployed(await deploy(api(), zipB));
    expect(emu.countCalls('UpdateFunctionCode')).toBe(5);
    expect(events.filter((e) => e.step === 'retry').map((e) => e.error)).toEqual([
      'TooManyRequestsException',
    ]);
  });

  test('500 ServiceException on the poll and the update', async () => {
    emu.injectFault({ operation: 'UpdateFunctionCode', times: 3, fault: faults.serviceError() });
    emu.injectFault({
      operation: 'GetFunctionConfiguration',
      times: 3,
      fault: faults.serviceError(),
    });
    deployed(await deploy(api(), zipB));
  });

  test('a dropped connection before the update reaches Lambda', async () => {
    emu.injectFault({ operation: 'UpdateFunctionCode', times: 3, fault: faults.drop() });
    deployed(await deploy(api(), zipB));
    expect(emu.countCalls('UpdateFunctionCode')).toBe(4);
  });

  test('a lost answer after Lambda applied the update: the re-read sees the code is there', async () => {
    emu.injectFault({ operation: 'UpdateFunctionCode', times: 1, fault: faults.drop('after') });
    const result = await deploy(api(), zipB);
    deployed(result);
    const updates = emu.calls({ operation: 'UpdateFunctionCode' });
    expect(updates[0]?.fault).toBe('drop');
    // The retries met a busy function (409) and then a moved RevisionId (412), never a second upload.
    expect(updates.filter((c) => c.status === 200)).toHaveLength(1);
    expect(updates.slice(1).map((c) => c.errorType)).toContain('PreconditionFailedException');
  });

  test('someone else starts an update just before ours: 409, wait, 412, re-read, deployed', async () => {
    emu.setUpdateDelay(400);
    // Our UpdateFunctionCode is held 100 ms at the door; meanwhile another client starts an
    // update that stays InProgress for 400 ms.
    emu.injectFault({ operation: 'UpdateFunctionCode', fault: faults.delay(100) });
    const other = createClients({ functionName: 'api' }, { env: process.env });
    let theirs: Promise<unknown> | undefined;
    const result = await deployFunction({
      config: api(),
      zipPath: zipB.path,
      sha256Hex: zipB.sha256Hex,
      sha256Base64: zipB.sha256Base64,
      clients,
      options: FAST,
      onEvent: (e) => {
        events.push(e);
        if (e.step === 'update-code' && !theirs) {
          theirs = other.lambda.send(
            new UpdateFunctionConfigurationCommand({ FunctionName: 'api', Description: 'theirs' }),
          );
        }
      },
    });
    await theirs;
    other.destroy();
    deployed(result);
    expect(
      emu.calls({ operation: 'UpdateFunctionCode' }).map((c) => c.errorType ?? c.status),
    ).toEqual(['ResourceConflictException', 'PreconditionFailedException', 200]);
    expect(emu.functionState('api')?.Description).toBe('theirs');
    expect(events.map((e) => e.step)).toContain('wait');
  });

  test("an update that ends Failed: a build failure with Lambda's reason", async () => {
    emu.injectFault({
      operation: 'UpdateFunctionCode',
      fault: faults.updateFailed(
        'Unzipped size must be smaller than 262144000 bytes',
        'InvalidConfiguration',
      ),
    });
    const failure = await failureOf(deploy(api(), zipB));
    expect(failure).toEqual({
      reason: 'lambda-update-failed',
      kind: 'build',
      message:
        'Lambda could not apply the code update to api: Unzipped size must be smaller than 262144000 bytes (InvalidConfiguration)',
      hint: 'the function keeps its previous code and configuration; fix the cause and deploy again',
    });
    expect(emu.functionCode('api')).toEqual(zipA.bytes);
  });

  test('throttled through every retry: a clear build failure', async () => {
    emu.injectFault({ operation: 'UpdateFunctionCode', times: 100, fault: faults.throttle() });
    clients.destroy();
    clients = createClients({ functionName: 'api' }, { env: process.env, maxAttempts: 1 });
    const failure = await failureOf(deploy(api(), zipB, { maxRetries: 2 }));
    expect(emu.countCalls('UpdateFunctionCode')).toBe(3);
    expect(failure).toEqual({
      reason: 'lambda-unavailable',
      kind: 'build',
      message: 'UpdateFunctionCode for api kept failing: TooManyRequestsException: Rate exceeded',
      hint: 'Lambda was busy, throttled or unreachable through every retry; try again later',
    });
  });

  test('a PreconditionFailedException: re-read and retry once', async () => {
    emu.injectFault({
      operation: 'UpdateFunctionCode',
      fault: {
        kind: 'error',
        status: 412,
        type: 'PreconditionFailedException',
        message: 'revision moved',
      },
    });
    deployed(await deploy(api(), zipB));
    expect(emu.countCalls('UpdateFunctionCode')).toBe(2);
    expect(emu.countCalls('GetFunction')).toBe(2);
  });

  test('two PreconditionFailedExceptions: someone else is deploying', async () => {
    emu.injectFault({
      operation: 'UpdateFunctionCode',
      times: 2,
      fault: {
        kind: 'error',
        status: 412,
        type: 'PreconditionFailedException',
        message: 'revision moved',
      },
    });
    const failure = await failureOf(deploy(api(), zipB));
    expect(failure).toEqual({
      reason: 'concurrent-modification',
      kind: 'build',
      message:
        'api kept changing while lbuild applied the code update (RevisionId changed twice): someone or something else is deploying it at the same time',
      hint: 'stop the other deploy, then run lbuild again',
    });
  });

  test('Lambda refuses outright: a build failure quoting it', async () => {
    emu.injectFault({
      operation: 'UpdateFunctionCode',
      fault: {
        kind: 'error',
        status: 400,
        type: 'CodeStorageExceededException',
        message: 'Code storage limit exceeded.',
      },
    });
    expect(await failureOf(deploy(api(), zipB))).toEqual({
      reason: 'lambda-error',
      kind: 'build',
      message:
        'AWS refused UpdateFunctionCode for api: CodeStorageExceededException: Code storage limit exceeded.',
    });
  });

  test('bad credentials: a config failure that names no secret', async () => {
    emu.injectFault({
      operation: 'GetFunction',
      fault: {
        kind: 'error',
        status: 403,
        type: 'UnrecognizedClientException',
        message: 'The security token included in the request is invalid.',
      },
    });
    const failure = await failureOf(deploy(api(), zipB));
    expect(failure).toMatchObject({ reason: 'aws-access-denied', kind: 'config' });
    expect((failure as DescribedFailure).message).toBe(
      'AWS refused GetFunction for api: UnrecognizedClientException: The security token included in the request is invalid.',
    );
    expect(JSON.stringify(failure)).not.toContain('S3RVER');
  });

  test('abort stops a deploy that is waiting', async () => {
    emu.setUpdateDelay(10_000);
    const controller = new AbortController();
    const pending = deploy(api(), zipB, { pollIntervalMs: 50 }, controller.signal);
    setTimeout(() => {
      controller.abort();
    }, 200);
    await expect(pending).rejects.toMatchObject({ name: 'AbortError' });
  });
});

describe('configuration', () => {
  test('only configured fields that differ are updated, after the code', async () => {
    emu.seedFunction({
      name: 'api',
      code: zipA.bytes,
      timeout: 3,
      memorySize: 128,
      description: 'same',
    });
    const config = api({
      timeout: 30,
      memory: 128,
      description: 'same',
      environment: { MODE: 'prod' },
    });
    const result = await deploy(config, zipB);
    expect(result.configChanged).toEqual(['timeout', 'environment']);
    const [code, cfg] = [
      emu.calls({ operation: 'UpdateFunctionCode' }),
      emu.calls({ operation: 'UpdateFunctionConfiguration' }),
    ];
    expect(code).toHaveLength(1);
    expect(cfg).toHaveLength(1);
    expect(cfg[0]?.params).toEqual({
      Timeout: 30,
      Environment: { Variables: { MODE: 'prod' } },
      RevisionId: expect.any(String) as string,
    });
    expect(code[0]!.seq).toBeLessThan(cfg[0]!.seq);
    expect(emu.functionState('api')).toMatchObject({ Timeout: 30, LastUpdateStatus: 'Successful' });

    const again = await deploy(config, zipB);
    expect(again).toMatchObject({ uploaded: false, configChanged: [] });
    expect(emu.countCalls('UpdateFunctionConfiguration')).toBe(1);
  });

  test('an architecture change goes with UpdateFunctionCode even when the code is the same', async () => {
    emu.seedFunction({ name: 'api', code: zipA.bytes, architectures: ['x86_64'] });
    const result = await deploy(api({ architecture: 'arm64' }), zipA);
    expect(result).toMatchObject({ uploaded: true, via: 'zip', configChanged: ['architecture'] });
    expect(emu.calls({ operation: 'UpdateFunctionCode' })[0]?.params).toMatchObject({
      Architectures: ['arm64'],
    });
    expect(emu.functionState('api')?.Architectures).toEqual(['arm64']);
  });

  test('a configuration update that ends Failed', async () => {
    emu.seedFunction({ name: 'api', code: zipA.bytes });
    emu.injectFault({
      operation: 'UpdateFunctionConfiguration',
      fault: faults.updateFailed('bad role', 'InvalidRole'),
    });
    const failure = await failureOf(deploy(api({ timeout: 10 }), zipA));
    expect((failure as DescribedFailure).message).toBe(
      'Lambda could not apply the configuration update to api: bad role (InvalidRole)',
    );
  });
});

describe('missing function', () => {
  test('created when role, runtime and handler are configured', async () => {
    const config = api({
      role: ROLE,
      runtime: 'python3.12',
      handler: 'app.handler',
      timeout: 20,
      architecture: 'arm64',
    });
    const result = await deploy(config, zipA);
    expect(result).toMatchObject({
      created: true,
      uploaded: true,
      via: 'zip',
      codeSha256: zipA.sha256Base64,
    });
    const create = emu.calls({ operation: 'CreateFunction' });
    expect(create).toHaveLength(1);
    expect(create[0]?.params).toMatchObject({
      FunctionName: 'api',
      Role: ROLE,
      Runtime: 'python3.12',
      Handler: 'app.handler',
      Timeout: 20,
      Architectures: ['arm64'],
      PackageType: 'Zip',
    });
    expect(emu.functionState('api')).toMatchObject({
      State: 'Active',
      CodeSha256: zipA.sha256Base64,
    });
    expect(result.revisionId).toBe(emu.functionState('api')?.RevisionId);
  });

  test('created through S3 when over the limit', async () => {
    const config = api({
      role: ROLE,
      runtime: 'python3.12',
      handler: 'app.handler',
      's3-bucket': 'artifacts',
      's3-prefix': 'deploys',
      'direct-upload-limit': 100,
    });
    const result = await deploy(config, zipA);
    expect(result).toMatchObject({ created: true, via: 's3' });
    expect(emu.calls({ operation: 'CreateFunction' })[0]?.params).toMatchObject({
      Code: { S3Bucket: 'artifacts', S3Key: `deploys/api/${zipA.sha256Hex}.zip` },
    });
  });

  test('without create info: a config failure naming the keys to add', async () => {
    const failure = await failureOf(deploy(api({ handler: 'app.handler' }), zipA));
    expect(failure).toEqual({
      reason: 'function-not-found',
      kind: 'config',
      message:
        'Lambda function api does not exist in us-east-1, and lbuild cannot create it without role, runtime',
      hint: 'add role = "arn:aws:iam::ACCOUNT_ID:role/ROLE_NAME", runtime = "python3.12" to [function.api] in lbuild.toml so lbuild can create it, or create the function in AWS first (or fix function-name)',
    });
    expect(emu.countCalls('CreateFunction')).toBe(0);
  });

  test('a create that fails', async () => {
    emu.injectFault({
      operation: 'CreateFunction',
      fault: faults.updateFailed('The role is not assumable', 'InvalidRole'),
    });
    const failure = await failureOf(
      deploy(api({ role: ROLE, runtime: 'python3.12', handler: 'app.handler' }), zipA),
    );
    expect(failure).toMatchObject({
      reason: 'lambda-state-failed',
      kind: 'build',
      message: 'Lambda could not create api: The role is not assumable (InvalidRole)',
    });
  });
});

describe('handler check', () => {
  test('a typo in handler fails before any network call', async () => {
    emu.seedFunction({ name: 'api', code: zipA.bytes });
    const failure = await failureOf(deploy(api({ handler: 'app.handlr' }), zipB));
    expect(failure).toEqual({
      reason: 'handler-not-found',
      kind: 'config',
      message:
        'handler "app.handlr": app.py in b.zip has no top-level function handlr (functions defined there: handler)',
      hint: 'did you mean handler = "app.handler"?',
    });
    expect(emu.calls()).toEqual([]);
  });

  test("without a configured handler, the function's own handler is checked before uploading", async () => {
    emu.seedFunction({ name: 'api', code: zipA.bytes, handler: 'main.handler' });
    const failure = await failureOf(deploy(api(), zipB));
    expect((failure as DescribedFailure).message).toBe(
      'handler "main.handler": module main is not in b.zip (looked for main.py, main/__init__.py and main.*.so)',
    );
    expect(emu.calls().map((c) => c.operation)).toEqual(['GetFunction']);
  });
});

describe('publish', () => {
  test('PublishVersion with CodeSha256 and RevisionId preconditions; unchanged deploys return the same version', async () => {
    emu.seedFunction({ name: 'api', code: zipA.bytes });
    const config = api({ publish: true });
    const first = await deploy(config, zipB);
    expect(first.version).toBe('1');
    const publish = emu.calls({ operation: 'PublishVersion' });
    expect(publish).toHaveLength(1);
    expect(publish[0]?.params).toEqual({
      CodeSha256: zipB.sha256Base64,
      RevisionId: first.revisionId,
    });

    const again = await deploy(config, zipB);
    expect(again).toMatchObject({ uploaded: false, version: '1' });

    const third = await deploy(config, zipA);
    expect(third.version).toBe('2');
    expect(emu.functionCode('api', '2')).toEqual(zipA.bytes);
    expect(events.filter((e) => e.step === 'publish').map((e) => e.message)).toEqual([
      'published api version 1',
      'published api version 1',
      'published api version 2',
    ]);
  });

  test('the code changed between update and publish: no version, a clear failure', async () => {
    emu.seedFunction({ name: 'api', code: zipA.bytes });
    emu.injectFault({
      operation: 'PublishVersion',
      fault: {
        kind: 'error',
        status: 400,
        type: 'InvalidParameterValueException',
        message:
          'CodeSHA256 (x) is different from current CodeSHA256 in $LATEST (y). Please try again with the CodeSHA256 in $LATEST.',
      },
    });
    const failure = await failureOf(deploy(api({ publish: true }), zipB));
    expect(failure).toEqual({
      reason: 'concurrent-modification',
      kind: 'build',
      message:
        'api no longer runs this zip, so lbuild did not publish a version: someone else deployed it at the same time',
      hint: 'stop the other deploy, then run lbuild again',
    });
  });

  test('a moved RevisionId at publish: re-read and publish once more', async () => {
    emu.seedFunction({ name: 'api', code: zipA.bytes });
    emu.injectFault({
      operation: 'PublishVersion',
      fault: { kind: 'error', status: 412, type: 'PreconditionFailedException', message: 'moved' },
    });
    const result = await deploy(api({ publish: true }), zipB);
    expect(result.version).toBe('1');
    expect(emu.countCalls('PublishVersion')).toBe(2);
  });
});

describe('the runtime’s deprecation dates (AWS’s, from the shared runtime table)', () => {
  const py39 = { table: 'bundle.api', python: '3.9', architecture: 'x86_64' } as const;
  const deployOn = (date: string, config: FunctionConfig, zip: TestZip) =>
    deployFunction({
      config,
      artifact: py39,
      zipPath: zip.path,
      sha256Hex: zip.sha256Hex,
      sha256Base64: zip.sha256Base64,
      clients,
      onEvent: (e) => events.push(e),
      options: { ...FAST, now: new Date(`${date}T12:00:00Z`) },
    });
  const creatable = () => api({ role: ROLE, handler: 'app.handler' });

  test('deprecated: deploys, with a warning naming the dates', async () => {
    const result = await deployOn('2026-06-01', creatable(), zipA);
    expect(result.created).toBe(true);
    expect(emu.functionState('api')?.Runtime).toBe('python3.9');
    expect(events.filter((e) => e.step === 'deprecated').map((e) => e.message)).toEqual([
      '[function.api]: python3.9 is deprecated since 2025-12-15 (Lambda no longer patches it): Lambda refuses new functions that use it from 2027-02-01 and updates from 2027-03-03; move to python3.14',
    ]);
  });

  test('past the create block: an existing function is updated, a missing one not created', async () => {
    const failure = await failureOf(deployOn('2027-02-15', creatable(), zipA));
    expect(failure).toMatchObject({
      reason: 'runtime-blocked',
      kind: 'config',
      message:
        'Lambda refuses to create functions that use python3.9 since 2027-02-01 (the runtime is deprecated)',
    });
    expect(emu.calls().map((c) => c.operation)).toEqual(['GetFunction']);

    emu.seedFunction({ name: 'api', code: zipA.bytes, runtime: 'python3.9' });
    const result = await deployOn('2027-02-15', creatable(), zipB);
    expect(result.uploaded).toBe(true);
  });

  test('past the update block: refused before any call', async () => {
    emu.seedFunction({ name: 'api', code: zipA.bytes, runtime: 'python3.9' });
    emu.clearCalls();
    const failure = await failureOf(deployOn('2027-03-03', creatable(), zipB));
    expect(failure).toMatchObject({
      reason: 'runtime-blocked',
      message:
        'Lambda refuses to update functions that use python3.9 since 2027-03-03 (the runtime is deprecated)',
      hint: 'move [function.api] and its bundle to a supported runtime, e.g. runtime = "python3.14" and python = "3.14"',
    });
    expect(emu.calls()).toEqual([]);
  });
});
