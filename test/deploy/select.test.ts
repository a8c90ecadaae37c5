import { describe, expect, it } from 'vitest';
import {
  HANDLER,
  ROLE,
  ZIP,
  codeSha256,
  functionTable,
  shown,
  useLocalAws,
  zipBytes,
} from './rig.js';

/** Which functions a command deploys: named ones, all of them, or none for a plain build. */
const aws = useLocalAws();

/** Two functions deploying the same bundle: hello, and staging-hello named by a full ARN. */
const TWO = `${functionTable()}
[function.staging]
bundle = "hello"
function-name = "arn:aws:lambda:us-east-1:123456789012:function:staging-hello"
role = "${ROLE}"
runtime = "python3.12"
handler = "${HANDLER}"
`;

describe('lbuild deploy NAME...', () => {
  it('deploys only the named function; with no name, all of them', async () => {
    const p = aws.project(TWO);
    const one = await aws.run(p, ['deploy', 'staging']);
    expect(one.code, shown(one)).toBe(0);
    expect(aws.mutations().map((c) => [c.operation, c.functionName])).toEqual([
      ['CreateFunction', 'staging-hello'],
    ]);
    expect(aws.emu.functionState('hello')).toBeUndefined();

    aws.emu.clearCalls();
    const all = await aws.run(p, ['deploy']);
    expect(all.code, shown(all)).toBe(0);
    expect(aws.mutations().map((c) => [c.operation, c.functionName])).toEqual([
      ['CreateFunction', 'hello'],
    ]);
    const sha = codeSha256(zipBytes(p));
    expect(aws.emu.functionState('hello')?.CodeSha256).toBe(sha);
    expect(aws.emu.functionState('staging-hello')?.CodeSha256).toBe(sha);
    expect((await aws.run(p, ['-q', 'deploy'])).code).toBe(0);
  });

  it('the function ARN decides the region, whatever AWS_REGION says', async () => {
    const p = aws.project(TWO);
    const result = await aws.run(p, ['deploy', 'staging'], { AWS_REGION: 'eu-west-1' });
    expect(result.code, shown(result)).toBe(0);
    expect(aws.emu.functionState('staging-hello')?.FunctionArn).toBe(
      'arn:aws:lambda:us-east-1:123456789012:function:staging-hello',
    );
  });

  it('an unknown name: exit 2 with a suggestion, nothing built or called', async () => {
    const p = aws.project(TWO);
    const result = await aws.run(p, ['deploy', 'helo']);
    expect(result).toEqual({
      code: 2,
      signal: null,
      stdout: '',
      stderr: 'lbuild: error: no function named `helo`\n  hint: did you mean `hello`?\n',
    });
    expect(aws.emu.calls()).toEqual([]);
    expect(p.exists(ZIP)).toBe(false);
  });

  it('a project without [function] tables: nothing to deploy, exit 2', async () => {
    const p = aws.project('');
    const result = await aws.run(p, ['deploy']);
    expect(result.code, shown(result)).toBe(2);
    expect(result.stderr).toBe(
      `lbuild: error: nothing to deploy: the config has no [function.NAME] table
  --> lbuild.toml
  hint: add one, e.g. [function.api] with bundle = "api" and function-name = "..." (see the README, "Deploying")
`,
    );
  });
});

describe('a plain lbuild', () => {
  it('builds the zip, checks the handler in it and never calls Lambda: deploy targets are not built by default', async () => {
    const p = aws.project(functionTable());
    const result = await aws.run(p, []);
    expect(result.code, shown(result)).toBe(0);
    expect(result.stdout).toContain('✓ hello:handler');
    expect(result.stdout).toMatch(/lbuild: built 5 targets, 0 up to date, in /);
    expect(p.exists(ZIP)).toBe(true);
    expect(aws.emu.calls()).toEqual([]);
    expect((await aws.run(p, ['-q'])).code).toBe(0);
    expect(aws.emu.calls()).toEqual([]);
  });
});
