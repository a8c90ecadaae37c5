import { describe, expect, it } from 'vitest';
import { faults } from '@lbuild/lambda-emulator';
import type { RunResult } from '../helpers/project.js';
import { editSource, filesBelow, functionTable, shown, useLocalAws } from './rig.js';

/**
 * Credentials never show: not in any output (human, --json, --log-format json, --explain, -v,
 * errors), not in stamps or anything else under the project. Dummy values that are easy to spot
 * stand in for real ones; s3rver checks only the access key id, so S3 runs keep `S3RVER`.
 */
const SECRET = 'lbuildDummySecret+DoNotPrint/7f3a9c2e';
const SESSION = 'lbuildDummySessionToken-DoNotPrint-9e1b44d0';
const KEY_ID = 'LBUILDDUMMYKEYID7F3A';
const BUCKET = 'lbuild-artifacts';

const aws = useLocalAws({ buckets: [BUCKET] });

function expectNoSecret(text: string | Buffer, where: string): void {
  const s = text.toString();
  for (const secret of [SECRET, SESSION, KEY_ID]) {
    expect(s.includes(secret), `${where} contains ${secret}`).toBe(false);
  }
}

describe('credentials', () => {
  it('appear in no output and nowhere in the project, whatever lbuild is asked to do', async () => {
    const p = aws.project(functionTable('publish = true\n'));
    const lambdaOnly = aws.env({
      AWS_ACCESS_KEY_ID: KEY_ID,
      AWS_SECRET_ACCESS_KEY: SECRET,
      AWS_SESSION_TOKEN: SESSION,
    });
    const withS3 = aws.env({ AWS_SECRET_ACCESS_KEY: SECRET, AWS_SESSION_TOKEN: SESSION });
    const results: [string, RunResult][] = [];
    const run = async (args: string[], env = lambdaOnly, debug = false) => {
      const result = await p.run(args, {
        env: { ...env, ...(debug ? { LBUILD_DEBUG: '1' } : {}) },
      });
      results.push([`lbuild ${args.join(' ')}`, result]);
      return result;
    };

    // Created, with every kind of output.
    expect((await run(['-v', '--explain', 'deploy'])).code).toBe(0);
    expect((await run(['--json', 'deploy'])).code).toBe(0);
    expect((await run(['-q', '--explain', 'deploy'])).code).toBe(0);
    // Updated, logged as JSON lines.
    editSource(p, '# one');
    expect((await run(['-n', '--explain', 'deploy'])).code).toBe(0);
    expect((await run(['--log-format', 'json', '-v', 'deploy'])).code).toBe(0);
    // Through S3 (the direct-upload limit lowered), with retries on the way.
    p.write(
      'lbuild.toml',
      `${p.read('lbuild.toml')}s3-bucket = "${BUCKET}"\ndirect-upload-limit = 1000\n`,
    );
    editSource(p, '# two');
    aws.emu.injectFault({ operation: 'UpdateFunctionCode', times: 2, fault: faults.conflict() });
    const s3 = await run(['--log-format', 'json', 'deploy'], withS3);
    expect(s3.code, shown(s3)).toBe(0);
    expect(aws.emu.calls({ operation: 'UpdateFunctionCode' }).at(-1)?.params).toHaveProperty(
      'S3Key',
    );

    // Refused, with the debug switch on: the error (and any stack) shows no credential.
    editSource(p, '# three');
    aws.emu.injectFault({
      operation: 'GetFunction',
      fault: {
        kind: 'error',
        status: 403,
        type: 'UnrecognizedClientException',
        message: 'The security token included in the request is invalid.',
      },
    });
    const refused = await run(['deploy'], lambdaOnly, true);
    expect(refused.code, shown(refused)).toBe(2);
    expect(refused.stderr).toContain(
      'error: AWS refused GetFunction for hello: UnrecognizedClientException: The security token included in the request is invalid.\n',
    );
    aws.emu.injectFault({ operation: 'GetFunction', times: 1000, fault: faults.serviceError() });
    const unavailable = await run(['--json', '-q', 'deploy'], lambdaOnly, true);
    expect(unavailable.code, shown(unavailable)).toBe(2);
    aws.emu.clearFaults();

    for (const [what, result] of results) {
      expectNoSecret(result.stdout, `stdout of ${what}`);
      expectNoSecret(result.stderr, `stderr of ${what}`);
    }
    const files = filesBelow(p.dir);
    expect(files.some((f) => f.path.includes('.lbuild'))).toBe(true);
    for (const file of files) expectNoSecret(file.content, file.path);
  });

  it('missing: a config error that says how to provide them, exit 2, no call made', async () => {
    const p = aws.project(functionTable());
    const result = await p.run(['deploy'], {
      env: aws.env({ AWS_ACCESS_KEY_ID: undefined, AWS_SECRET_ACCESS_KEY: undefined }),
    });
    expect(result.code, shown(result)).toBe(2);
    expect(result.stderr).toContain(
      `error: no AWS credentials found for deploying hello
  --> lbuild.toml:`,
    );
    expect(result.stderr).toContain(
      '  hint: set AWS_PROFILE (and run `aws sso login` for SSO profiles), or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY\n',
    );
    expect(aws.emu.calls()).toEqual([]);
  });
});
