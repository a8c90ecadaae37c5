import { createHash } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { TempProject } from '../helpers/project.js';
import {
  HANDLER,
  ROLE,
  UPLOAD_STAMP,
  codeSha256,
  functionTable,
  helloProject,
  otherCode,
  shown,
  stampValue,
  uploadStamp,
  useLocalAws,
  zipBytes,
} from './rig.js';
import { startS3Proxy, type S3Proxy } from './s3-proxy.js';

/**
 * A zip that goes through S3 reaches Lambda only as bytes S3 has vouched for: the object at the
 * content-addressed key is trusted by the digests S3 reports (ETag, stored SHA-256), never by
 * its size, and the upload carries Content-MD5 and x-amz-checksum-sha256 for S3 to check. s3rver
 * is the store; a proxy in front of it records requests and damages them on demand.
 */
const BUCKET = 'lbuild-artifacts';
const THROUGH_S3 = `s3-bucket = "${BUCKET}"\ndirect-upload-limit = 1000\n`;

const aws = useLocalAws({ buckets: [BUCKET] });
let proxy: S3Proxy;
/** One project, built once (pip is the slow part); each test deploys it under a prefix of its own. */
let project: TempProject;
let config: string;
let zip: Buffer;

beforeAll(async () => {
  proxy = await startS3Proxy(aws.s3!.endpoint);
  project = helloProject('');
  config = project.read('lbuild.toml');
  const built = await aws.run(project, ['hello:zip']);
  expect(built.code, shown(built)).toBe(0);
  zip = zipBytes(project);
  expect(zip.length).toBeGreaterThan(1000);
}, 180_000);

afterAll(async () => {
  await proxy.close();
  project.dispose();
});

afterEach(() => {
  proxy.requests = [];
  proxy.corruptPuts = false;
  proxy.checkDigests = false;
  proxy.versionId = undefined;
});

const digest = (algorithm: string, bytes: Buffer, encoding: 'hex' | 'base64') =>
  createHash(algorithm).update(bytes).digest(encoding);

let tests = 0;

/**
 * The function, running someone else's code, never deployed by this project, which deploys
 * through S3 under a prefix of its own (s3rver keeps its objects from test to test). Returns the
 * zip's key.
 */
function prepare(): string {
  const prefix = `test-${String(++tests)}/`;
  aws.emu.seedFunction({
    name: 'hello',
    code: otherCode(),
    role: ROLE,
    runtime: 'python3.12',
    handler: HANDLER,
  });
  project.write(
    'lbuild.toml',
    `${config}\n${functionTable(`${THROUGH_S3}s3-prefix = "${prefix}"\n`)}`,
  );
  project.remove(UPLOAD_STAMP);
  return `${prefix}hello/${digest('sha256', zip, 'hex')}.zip`;
}

/** `lbuild deploy` with S3 reached through the proxy. */
function deployThroughProxy() {
  return aws.run(project, ['deploy'], { AWS_ENDPOINT_URL_S3: proxy.endpoint });
}

function puts(key: string) {
  return proxy.requests.filter((r) => r.method === 'PUT' && r.url.startsWith(`/${BUCKET}/${key}`));
}

/** Lambda runs exactly the zip, fetched from the object at `key`, and the stamp says so. */
async function expectDeployed(key: string): Promise<void> {
  expect(await aws.s3!.get(BUCKET, key)).toEqual(zip);
  const updates = aws.emu.calls({ operation: 'UpdateFunctionCode' });
  expect(updates.at(-1)?.params).toMatchObject({ S3Bucket: BUCKET, S3Key: key });
  expect(aws.emu.functionState('hello')?.CodeSha256).toBe(codeSha256(zip));
  expect(aws.emu.functionCode('hello')).toEqual(zip);
  expect(stampValue(project)?.codeSha256).toBe(codeSha256(zip));
}

describe('an object already at the content-addressed key', () => {
  it('of the same size but other bytes is replaced, and Lambda gets the zip', async () => {
    const key = prepare();
    const planted = Buffer.from(zip);
    const middle = Math.floor(planted.length / 2);
    planted[middle] = (planted[middle] ?? 0) ^ 0xff;
    const put = await fetch(`${aws.s3!.endpoint}/${BUCKET}/${key}`, {
      method: 'PUT',
      body: planted,
    });
    expect(put.status).toBe(200);
    expect(await aws.s3!.get(BUCKET, key)).toEqual(planted);

    const result = await deployThroughProxy();
    expect(result.code, shown(result)).toBe(0);
    expect(puts(key)).toHaveLength(1);
    await expectDeployed(key);
  });

  it('holding the zip is used as it is: no second upload', async () => {
    const key = prepare();
    expect((await deployThroughProxy()).code).toBe(0);
    expect(puts(key)).toHaveLength(1);
    // The function changes under lbuild; the next deploy finds the object and does not upload.
    aws.emu.seedFunction({
      name: 'hello',
      code: otherCode(),
      role: ROLE,
      runtime: 'python3.12',
      handler: HANDLER,
    });
    const again = await deployThroughProxy();
    expect(again.code, shown(again)).toBe(0);
    expect(puts(key)).toHaveLength(1);
    await expectDeployed(key);
  });
});

describe('the upload', () => {
  it('carries the Content-MD5 and x-amz-checksum-sha256 of the zip, and a store that checks them takes it', async () => {
    const key = prepare();
    proxy.checkDigests = true;
    const result = await deployThroughProxy();
    expect(result.code, shown(result)).toBe(0);
    const [put, ...more] = puts(key);
    expect(more).toEqual([]);
    expect(put?.headers['content-md5']).toBe(digest('md5', zip, 'base64'));
    expect(put?.headers['x-amz-checksum-sha256']).toBe(codeSha256(zip));
    expect(put?.status).toBe(200);
    const head = proxy.requests.find((r) => r.method === 'HEAD');
    expect(head?.headers['x-amz-checksum-mode']).toBe('ENABLED');
    await expectDeployed(key);
  });

  it('damaged on the way is refused by a store that checks Content-MD5 (as S3 does): nothing deployed', async () => {
    const key = prepare();
    const before = aws.emu.functionState('hello')?.CodeSha256;
    proxy.checkDigests = true;
    proxy.corruptPuts = true;
    const result = await deployThroughProxy();
    expect(result.code, shown(result)).toBe(1);
    expect(aws.mutations()).toEqual([]);
    expect(result.stderr).toContain(
      `error: S3 refused the upload to s3://${BUCKET}/${key}: the bytes it received do not match the zip's digest (BadDigest)\n`,
    );
    expect(result.stderr).toContain(
      '  hint: something between lbuild and S3 changed the bytes (a proxy, the network); deploy again\n',
    );
    expect(puts(key).map((r) => r.status)).toEqual([400]);
    expect(aws.mutations()).toEqual([]);
    expect(aws.emu.functionState('hello')?.CodeSha256).toBe(before);
    expect(uploadStamp(project)).toBeUndefined();
    expect(await aws.s3!.get(BUCKET, key)).toBeUndefined();

    proxy.corruptPuts = false;
    const again = await deployThroughProxy();
    expect(again.code, shown(again)).toBe(0);
    await expectDeployed(key);
  });

  it('damaged on the way to a store that checks nothing (s3rver) is caught by the ETag it reports: nothing deployed', async () => {
    const key = prepare();
    const before = aws.emu.functionState('hello')?.CodeSha256;
    proxy.corruptPuts = true;
    const result = await deployThroughProxy();
    expect(result.code, shown(result)).toBe(1);
    expect(aws.mutations()).toEqual([]);
    const stored = await aws.s3!.get(BUCKET, key);
    expect(stored).toBeDefined();
    expect(stored).not.toEqual(zip);
    expect(result.stderr).toContain(
      `error: s3://${BUCKET}/${key} does not hold the zip after the upload: S3 reports ETag "${digest('md5', stored!, 'hex')}", the zip's is MD5 ${digest('md5', zip, 'hex')}\n`,
    );
    expect(aws.mutations()).toEqual([]);
    expect(aws.emu.functionState('hello')?.CodeSha256).toBe(before);
    expect(uploadStamp(project)).toBeUndefined();

    // The damaged object stays at the key, and the next deploy replaces it.
    proxy.corruptPuts = false;
    const again = await deployThroughProxy();
    expect(again.code, shown(again)).toBe(0);
    expect(puts(key)).toHaveLength(2);
    await expectDeployed(key);
  });

  it('to a versioned bucket: Lambda is pointed at the version that was checked', async () => {
    const key = prepare();
    proxy.versionId = 'v-checked-1';
    const result = await deployThroughProxy();
    expect(result.code, shown(result)).toBe(0);
    expect(aws.emu.calls({ operation: 'UpdateFunctionCode' })[0]?.params).toMatchObject({
      S3Bucket: BUCKET,
      S3Key: key,
      S3ObjectVersion: 'v-checked-1',
    });
    await expectDeployed(key);
  });
});
