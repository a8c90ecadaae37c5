import { describe, expect, it } from 'vitest';
import { faults } from '@lbuild/lambda-emulator';
import {
  HANDLER,
  ROLE,
  ZIP,
  codeSha256,
  editSource,
  functionTable,
  otherCode,
  shown,
  uploadStamp,
  useLocalAws,
  zipBytes,
} from './rig.js';

/**
 * `lbuild -q deploy` answers "would a deploy change anything?" (exit 0 no, 1 yes) from the
 * stamps and one GetFunction; `--offline` from the stamps alone; `-n deploy` lists what would
 * be deployed. None of them changes anything, here or in Lambda.
 */
const aws = useLocalAws();

const short = (sha: string) => `${sha.slice(0, 8)}…`;

/** Someone else deploys other code to `hello`, keeping its configuration. */
function deployElsewhere(): string {
  const code = otherCode();
  aws.emu.seedFunction({
    name: 'hello',
    code,
    role: ROLE,
    runtime: 'python3.12',
    handler: HANDLER,
  });
  return codeSha256(code);
}

describe('lbuild -q deploy', () => {
  it('exit 1 before the first deploy, 0 after, 1 after a source edit, 0 once deployed', async () => {
    const p = aws.project(functionTable());
    expect(await aws.run(p, ['-q', 'deploy'])).toMatchObject({ code: 1, stdout: '', stderr: '' });
    // A question builds nothing and deploys nothing.
    expect(p.exists(ZIP)).toBe(false);
    expect(aws.emu.functionState('hello')).toBeUndefined();

    await aws.deploy(p);
    aws.emu.clearCalls();
    expect(await aws.run(p, ['-q', 'deploy'])).toMatchObject({ code: 0, stdout: '', stderr: '' });
    // Up to date by the stamps, and Lambda confirms it with one read.
    expect(aws.emu.calls().map((c) => c.operation)).toEqual(['GetFunction']);

    editSource(p);
    const zip = zipBytes(p);
    expect(await aws.run(p, ['-q', 'deploy'])).toMatchObject({ code: 1, stdout: '', stderr: '' });
    expect(zipBytes(p)).toEqual(zip);
    expect(aws.mutations()).toEqual([]);

    await aws.deploy(p);
    expect(await aws.run(p, ['-q', 'deploy'])).toMatchObject({ code: 0, stdout: '', stderr: '' });
  });

  it('exit 1 when someone else changed the function’s code; --explain shows both hashes', async () => {
    const p = aws.project(functionTable());
    await aws.deploy(p);
    const local = codeSha256(zipBytes(p));
    const remote = deployElsewhere();
    aws.emu.clearCalls();

    expect(await aws.run(p, ['-q', 'deploy'])).toMatchObject({ code: 1, stdout: '', stderr: '' });
    const explained = await aws.run(p, ['-q', 'deploy', '--explain']);
    expect(explained).toMatchObject({
      code: 1,
      stdout: `hello:upload would run: CodeSha256 differs: remote ${short(remote)} local ${short(local)}\nlbuild: not up to date\n`,
      stderr: '',
    });
    expect(aws.mutations()).toEqual([]);
    expect(aws.emu.functionState('hello')?.CodeSha256).toBe(remote);

    // A deploy puts the zip back, with one UpdateFunctionCode.
    aws.emu.clearCalls();
    await aws.deploy(p);
    expect(aws.mutations().map((c) => c.operation)).toEqual(['UpdateFunctionCode']);
    expect(aws.emu.functionState('hello')?.CodeSha256).toBe(local);
    expect(await aws.run(p, ['-q', 'deploy'])).toMatchObject({ code: 0, stdout: '', stderr: '' });
  });

  it('--offline answers from the stamp with zero calls: 0 after a deploy, 1 after a local edit', async () => {
    const p = aws.project(functionTable());
    expect((await aws.run(p, ['-q', 'deploy', '--offline'])).code).toBe(1);
    await aws.deploy(p);
    aws.emu.clearCalls();

    expect(await aws.run(p, ['-q', 'deploy', '--offline'])).toMatchObject({
      code: 0,
      stdout: '',
      stderr: '',
    });
    // Offline means offline: a change made in Lambda is not seen, and nothing is asked.
    deployElsewhere();
    expect((await aws.run(p, ['-q', 'deploy', '--offline'])).code).toBe(0);

    editSource(p);
    const explained = await aws.run(p, ['-q', 'deploy', '--offline', '--explain']);
    expect(explained.code, shown(explained)).toBe(1);
    expect(explained.stdout).toMatch(
      /^hello:tree would run: input changed: hello\/handler\.py \([0-9a-f]{8} → [0-9a-f]{8}\)\nhello:zip would run: dependency hello:tree will run\nhello:upload would run: dependency hello:zip will run\nlbuild: not up to date\n$/,
    );
    expect(aws.emu.calls()).toEqual([]);
  });

  it('lbuild deploy --offline (no -q, no -n) refuses: a deploy cannot be made without AWS', async () => {
    const p = aws.project(functionTable());
    await aws.deploy(p);
    editSource(p);
    const stamp = uploadStamp(p);
    aws.emu.clearCalls();
    expect(await aws.run(p, ['deploy', '--offline'])).toEqual({
      code: 2,
      signal: null,
      stdout: '',
      stderr: `lbuild: error: --offline makes no AWS calls, so it cannot deploy: it answers -q and -n from the last recorded deploy
  hint: lbuild -q deploy --offline, or lbuild -n deploy --offline; drop --offline to deploy
`,
    });
    expect(aws.emu.calls()).toEqual([]);
    expect(uploadStamp(p)).toEqual(stamp);
    // -n --offline lists the deploy from the stamps, without a call either.
    const dry = await aws.run(p, ['-n', 'deploy', '--offline']);
    expect(dry.code, shown(dry)).toBe(0);
    expect(dry.stdout).toContain(
      'would run hello:upload: upload the zip of bundle hello to Lambda function hello\n',
    );
    expect(aws.emu.calls()).toEqual([]);
  });

  it('a Lambda that cannot be asked is an error (exit 2), not a "yes"', async () => {
    const p = aws.project(functionTable());
    await aws.deploy(p);
    aws.emu.injectFault({
      operation: 'GetFunction',
      functionName: 'hello',
      times: 1000,
      fault: faults.serviceError(),
    });
    const result = await aws.run(p, ['-q', 'deploy']);
    expect(result.code, shown(result)).toBe(2);
    expect(result.stderr).toContain(
      'error: GetFunction for hello kept failing: ServiceException: Internal error\n',
    );
  });
});

describe('lbuild -n deploy --explain', () => {
  it('after a source edit: lists the zip and the upload with their reasons, changes nothing', async () => {
    const p = aws.project(functionTable());
    await aws.deploy(p);
    const stamp = uploadStamp(p);
    editSource(p);
    const zip = zipBytes(p);
    aws.emu.clearCalls();

    const result = await aws.run(p, ['-n', 'deploy', '--explain']);
    expect(result.code, shown(result)).toBe(0);
    expect(result.stderr).toBe('');
    expect(result.stdout).toMatch(
      /^would run hello:tree: the contents of the package: wheel contents, sources, extra files\n {4}because input changed: hello\/handler\.py \([0-9a-f]{8} → [0-9a-f]{8}\)\nwould run hello:zip: the reproducible zip dist\/hello\.zip\n {4}because dependency hello:tree will run\nwould run hello:upload: upload the zip of bundle hello to Lambda function hello\n {4}because dependency hello:zip will run\nlbuild: 3 of 5 targets would run\n$/,
    );
    expect(aws.mutations()).toEqual([]);
    expect(zipBytes(p)).toEqual(zip);
    expect(uploadStamp(p)).toEqual(stamp);
  });

  it('after someone else deployed: the upload would run because CodeSha256 differs; one read only', async () => {
    const p = aws.project(functionTable());
    await aws.deploy(p);
    const local = codeSha256(zipBytes(p));
    const remote = deployElsewhere();
    aws.emu.clearCalls();

    const result = await aws.run(p, ['-n', 'deploy', '--explain']);
    expect(result).toMatchObject({
      code: 0,
      stdout: `would run hello:upload: upload the zip of bundle hello to Lambda function hello\n    because CodeSha256 differs: remote ${short(remote)} local ${short(local)}\nlbuild: 1 of 5 targets would run\n`,
      stderr: '',
    });
    expect(aws.emu.calls().map((c) => c.operation)).toEqual(['GetFunction']);
    expect(aws.emu.functionState('hello')?.CodeSha256).toBe(remote);
  });

  it('before the first deploy: every target would run, and Lambda is not called', async () => {
    const p = aws.project(functionTable());
    const result = await aws.run(p, ['-n', 'deploy', '--explain']);
    expect(result.code, shown(result)).toBe(0);
    expect(result.stdout).toContain(
      'would run hello:upload: upload the zip of bundle hello to Lambda function hello\n    because dependency hello:zip will run\nlbuild: 5 of 5 targets would run\n',
    );
    expect(aws.emu.calls()).toEqual([]);
    expect(p.exists(ZIP)).toBe(false);
  });
});
