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
      `error: the zip for hello is ${size} bytes (${(size / 1024).toFixed(1)} KB), over direct-upload-limit 1000: Lambda needs it through S3, and [function.hello] has no s3-bucket
`,
    );
    expect(result.stderr).toContain(
      `  hint: add s3-bucket = "BUCKET" to [function.hello] (a bucket in the function's region)\n`,
    );
    expect(aws.mutations()).toEqual([]);
    expect(aws.emu.functionState('hello')?.CodeSha256).toBe(before);
    expect(uploadStamp(project)).toBeUndefined();
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
