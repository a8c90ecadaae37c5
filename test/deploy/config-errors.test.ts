import { describe, expect, it } from 'vitest';
import {
  ROLE,
  ZIP,
  functionTable,
  lineOf,
  otherCode,
  shown,
  uploadStamp,
  useLocalAws,
  withoutTimes,
} from './rig.js';

/**
 * A bad `[function.NAME]` value is reported by its exact text, with exit 2, before lbuild makes
 * a single call to Lambda (the emulator records none) and before anything is built.
 */
const aws = useLocalAws();

const LONG_NAME = 'f'.repeat(65);

describe('bad [function.hello] values: exit 2, no call to Lambda, nothing built', () => {
  it.each<[string, string, string, string]>([
    // [what, the line in [function.hello], the error, the hint ('' for none)]
    [
      'a function-name over 64 characters',
      `function-name = "${LONG_NAME}"`,
      `function-name "${LONG_NAME}" is too long: Lambda function names are at most 64 characters (this one has 65)`,
      '',
    ],
    [
      'a function-name Lambda does not accept',
      'function-name = "hello world!"',
      'function-name "hello world!" is not a valid Lambda function name: use 1 to 64 letters, digits, hyphens (-) or underscores (_), or a function ARN without a version',
      '',
    ],
    [
      'timeout 901',
      'timeout = 901',
      'timeout 901 is out of range: Lambda allows 1 to 900 seconds',
      '',
    ],
    ['memory 64', 'memory = 64', 'memory 64 is out of range: Lambda allows 128 to 10240 MB', ''],
    [
      'architecture "sparc"',
      'architecture = "sparc"',
      'architecture "sparc" is not one Lambda supports: use "x86_64" or "arm64"',
      '',
    ],
    [
      'an unknown key',
      'timout = 30',
      'unknown key `timout` in [function.hello]',
      'did you mean `timeout`?',
    ],
  ])('%s', async (_what, line, error, hint) => {
    const project = aws.project(functionTable(`${line}\n`));
    const key = line.split(' = ')[0] ?? '';
    const result = await aws.run(project, ['deploy']);
    expect(result).toEqual({
      code: 2,
      signal: null,
      stdout: '',
      stderr: `lbuild: error: ${error}
  --> lbuild.toml:${lineOf(project, line)}:1 (function.hello.${key})
${hint ? `  hint: ${hint}\n` : ''}`,
    });
    expect(aws.emu.calls()).toEqual([]);
    expect(project.exists(ZIP)).toBe(false);
    // Every other command reads the same config, and says the same.
    expect(await aws.run(project, ['-q', 'deploy'])).toMatchObject({ code: 2, stdout: '' });
    expect(aws.emu.calls()).toEqual([]);
  });

  it('a role that is not an IAM role ARN', async () => {
    const project = aws.project(functionTable().replace(/^role = .*$/m, 'role = "lambda-exec"'));
    const result = await aws.run(project, ['deploy']);
    expect(result).toEqual({
      code: 2,
      signal: null,
      stdout: '',
      stderr: `lbuild: error: role "lambda-exec" is not an IAM role ARN: write arn:aws:iam::ACCOUNT_ID:role/ROLE_NAME (12-digit account id)
  --> lbuild.toml:${lineOf(project, 'role = "lambda-exec"')}:1 (function.hello.role)
`,
    });
    expect(aws.emu.calls()).toEqual([]);
  });

  it('a bundle that does not exist', async () => {
    const project = aws.project(functionTable().replace('bundle = "hello"', 'bundle = "helo"'));
    const result = await aws.run(project, ['deploy']);
    expect(result).toEqual({
      code: 2,
      signal: null,
      stdout: '',
      stderr: `lbuild: error: target hello:upload depends on \`helo:zip\`, which is not a target
  --> lbuild.toml:${lineOf(project, 'bundle = "helo"')}:1 (function.hello.bundle)
  hint: did you mean \`hello:zip\`?
`,
    });
    expect(aws.emu.calls()).toEqual([]);
    expect(project.exists(ZIP)).toBe(false);
  });

  it('several bad values at once: every one is reported', async () => {
    const project = aws.project(functionTable('timeout = 0\nmemory = 20000\n'));
    const result = await aws.run(project, ['deploy']);
    expect(result.code, shown(result)).toBe(2);
    expect(result.stderr)
      .toBe(`lbuild: error: timeout 0 is out of range: Lambda allows 1 to 900 seconds
  --> lbuild.toml:${lineOf(project, 'timeout = 0')}:1 (function.hello.timeout)
lbuild: error: memory 20000 is out of range: Lambda allows 128 to 10240 MB
  --> lbuild.toml:${lineOf(project, 'memory = 20000')}:1 (function.hello.memory)
`);
    expect(aws.emu.calls()).toEqual([]);
  });
});

describe('a handler that is not in the zip', () => {
  it('fails after the build and before any call to Lambda, pointing at handler', async () => {
    const project = aws.project(
      functionTable().replace(/^handler = .*$/m, 'handler = "hello.handler.handlr"'),
    );
    const result = await aws.run(project, ['deploy']);
    expect(result.code, shown(result)).toBe(2);
    expect(withoutTimes(result.stderr)).toBe(`✗ hello:upload failed (T)
error: handler "hello.handler.handlr": hello/handler.py in hello.zip has no top-level function handlr (functions defined there: handler)
  --> lbuild.toml:${lineOf(project, 'handler = "hello.handler.handlr"')}:1 (function.hello.handler)
  hint: did you mean handler = "hello.handler.handler"?
lbuild: build failed: 1 failed, 0 skipped, 4 built, in T
`);
    expect(aws.emu.calls()).toEqual([]);
    expect(uploadStamp(project)).toBeUndefined();
    // The zip it checked was built.
    expect(project.exists(ZIP)).toBe(true);
  });

  it('a module that is not there: says what is', async () => {
    const project = aws.project(
      functionTable().replace(/^handler = .*$/m, 'handler = "handler.handler"'),
    );
    const result = await aws.run(project, ['deploy']);
    expect(result.code, shown(result)).toBe(2);
    expect(result.stderr).toContain(
      `error: handler "handler.handler": module handler is not in hello.zip (looked for handler.py, handler/__init__.py and handler.*.so)
  --> lbuild.toml:${lineOf(project, 'handler = "handler.handler"')}:1 (function.hello.handler)
  hint: hello/handler.py is in hello/ inside the zip: use handler = "hello.handler.handler", or put the module at the top of the zip
`,
    );
    expect(aws.emu.calls()).toEqual([]);
  });

  it('without handler in lbuild.toml, the function’s own handler must be in the new zip', async () => {
    aws.emu.seedFunction({
      name: 'hello',
      code: otherCode(),
      role: ROLE,
      runtime: 'python3.12',
      handler: 'app.main',
    });
    const before = aws.emu.functionState('hello')?.CodeSha256;
    const project = aws.project('[function.hello]\nbundle = "hello"\n');
    const result = await aws.run(project, ['deploy']);
    expect(result.code, shown(result)).toBe(2);
    expect(result.stderr).toContain(
      `error: handler "app.main": module app is not in hello.zip (looked for app.py, app/__init__.py and app.*.so)
  --> lbuild.toml:${lineOf(project, 'bundle = "hello"')}:1 (function.hello.bundle)
  hint: Python modules at the top of the zip: hello, lbuild_example_greet, lbuild_example_text
`,
    );
    // One read to learn the handler; no code sent.
    expect(aws.emu.calls().map((c) => c.operation)).toEqual(['GetFunction']);
    expect(aws.emu.functionState('hello')?.CodeSha256).toBe(before);
    expect(uploadStamp(project)).toBeUndefined();
  });
});
