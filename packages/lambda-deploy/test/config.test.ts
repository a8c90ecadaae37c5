import { describe, expect, test } from 'vitest';
import * as z from 'zod/mini';
import { FunctionTableSchema, validateFunctionConfig } from '../src/index.js';
import type { ConfigIssue } from '../src/index.js';

function issues(name: string, raw: unknown): ConfigIssue[] {
  const result = validateFunctionConfig(name, raw);
  if (result.ok) throw new Error('expected issues');
  return result.issues;
}

describe('validateFunctionConfig', () => {
  test('a minimal table gets the defaults', () => {
    expect(validateFunctionConfig('api', { bundle: 'api' })).toEqual({
      ok: true,
      config: {
        name: 'api',
        bundle: 'api',
        functionName: 'api',
        s3Prefix: 'lbuild/',
        publish: false,
        directUploadLimit: 52428800,
      },
    });
  });

  test('a full table maps to camelCase; s3-prefix gets its trailing slash', () => {
    const result = validateFunctionConfig('api', {
      bundle: 'api-bundle',
      'function-name': 'arn:aws:lambda:eu-west-1:123456789012:function:my-api',
      handler: 'pkg.app.handler',
      runtime: 'python3.12',
      timeout: 30,
      memory: 512,
      role: 'arn:aws:iam::123456789012:role/lambda-exec',
      description: 'the API',
      architecture: 'arm64',
      's3-bucket': 'my-artifacts',
      's3-prefix': 'deploys',
      publish: true,
      'direct-upload-limit': 1000,
      environment: { LOG_LEVEL: 'info' },
    });
    expect(result).toEqual({
      ok: true,
      config: {
        name: 'api',
        bundle: 'api-bundle',
        functionName: 'arn:aws:lambda:eu-west-1:123456789012:function:my-api',
        handler: 'pkg.app.handler',
        runtime: 'python3.12',
        timeout: 30,
        memory: 512,
        role: 'arn:aws:iam::123456789012:role/lambda-exec',
        description: 'the API',
        architecture: 'arm64',
        s3Bucket: 'my-artifacts',
        s3Prefix: 'deploys/',
        publish: true,
        directUploadLimit: 1000,
        environment: { LOG_LEVEL: 'info' },
      },
    });
  });

  test('ranges, with the exact wording', () => {
    expect(issues('api', { bundle: 'api', timeout: 901 })).toEqual([
      {
        key: 'timeout',
        message: 'timeout 901 is out of range: Lambda allows 1 to 900 seconds',
        hint: 'e.g. timeout = 30',
      },
    ]);
    expect(issues('api', { bundle: 'api', timeout: 0, memory: 64 })).toEqual([
      {
        key: 'timeout',
        message: 'timeout 0 is out of range: Lambda allows 1 to 900 seconds',
        hint: 'e.g. timeout = 30',
      },
      {
        key: 'memory',
        message: 'memory 64 is out of range: Lambda allows 128 to 10240 MB',
        hint: 'e.g. memory = 512',
      },
    ]);
    expect(issues('api', { bundle: 'api', memory: 10241 })[0]?.message).toBe(
      'memory 10241 is out of range: Lambda allows 128 to 10240 MB',
    );
    expect(issues('api', { bundle: 'api', timeout: 1.5 })[0]?.message).toBe(
      'timeout must be a whole number of seconds (got 1.5)',
    );
    expect(issues('api', { bundle: 'api', timeout: '30' })[0]?.message).toBe(
      'timeout must be a whole number of seconds (got the string "30")',
    );
    expect(issues('api', { bundle: 'api', 'direct-upload-limit': 60000000 })[0]?.message).toBe(
      'direct-upload-limit 60000000 is too large: Lambda accepts at most 52428800 bytes (50 MB) in a direct upload; larger zips go through s3-bucket',
    );
  });

  test('bundle is required', () => {
    expect(issues('api', {})).toEqual([
      {
        key: 'bundle',
        message: 'bundle is required: name the [bundle.NAME] whose zip this function deploys',
        hint: 'add bundle = "NAME" naming a [bundle.NAME] table',
      },
    ]);
  });

  test('runtime, role, architecture, handler, description', () => {
    expect(
      issues('api', {
        bundle: 'api',
        runtime: 'python3.7',
        role: 'arn:aws:iam::123:role/x',
        architecture: 'arm',
        handler: 'app',
        description: 'x'.repeat(300),
      }).map((i) => [i.key, i.message]),
    ).toEqual([
      [
        'handler',
        'handler "app" is not a Python handler: write MODULE.FUNCTION, e.g. "app.handler" or "pkg.api.main"',
      ],
      [
        'runtime',
        'runtime "python3.7" is not a Python runtime Lambda supports: use one of python3.8, python3.9, python3.10, python3.11, python3.12, python3.13, python3.14',
      ],
      [
        'role',
        'role "arn:aws:iam::123:role/x" is not an IAM role ARN: write arn:aws:iam::ACCOUNT_ID:role/ROLE_NAME (12-digit account id)',
      ],
      ['description', 'description is 300 characters long: Lambda allows at most 256'],
      ['architecture', 'architecture "arm" is not one Lambda supports: use "x86_64" or "arm64"'],
    ]);
    expect(
      validateFunctionConfig('api', {
        bundle: 'a',
        role: 'arn:aws-cn:iam::123456789012:role/path/r',
      }).ok,
    ).toBe(true);
  });

  test("function names and ARNs follow Lambda's pattern, names at most 64 characters", () => {
    expect(issues('api', { bundle: 'api', 'function-name': 'a'.repeat(65) })[0]?.message).toBe(
      `function-name "${'a'.repeat(65)}" is too long: Lambda function names are at most 64 characters (this one has 65)`,
    );
    expect(issues('api', { bundle: 'api', 'function-name': 'bad name' })[0]?.message).toBe(
      'function-name "bad name" is not a valid Lambda function name: use 1 to 64 letters, digits, hyphens (-) or underscores (_), or a function ARN without a version',
    );
    expect(issues('api', { bundle: 'api', 'function-name': 'my-fn:1' })[0]?.key).toBe(
      'function-name',
    );
    for (const ok of [
      'my_fn-1',
      '123456789012:function:my-fn',
      'arn:aws:lambda:us-east-1:123456789012:function:my-fn',
    ]) {
      expect(validateFunctionConfig('api', { bundle: 'api', 'function-name': ok }).ok).toBe(true);
    }
    expect(issues('my.fn', { bundle: 'api' })).toEqual([
      {
        key: 'function-name',
        message:
          '[function.my.fn] needs function-name: "my.fn" is not a valid Lambda function name (1 to 64 letters, digits, hyphens or underscores)',
        hint: 'e.g. function-name = "my-api" or function-name = "arn:aws:lambda:us-east-1:123456789012:function:my-api"',
      },
    ]);
    expect(
      issues('api', {
        bundle: 'api',
        'function-name': 'arn:aws:lambda:eu-west-1:123456789012:function:api',
        region: 'us-east-1',
      }),
    ).toEqual([
      {
        key: 'region',
        message: 'region "us-east-1" does not match the region in function-name (eu-west-1)',
        hint: 'remove region, or make it match the ARN',
      },
    ]);
  });

  test('unknown keys get a suggestion', () => {
    expect(issues('api', { bundle: 'api', timout: 3, 'memory-size': 128 })).toEqual([
      {
        key: 'timout',
        message: 'unknown key timout in [function.api]',
        hint: 'did you mean timeout?',
      },
      {
        key: 'memory-size',
        message: 'unknown key memory-size in [function.api]',
        hint: 'known keys: bundle, function-name, region, handler, runtime, timeout, memory, role, description, architecture, s3-bucket, s3-prefix, publish, direct-upload-limit, environment, layers',
      },
    ]);
  });

  test('S3 settings, publish, region, environment', () => {
    expect(
      issues('api', {
        bundle: 'api',
        's3-bucket': 'A_B',
        's3-prefix': '/x',
        publish: 'yes',
        region: 'mars',
        environment: { AWS_REGION: 'x', '1A': 'y', OK: 3 },
      }).map((i) => [i.key, i.message]),
    ).toEqual([
      ['region', 'region "mars" is not an AWS region name like us-east-1'],
      [
        's3-bucket',
        's3-bucket "A_B" is not a valid S3 bucket name: 3 to 63 lowercase letters, digits, dots or hyphens',
      ],
      ['s3-prefix', 's3-prefix "/x" must not start with "/": S3 keys have no leading slash'],
      ['publish', 'publish must be true or false (got the string "yes")'],
      ['environment.OK', 'environment values must be strings (got number)'],
      [
        'environment.AWS_REGION',
        'environment variable AWS_REGION is reserved: Lambda sets it itself',
      ],
      [
        'environment.1A',
        'environment variable name "1A" is not allowed: Lambda wants a letter followed by letters, digits or underscores',
      ],
    ]);
  });

  test('layers: names of [layer.NAME] tables and version ARNs, checked as Lambda would', () => {
    const arn = 'arn:aws:lambda:eu-west-1:123456789012:layer:other:3';
    const ok = validateFunctionConfig('api', { bundle: 'api', layers: ['deps', arn] });
    expect(ok.ok && ok.config.layers).toEqual(['deps', arn]);
    expect(
      issues('api', {
        bundle: 'api',
        layers: ['deps', 'arn:aws:lambda:eu-west-1:123456789012:layer:other', 'a.b', 'deps'],
      }).map((i) => [i.key, i.message]),
    ).toEqual([
      [
        'layers.1',
        'layers entry "arn:aws:lambda:eu-west-1:123456789012:layer:other" is not a layer version ARN: write arn:aws:lambda:REGION:ACCOUNT_ID:layer:NAME:VERSION (with the version number)',
      ],
      [
        'layers.2',
        'layers entry "a.b" is neither a [layer.NAME] table usable as a Lambda layer name (1 to 64 letters, digits, hyphens or underscores) nor a layer version ARN',
      ],
      [
        'layers.3',
        'layers names the same layer twice ("deps" and "deps"): Lambda allows one version of a layer per function',
      ],
    ]);
    expect(
      issues('api', { bundle: 'api', layers: [arn, arn.replace(':3', ':4')] })[0]?.message,
    ).toContain('names the same layer twice');
    expect(
      issues('api', { bundle: 'api', layers: ['a', 'b', 'c', 'd', 'e', 'f'] })[0]?.message,
    ).toBe('layers has 6 entries: Lambda allows at most 5 layers per function');
    expect(issues('api', { bundle: 'api', region: 'us-east-1', layers: [arn] })[0]).toMatchObject({
      key: 'layers.0',
      message: `layer ${arn} is in eu-west-1, but the function is in us-east-1: Lambda only uses layers of the function's region`,
    });
  });

  test('not a table', () => {
    expect(issues('api', 'api')[0]?.message).toBe(
      '[function.api] must be a table (got the string "api")',
    );
  });
});

test('the schema turns into a JSON Schema with only bundle required and the defaults shown', () => {
  const schema = z.toJSONSchema(FunctionTableSchema, { unrepresentable: 'any' }) as {
    required: string[];
    additionalProperties: boolean;
    properties: Record<
      string,
      { default?: unknown; description?: string; maximum?: number; enum?: string[] }
    >;
  };
  expect(schema.required).toEqual(['bundle']);
  expect(schema.additionalProperties).toBe(false);
  expect(schema.properties.timeout?.maximum).toBe(900);
  expect(schema.properties['s3-prefix']?.default).toBe('lbuild/');
  expect(schema.properties['direct-upload-limit']?.default).toBe(52428800);
  expect(schema.properties.architecture?.enum).toEqual(['x86_64', 'arm64']);
  expect(schema.properties.bundle?.description).toContain('[bundle.NAME]');
});
