import { createHash } from 'node:crypto';
import {
  CreateFunctionCommand,
  DeleteLayerVersionCommand,
  GetFunctionCommand,
  GetFunctionConfigurationCommand,
  GetLayerVersionByArnCommand,
  GetLayerVersionCommand,
  InvalidParameterValueException,
  LambdaClient,
  ListLayerVersionsCommand,
  ListLayersCommand,
  PublishLayerVersionCommand,
  PublishVersionCommand,
  ResourceNotFoundException,
  UpdateFunctionConfigurationCommand,
  paginateListLayerVersions,
  waitUntilFunctionActiveV2,
  waitUntilFunctionUpdatedV2,
} from '@aws-sdk/client-lambda';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { makeZip, startLambdaEmulator } from '@lbuild/lambda-emulator';
import type { LambdaEmulator } from '@lbuild/lambda-emulator';
import { DUMMY_CREDENTIALS, S3RVER_CREDENTIALS, startS3rver } from './helpers.js';
import type { RunningS3 } from './helpers.js';

/** Layers (API 2018-10-31) over the real AWS SDK v3, as lbuild's deploy uses them. */

const ROLE = 'arn:aws:iam::123456789012:role/lambda-role';
const LAYER_ARN = 'arn:aws:lambda:us-east-1:123456789012:layer:deps';
const sha = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('base64');
const layerA = makeZip({ 'python/requests/__init__.py': 'A = 1\n' });
const layerB = makeZip({ 'python/requests/__init__.py': 'A = 2\n' });
const app = makeZip({ 'app.py': 'def handler(event, context):\n    return 1\n' });

let emu: LambdaEmulator;
let s3: RunningS3;
let client: LambdaClient;

async function thrown(fn: () => Promise<unknown>): Promise<Error> {
  try {
    await fn();
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a rejection');
}

const publish = (zip: Buffer, extra: Record<string, unknown> = {}) =>
  client.send(
    new PublishLayerVersionCommand({
      LayerName: 'deps',
      Content: { ZipFile: zip },
      CompatibleRuntimes: ['python3.12'],
      CompatibleArchitectures: ['x86_64'],
      ...extra,
    }),
  );

beforeAll(async () => {
  s3 = await startS3rver(['layer-bucket']);
  emu = await startLambdaEmulator({ updateDelayMs: 20, s3Endpoint: s3.endpoint });
  client = new LambdaClient({
    endpoint: emu.endpoint,
    region: 'us-east-1',
    credentials: DUMMY_CREDENTIALS,
    maxAttempts: 1,
  });
});

afterEach(() => {
  emu.reset();
});

afterAll(async () => {
  client.destroy();
  await emu.close();
  await s3.close();
});

describe('layer versions', () => {
  test('PublishLayerVersion: versions 1, 2, …, with CodeSha256, CodeSize and what was set', async () => {
    const first = await publish(layerA, {
      Description: 'dependencies',
      LicenseInfo: 'MIT',
    });
    expect(first.$metadata.httpStatusCode).toBe(201);
    expect(first).toMatchObject({
      LayerArn: LAYER_ARN,
      LayerVersionArn: `${LAYER_ARN}:1`,
      Version: 1,
      Description: 'dependencies',
      LicenseInfo: 'MIT',
      CompatibleRuntimes: ['python3.12'],
      CompatibleArchitectures: ['x86_64'],
      Content: { CodeSha256: sha(layerA), CodeSize: layerA.length },
    });
    expect(first.CreatedDate).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+0000$/);
    const download = await fetch(first.Content?.Location ?? '');
    expect(Buffer.from(await download.arrayBuffer())).toEqual(layerA);

    // The same bytes again are a new version: Lambda does not deduplicate layer versions.
    const second = await publish(layerA);
    expect(second.Version).toBe(2);
    const third = await publish(layerB);
    expect(third.LayerVersionArn).toBe(`${LAYER_ARN}:3`);
    expect(emu.layerCode('deps', 3)).toEqual(layerB);
    expect(emu.calls({ operation: 'PublishLayerVersion' })[0]).toMatchObject({
      layerName: 'deps',
      zipFileBytes: layerA.length,
      params: { Content: {}, CompatibleRuntimes: ['python3.12'] },
    });
  });

  test('the zip from S3, by the layer ARN', async () => {
    const s3Client = new S3Client({
      endpoint: s3.endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: S3RVER_CREDENTIALS,
    });
    await s3Client.send(
      new PutObjectCommand({ Bucket: 'layer-bucket', Key: 'layers/deps.zip', Body: layerB }),
    );
    s3Client.destroy();
    const published = await client.send(
      new PublishLayerVersionCommand({
        LayerName: LAYER_ARN,
        Content: { S3Bucket: 'layer-bucket', S3Key: 'layers/deps.zip' },
      }),
    );
    expect(published.Content?.CodeSha256).toBe(sha(layerB));
    expect(published.CompatibleRuntimes).toBeUndefined();

    const missing = await thrown(() =>
      client.send(
        new PublishLayerVersionCommand({
          LayerName: 'deps',
          Content: { S3Bucket: 'layer-bucket', S3Key: 'nope.zip' },
        }),
      ),
    );
    expect(missing).toBeInstanceOf(InvalidParameterValueException);
    expect(missing.message).toContain('NoSuchKey');
  });

  test('bad input is refused as Lambda refuses it, and nothing is published', async () => {
    const notZip = await thrown(() => publish(Buffer.from('not a zip')));
    expect(notZip).toBeInstanceOf(InvalidParameterValueException);
    const badRuntime = await thrown(() => publish(layerA, { CompatibleRuntimes: ['python2.9'] }));
    expect(badRuntime.name).toBe('ValidationException');
    const badArch = await thrown(() =>
      publish(layerA, { CompatibleArchitectures: ['x86_64', 'arm64', 'x86_64'] }),
    );
    expect(badArch.name).toBe('ValidationException');
    const badName = await thrown(() =>
      client.send(
        new PublishLayerVersionCommand({ LayerName: 'no spaces', Content: { ZipFile: layerA } }),
      ),
    );
    expect(badName.name).toBe('ValidationException');
    const listed = await client.send(new ListLayerVersionsCommand({ LayerName: 'deps' }));
    expect(listed.LayerVersions).toEqual([]);
  });

  test('GetLayerVersion, GetLayerVersionByArn; DeleteLayerVersion never frees a number', async () => {
    await publish(layerA);
    await publish(layerB);
    const got = await client.send(
      new GetLayerVersionCommand({ LayerName: 'deps', VersionNumber: 2 }),
    );
    expect(got).toMatchObject({
      LayerVersionArn: `${LAYER_ARN}:2`,
      Version: 2,
      Content: { CodeSha256: sha(layerB), CodeSize: layerB.length },
    });
    const byArn = await client.send(new GetLayerVersionByArnCommand({ Arn: `${LAYER_ARN}:1` }));
    expect(byArn.Content?.CodeSha256).toBe(sha(layerA));

    await client.send(new DeleteLayerVersionCommand({ LayerName: 'deps', VersionNumber: 2 }));
    // Deleting again is no error, as in Lambda.
    await client.send(new DeleteLayerVersionCommand({ LayerName: 'deps', VersionNumber: 2 }));
    const gone = await thrown(() =>
      client.send(new GetLayerVersionCommand({ LayerName: 'deps', VersionNumber: 2 })),
    );
    expect(gone).toBeInstanceOf(ResourceNotFoundException);
    expect((await publish(layerB)).Version).toBe(3);
    const unknown = await thrown(() =>
      client.send(new GetLayerVersionCommand({ LayerName: 'other', VersionNumber: 1 })),
    );
    expect(unknown).toBeInstanceOf(ResourceNotFoundException);
  });

  test('ListLayerVersions: newest first, filtered, paginated; ListLayers', async () => {
    await publish(layerA, { CompatibleRuntimes: ['python3.11'] });
    await publish(layerA, { CompatibleArchitectures: ['arm64'] });
    await publish(layerB);
    const all = await client.send(new ListLayerVersionsCommand({ LayerName: 'deps' }));
    expect(all.LayerVersions?.map((v) => v.Version)).toEqual([3, 2, 1]);
    expect(all.LayerVersions?.[0]).not.toHaveProperty('Content');
    expect(all.NextMarker).toBeUndefined();

    const runtime = await client.send(
      new ListLayerVersionsCommand({ LayerName: 'deps', CompatibleRuntime: 'python3.12' }),
    );
    expect(runtime.LayerVersions?.map((v) => v.Version)).toEqual([3, 2]);
    const arch = await client.send(
      new ListLayerVersionsCommand({ LayerName: LAYER_ARN, CompatibleArchitecture: 'arm64' }),
    );
    expect(arch.LayerVersions?.map((v) => v.Version)).toEqual([2]);

    const first = await client.send(
      new ListLayerVersionsCommand({ LayerName: 'deps', MaxItems: 1 }),
    );
    expect(first.LayerVersions?.map((v) => v.LayerVersionArn)).toEqual([`${LAYER_ARN}:3`]);
    expect(first.NextMarker).toBeDefined();
    const pages: number[] = [];
    for await (const page of paginateListLayerVersions(
      { client, pageSize: 2 },
      { LayerName: 'deps' },
    )) {
      pages.push(page.LayerVersions?.length ?? 0);
    }
    expect(pages).toEqual([2, 1]);

    const tooMany = await thrown(() =>
      client.send(new ListLayerVersionsCommand({ LayerName: 'deps', MaxItems: 51 })),
    );
    expect(tooMany.name).toBe('ValidationException');

    const layers = await client.send(new ListLayersCommand({}));
    expect(layers.Layers).toEqual([
      expect.objectContaining({
        LayerName: 'deps',
        LayerArn: LAYER_ARN,
        LatestMatchingVersion: expect.objectContaining({ Version: 3 }) as unknown,
      }),
    ]);
  });
});

describe("functions' Layers", () => {
  test('CreateFunction and UpdateFunctionConfiguration set them; GetFunction lists Arn and CodeSize', async () => {
    const v1 = await publish(layerA);
    const v2 = await publish(layerB);
    const created = await client.send(
      new CreateFunctionCommand({
        FunctionName: 'api',
        Runtime: 'python3.12',
        Role: ROLE,
        Handler: 'app.handler',
        Code: { ZipFile: app },
        Layers: [v1.LayerVersionArn ?? ''],
      }),
    );
    expect(created.Layers).toEqual([{ Arn: `${LAYER_ARN}:1`, CodeSize: layerA.length }]);
    await waitUntilFunctionActiveV2(
      { client, maxWaitTime: 10, minDelay: 1 },
      { FunctionName: 'api' },
    );

    await client.send(
      new UpdateFunctionConfigurationCommand({
        FunctionName: 'api',
        Layers: [v2.LayerVersionArn ?? ''],
      }),
    );
    await waitUntilFunctionUpdatedV2(
      { client, maxWaitTime: 10, minDelay: 1 },
      { FunctionName: 'api' },
    );
    const got = await client.send(new GetFunctionCommand({ FunctionName: 'api' }));
    expect(got.Configuration?.Layers).toEqual([{ Arn: `${LAYER_ARN}:2`, CodeSize: layerB.length }]);
    const published = await client.send(new PublishVersionCommand({ FunctionName: 'api' }));
    expect(published.Layers?.map((l) => l.Arn)).toEqual([`${LAYER_ARN}:2`]);

    // A deleted layer version stays in the functions that use it, as in Lambda.
    await client.send(new DeleteLayerVersionCommand({ LayerName: 'deps', VersionNumber: 2 }));
    const config = await client.send(new GetFunctionConfigurationCommand({ FunctionName: 'api' }));
    expect(config.Layers?.map((l) => l.Arn)).toEqual([`${LAYER_ARN}:2`]);

    await client.send(new UpdateFunctionConfigurationCommand({ FunctionName: 'api', Layers: [] }));
    await waitUntilFunctionUpdatedV2(
      { client, maxWaitTime: 10, minDelay: 1 },
      { FunctionName: 'api' },
    );
    const cleared = await client.send(new GetFunctionConfigurationCommand({ FunctionName: 'api' }));
    expect(cleared.Layers).toBeUndefined();
  });

  test('unknown versions, more than five, two versions of one layer, another region: refused', async () => {
    await publish(layerA);
    await publish(layerB);
    emu.seedFunction({ name: 'api', code: app });
    const refused = async (layers: string[]) => {
      const error = await thrown(() =>
        client.send(
          new UpdateFunctionConfigurationCommand({ FunctionName: 'api', Layers: layers }),
        ),
      );
      return `${error.name}: ${error.message}`;
    };
    expect(await refused([`${LAYER_ARN}:9`])).toBe(
      `InvalidParameterValueException: Layer version ${LAYER_ARN}:9 does not exist.`,
    );
    expect(await refused(Array.from({ length: 6 }, () => `${LAYER_ARN}:1`))).toBe(
      'InvalidParameterValueException: Cannot reference more than 5 layers.',
    );
    expect(await refused([`${LAYER_ARN}:1`, `${LAYER_ARN}:2`])).toBe(
      'InvalidParameterValueException: Two different versions of the same layer are not allowed to be referenced in the same function.',
    );
    expect(await refused(['arn:aws:lambda:eu-west-1:123456789012:layer:deps:1'])).toMatch(
      /^InvalidParameterValueException: Layers are not in the same region/,
    );
    expect(await refused([LAYER_ARN])).toMatch(/^ValidationException: /);
    expect(emu.functionState('api')?.Layers).toBeUndefined();
    expect(
      emu.calls({ operation: 'UpdateFunctionConfiguration' }).every((c) => c.status === 400),
    ).toBe(true);
  });
});
