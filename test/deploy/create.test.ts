import { describe, expect, it } from 'vitest';
import {
  ARN,
  HANDLER,
  ROLE,
  codeSha256,
  functionTable,
  lineOf,
  shown,
  stampValue,
  uploadStamp,
  useLocalAws,
  withoutTimes,
  zipBytes,
} from './rig.js';

const aws = useLocalAws();

describe('the first deploy of a function that does not exist', () => {
  it('creates it with the configured role, runtime and handler: exactly one CreateFunction', async () => {
    const project = aws.project(functionTable('timeout = 10\nmemory = 256\n'));
    const result = await aws.run(project, ['deploy']);
    expect(result.code, shown(result)).toBe(0);
    expect(result.stdout).toContain('  uploaded to hello (created)\n');

    const sha = codeSha256(zipBytes(project));
    expect(aws.emu.countCalls('CreateFunction')).toBe(1);
    expect(aws.mutations().map((c) => c.operation)).toEqual(['CreateFunction']);
    const [create] = aws.emu.calls({ operation: 'CreateFunction' });
    expect(create?.params).toMatchObject({
      FunctionName: 'hello',
      Role: ROLE,
      Runtime: 'python3.12',
      Handler: HANDLER,
      Timeout: 10,
      MemorySize: 256,
      PackageType: 'Zip',
    });
    expect(create?.zipFileBytes).toBe(zipBytes(project).length);

    expect(aws.emu.functionState('hello')).toMatchObject({
      FunctionArn: ARN,
      Role: ROLE,
      Runtime: 'python3.12',
      Handler: HANDLER,
      Timeout: 10,
      MemorySize: 256,
      CodeSha256: sha,
      State: 'Active',
    });
    expect(aws.emu.functionCode('hello')).toEqual(zipBytes(project));
    expect(stampValue(project)).toMatchObject({ functionArn: ARN, codeSha256: sha });

    // Created once: the next deploy finds it up to date with one read and no change.
    aws.emu.clearCalls();
    const again = await aws.run(project, ['deploy']);
    expect(again.code, shown(again)).toBe(0);
    expect(again.stdout).toBe('lbuild: up to date (5 targets)\n');
    expect(aws.emu.calls().map((c) => c.operation)).toEqual(['GetFunction']);
  });

  // Without runtime, the function gets its bundle's (see runtime-match.test.ts).
  it.each([
    ['role', 'role = "arn:aws:iam::ACCOUNT_ID:role/ROLE_NAME"'],
    ['handler', 'handler = "app.handler"'],
  ])('without %s: a config error saying what to add, exit 2, nothing created', async (key, add) => {
    const table = functionTable().replace(new RegExp(`^${key} = .*\\n`, 'm'), '');
    const project = aws.project(table);
    const result = await aws.run(project, ['deploy']);
    expect(result.code, shown(result)).toBe(2);
    const line = lineOf(project, 'bundle = "hello"');
    expect(withoutTimes(result.stderr)).toBe(
      `✗ hello:upload failed (T)
error: Lambda function hello does not exist in us-east-1, and lbuild cannot create it without ${key}
  --> lbuild.toml:${line}:1 (function.hello.bundle)
  hint: add ${add} to [function.hello] in lbuild.toml so lbuild can create it, or create the function in AWS first (or fix function-name)
lbuild: build failed: 1 failed, 0 skipped, 4 built, in T
`,
    );
    expect(aws.mutations()).toEqual([]);
    expect(aws.emu.functionState('hello')).toBeUndefined();
    expect(uploadStamp(project)).toBeUndefined();
  });

  it('without role and handler: names both', async () => {
    const project = aws.project('[function.hello]\nbundle = "hello"\n');
    const result = await aws.run(project, ['deploy']);
    expect(result.code, shown(result)).toBe(2);
    expect(result.stderr).toContain(
      `error: Lambda function hello does not exist in us-east-1, and lbuild cannot create it without role, handler
  --> lbuild.toml:${lineOf(project, 'bundle = "hello"')}:1 (function.hello.bundle)
  hint: add role = "arn:aws:iam::ACCOUNT_ID:role/ROLE_NAME", handler = "app.handler" to [function.hello] in lbuild.toml so lbuild can create it, or create the function in AWS first (or fix function-name)
`,
    );
    expect(aws.mutations()).toEqual([]);
    expect(aws.emu.functionState('hello')).toBeUndefined();
    expect(uploadStamp(project)).toBeUndefined();
  });
});
