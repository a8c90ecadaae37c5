import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  HANDLER,
  ROLE,
  codeSha256,
  editSource,
  functionTable,
  otherCode,
  shown,
  stampValue,
  uploadStamp,
  useLocalAws,
  zipBytes,
} from './rig.js';

/**
 * A zip over `direct-upload-limit` goes through `s3-bucket` (s3rver here): put under a
 * content-addressed key, then named by S3Bucket/S3Key in the Lambda call.
 */
const BUCKET = 'lbuild-artifacts';
const THROUGH_S3 = `s3-bucket = "${BUCKET}"\ndirect-upload-limit = 1000\n`;

const aws = useLocalAws({ buckets: [BUCKET] });

const hex = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

function seedHello(): void {
  aws.emu.seedFunction({
    name: 'hello',
    code: otherCode(),
    role: ROLE,
    runtime: 'python3.12',
    handler: HANDLER,
  });
}

describe('a zip over direct-upload-limit', () => {
  it('goes through S3: the object under lbuild/hello/SHA256.zip, UpdateFunctionCode with S3Bucket/S3Key', async () => {
    seedHello();
    const project = aws.project(functionTable(THROUGH_S3));
    const result = await aws.run(project, ['deploy']);
    expect(result.code, shown(result)).toBe(0);
    expect(result.stdout).toContain('  uploaded to hello through S3\n');

    const zip = zipBytes(project);
    expect(zip.length).toBeGreaterThan(1000);
    const key = `lbuild/hello/${hex(zip)}.zip`;
    expect(await aws.s3!.get(BUCKET, key)).toEqual(zip);

    const updates = aws.emu.calls({ operation: 'UpdateFunctionCode' });
    expect(updates).toHaveLength(1);
    expect(updates[0]?.params).toMatchObject({ S3Bucket: BUCKET, S3Key: key });
    expect(updates[0]?.params).not.toHaveProperty('ZipFile');
    expect(updates[0]?.zipFileBytes).toBeUndefined();
    expect(aws.emu.functionState('hello')?.CodeSha256).toBe(codeSha256(zip));
    expect(aws.emu.functionCode('hello')).toEqual(zip);
    expect(stampValue(project)?.codeSha256).toBe(codeSha256(zip));

    // The next change goes the same way, under its own key; the old object stays.
    editSource(project);
    const next = await aws.run(project, ['deploy']);
    expect(next.code, shown(next)).toBe(0);
    const zip2 = zipBytes(project);
    const key2 = `lbuild/hello/${hex(zip2)}.zip`;
    expect(key2).not.toBe(key);
    expect(await aws.s3!.get(BUCKET, key2)).toEqual(zip2);
    expect(await aws.s3!.get(BUCKET, key)).toEqual(zip);
    expect(aws.emu.calls({ operation: 'UpdateFunctionCode' })[1]?.params).toMatchObject({
      S3Bucket: BUCKET,
      S3Key: key2,
    });
    expect(aws.emu.functionState('hello')?.CodeSha256).toBe(codeSha256(zip2));
  });

  it('creates a new function from S3 too, with s3-prefix', async () => {
    const project = aws.project(functionTable(`${THROUGH_S3}s3-prefix = "deploys/lambda"\n`));
    const result = await aws.run(project, ['deploy']);
    expect(result.code, shown(result)).toBe(0);
    const zip = zipBytes(project);
    const key = `deploys/lambda/hello/${hex(zip)}.zip`;
    expect(await aws.s3!.get(BUCKET, key)).toEqual(zip);
    const creates = aws.emu.calls({ operation: 'CreateFunction' });
    expect(creates).toHaveLength(1);
    expect(creates[0]?.params.Code).toEqual({ S3Bucket: BUCKET, S3Key: key });
    expect(aws.emu.functionState('hello')?.CodeSha256).toBe(codeSha256(zip));
  });

  it('without s3-bucket: a config error saying to add one, exit 2, nothing changed', async () => {
    seedHello();
    const before = aws.emu.functionState('hello')?.CodeSha256;
    const project = aws.project(functionTable('direct-upload-limit = 1000\n'));
    const result = await aws.run(project, ['deploy']);
    expect(result.code, shown(result)).toBe(2);
    const size = zipBytes(project).length;
    expect(result.stderr).toContain(
      `error: the zip for [function.hello] is ${size} bytes, over direct-upload-limit = 1000\n`,
    );
    expect(result.stderr).toContain(
      `  hint: Lambda takes a zip this large only through S3: add s3-bucket = "BUCKET" to [function.hello] (a bucket in the function's region)\n`,
    );
    expect(aws.mutations()).toEqual([]);
    expect(aws.emu.functionState('hello')?.CodeSha256).toBe(before);
    expect(uploadStamp(project)).toBeUndefined();
  });

  it('zip-too-large says the same, with the same exit status, whether a build or a deploy finds it', async () => {
    seedHello();
    const project = aws.project(functionTable('direct-upload-limit = 1000\n'));
    const refusal = async (args: string[], key: string) => {
      const { result, summary } = await project.json(args, { env: aws.env() });
      const failure = summary.targets.find((t) => t.key === key)?.failure;
      // The same failure for people, on stderr: one renderer for both.
      expect(result.stderr, shown(result)).toContain(`error: ${failure?.message ?? '?'}\n`);
      expect(result.stderr).toContain(`  hint: ${failure?.hint ?? '?'}\n`);
      return { code: result.code, exitCode: summary.exitCode, failure };
    };
    const deploy = await refusal(['deploy'], 'hello:upload');
    // The zip is built now; a limit on what it holds makes the build itself refuse it.
    project.write(
      'lbuild.toml',
      project.read('lbuild.toml').replace('[function.hello]', 'max-unzipped-size = 1000\n\n$&'),
    );
    const build = await refusal([], 'hello:zip');

    const zipped = zipBytes(project).length;
    expect(deploy).toMatchObject({
      code: 2,
      exitCode: 2,
      failure: {
        reason: 'zip-too-large',
        kind: 'config',
        limit: 'direct-upload-limit',
        size: zipped,
        max: 1000,
        message: `the zip for [function.hello] is ${zipped} bytes, over direct-upload-limit = 1000`,
      },
    });
    const unzipped = build.failure?.size as number;
    expect(unzipped).toBeGreaterThan(1000);
    expect(build).toMatchObject({
      code: 2,
      exitCode: 2,
      failure: {
        reason: 'zip-too-large',
        kind: 'config',
        limit: 'max-unzipped-size',
        max: 1000,
        message: `the zip for [bundle.hello] is ${unzipped} bytes unzipped, over max-unzipped-size = 1000`,
      },
    });
    expect(aws.mutations()).toEqual([]);
  });

  it('a bucket that does not exist: a config error naming it, nothing changed', async () => {
    seedHello();
    const project = aws.project(
      functionTable('s3-bucket = "no-such-bucket"\ndirect-upload-limit = 1000\n'),
    );
    const result = await aws.run(project, ['deploy']);
    expect(result.code, shown(result)).toBe(2);
    const key = `lbuild/hello/${hex(zipBytes(project))}.zip`;
    expect(result.stderr).toContain(
      `error: s3-bucket "no-such-bucket" does not exist (uploading s3://no-such-bucket/${key})
`,
    );
    expect(aws.mutations()).toEqual([]);
    expect(uploadStamp(project)).toBeUndefined();
  });
});
