import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { lbuildBin } from '../helpers/project.js';

/**
 * The AWS SDK warns on Node < 22 that its future releases will need Node 22. lbuild ships its
 * own SDK release and supports Node 20: a deploy must not print that notice to its users. (On
 * Node 22 and later the SDK says nothing, and this passes trivially.)
 */
describe("the CLI's bundled AWS SDK", () => {
  it('prints no Node-version notice when its clients are made', () => {
    const vendor = join(dirname(dirname(lbuildBin())), 'bundle', 'vendor');
    const script = `
      const { LambdaClient } = require(${JSON.stringify(join(vendor, 'aws-sdk-client-lambda.cjs'))});
      const { S3Client } = require(${JSON.stringify(join(vendor, 'aws-sdk-client-s3.cjs'))});
      new LambdaClient({ region: 'eu-west-1' }).destroy();
      new S3Client({ region: 'eu-west-1' }).destroy();
      console.log('made');`;
    const env = { ...process.env };
    delete env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED;
    const run = spawnSync(process.execPath, ['-e', script], { env, encoding: 'utf8' });
    expect(run.stdout).toBe('made\n');
    expect(run.stderr).toBe('');
  });
});
