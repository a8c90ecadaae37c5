import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isRunning, killAll, type TempProject } from '../helpers/project.js';
import { waitFor } from '../helpers/wait.js';
import { InvokeTemplate, invokeToml, NO_PIP_ENV, runWithStdin } from './rig.js';

/**
 * `lbuild invoke FUNCTION`: the function's zip is built, then its handler runs on this machine
 * from the unpacked zip with Python 3.11 (the bundle's version), Lambda's environment and a
 * context, and its result is printed as JSON on stdout.
 */

interface Report {
  event: unknown;
  greeting: string;
  greeter_file: string;
  handler_file: string;
  cwd: string;
  context: Record<string, string | number>;
  env: Record<string, string | null>;
}

let template: InvokeTemplate;
let project: TempProject;

beforeAll(async () => {
  template = await InvokeTemplate.create();
  project = template.project();
}, 60_000);

afterAll(() => {
  project.dispose();
  template.dispose();
});

const invoke = (args: readonly string[] = [], env: Record<string, string | undefined> = {}) =>
  project.run(['invoke', 'api', ...args], { env: { ...NO_PIP_ENV, ...env } });

describe('lbuild invoke', () => {
  it('builds the zip, runs the handler from it and prints what it returned as JSON', async () => {
    expect(project.exists('dist/api.zip')).toBe(false);
    project.write('event.json', '{"path": "/items", "n": 12345678901234567890}\n');
    const result = await invoke(['--event', 'event.json'], { USER_SETTING: 'kept' });
    expect(result.code, result.stderr).toBe(0);
    // The build happened, and said so where people read it: stdout is the result alone.
    expect(project.exists('dist/api.zip')).toBe(true);
    expect(result.stderr).toContain('api:zip');
    expect(result.stdout.trim().split('\n')).toHaveLength(1);
    // Printed as Python wrote it: a number past 2**53 keeps its digits.
    expect(result.stdout).toContain('12345678901234567890');
    const report = JSON.parse(result.stdout) as Report;
    expect(report.event).toMatchObject({ path: '/items' });

    // It ran from the package, not the project: the wheel's module is the one in the zip, and
    // the project's own greeter.py (not a source of the bundle) was not seen.
    const root = report.env.LAMBDA_TASK_ROOT ?? '';
    expect(root.startsWith(project.path('.lbuild/'))).toBe(true);
    expect(report.greeting).toBe('hello you');
    expect(report.greeter_file).toBe(join(root, 'greeter', '__init__.py'));
    expect(report.handler_file).toBe(join(root, 'app', 'main.py'));
    expect(report.cwd).toBe(root);
    // What is unpacked is what the zip holds, byte for byte.
    expect(readFileSync(join(root, 'app', 'main.py'), 'utf8')).toBe(project.read('app/main.py'));

    expect(report.context).toMatchObject({
      function_name: 'api',
      function_version: '$LATEST',
      invoked_function_arn: 'arn:aws:lambda:us-east-1:123456789012:function:api',
      memory_limit_in_mb: '256',
      log_group_name: '/aws/lambda/api',
    });
    expect(report.context.aws_request_id).toMatch(/^[0-9a-f-]{36}$/);
    expect(report.context.log_stream_name).toMatch(/^\d{4}\/\d\d\/\d\d\/\[\$LATEST\][0-9a-f]{32}$/);
    // Counting down from the 5 s timeout.
    expect(report.context.remaining).toBeGreaterThan(3000);
    expect(report.context.remaining).toBeLessThanOrEqual(5000);

    expect(report.env).toEqual({
      LAMBDA_TASK_ROOT: root,
      AWS_LAMBDA_FUNCTION_NAME: 'api',
      AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '256',
      AWS_LAMBDA_FUNCTION_TIMEOUT: '5',
      AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
      AWS_REGION: 'us-east-1',
      AWS_DEFAULT_REGION: 'us-east-1',
      AWS_EXECUTION_ENV: 'AWS_Lambda_python3.11',
      _HANDLER: 'app.main.handler',
      TZ: ':UTC',
      LANG: 'en_US.UTF-8',
      GREETING: 'hi from lbuild.toml',
      // The user's environment is kept underneath Lambda's.
      USER_SETTING: 'kept',
    });
  });

  it('takes the region from the environment, and unpacks the same zip only once', async () => {
    const first = await invoke([], { AWS_REGION: 'eu-west-1', AWS_DEFAULT_REGION: undefined });
    expect(first.code, first.stderr).toBe(0);
    const report = JSON.parse(first.stdout) as Report;
    expect(report.env.AWS_REGION).toBe('eu-west-1');
    expect(report.context.invoked_function_arn).toBe(
      'arn:aws:lambda:eu-west-1:123456789012:function:api',
    );
    expect(report.event).toEqual({});
    const root = report.env.LAMBDA_TASK_ROOT ?? '';
    const mtime = project.mtime(root.slice(project.dir.length + 1));
    const again = await invoke();
    expect(again.code, again.stderr).toBe(0);
    expect((JSON.parse(again.stdout) as Report).env.LAMBDA_TASK_ROOT).toBe(root);
    expect(project.mtime(root.slice(project.dir.length + 1))).toBe(mtime);
  });

  it('passes the handler’s prints through to stderr, so stdout stays the result', async () => {
    const result = await runWithStdin(project, ['invoke', 'api'], '{"do": "print"}');
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toContain('a line on stdout\n');
    expect(result.stderr).toContain('a line on stderr\n');
    expect(JSON.parse(result.stdout)).toEqual({ printed: true });
  });

  it('ends once the handler has answered, whatever threads it left running', async () => {
    const started = Date.now();
    const result = await runWithStdin(project, ['invoke', 'api'], '{"do": "thread"}');
    expect(result.code, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({ threaded: true });
    // The thread sleeps 120 s.
    expect(Date.now() - started).toBeLessThan(30_000);
  });

  it('reads the event from stdin with --event -', async () => {
    const result = await runWithStdin(project, ['invoke', 'api', '--event', '-'], '{"a": [1, 2]}');
    expect(result.code, result.stderr).toBe(0);
    expect((JSON.parse(result.stdout) as Report).event).toEqual({ a: [1, 2] });
  });

  it('exits 1 with the traceback when the handler raises; --json gives Lambda’s error object', async () => {
    project.write('raise.json', '{"do": "raise", "why": "no such item"}');
    const result = await invoke(['--event', 'raise.json', '--json']);
    expect(result.code, result.stderr).toBe(1);
    expect(result.stderr).toContain('Traceback (most recent call last):');
    expect(result.stderr).toMatch(/app\/main\.py", line \d+, in explode/);
    expect(result.stderr).toContain('ValueError: no such item');
    const error = JSON.parse(result.stdout) as {
      errorMessage: string;
      errorType: string;
      stackTrace: string[];
    };
    expect(error.errorMessage).toBe('no such item');
    expect(error.errorType).toBe('ValueError');
    // From the handler down, as Lambda gives it: none of lbuild's own frames.
    expect(error.stackTrace).toHaveLength(2);
    expect(error.stackTrace[0]).toMatch(/app\/main\.py", line \d+, in handler/);
    expect(error.stackTrace[1]).toMatch(/in explode\n\s+raise ValueError\(why\)/);

    const plain = await invoke(['--event', 'raise.json']);
    expect(plain.code).toBe(1);
    expect(plain.stdout).toBe('');
  });

  it('says the event file is not JSON, where, and runs nothing (exit 2)', async () => {
    project.write('bad.json', '{\n  "a": 1,\n}\n');
    const result = await invoke(['--event', 'bad.json']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(
      'the event file bad.json is not valid JSON at line 3, column 1',
    );
    expect(result.stdout).toBe('');
    const missing = await invoke(['--event', 'nope.json']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('the event file nope.json cannot be read');
  });

  it('reports an import error of the handler as Lambda does (Runtime.ImportModuleError)', async () => {
    project.write(
      'app/broken.py',
      'import not_a_dependency\n\ndef handler(event, context):\n    return 1\n',
    );
    project.write('lbuild.toml', invokeToml({ handler: 'app.broken.handler' }));
    try {
      const result = await invoke(['--json']);
      expect(result.code, result.stderr).toBe(1);
      expect(result.stderr).toContain(
        "Runtime.ImportModuleError: Unable to import module 'app.broken': No module named 'not_a_dependency'",
      );
      expect(JSON.parse(result.stdout)).toMatchObject({
        errorType: 'Runtime.ImportModuleError',
        errorMessage: "Unable to import module 'app.broken': No module named 'not_a_dependency'",
        stackTrace: [],
      });
    } finally {
      project.write('lbuild.toml', invokeToml());
      project.remove('app/broken.py');
    }
  });

  it('kills the handler and what it started after the timeout: exit 1, "Task timed out"', async () => {
    project.write('lbuild.toml', invokeToml({ timeout: 1 }));
    const pidfile = project.path('pids');
    project.write('sleep.json', JSON.stringify({ do: 'sleep', pidfile }));
    try {
      const started = Date.now();
      const result = await invoke(['--event', 'sleep.json', '--json']);
      const took = Date.now() - started;
      expect(result.code, result.stderr).toBe(1);
      expect(result.stderr).toContain('Task timed out after 1.00 seconds');
      expect(JSON.parse(result.stdout)).toMatchObject({
        errorType: 'Sandbox.Timedout',
        errorMessage: 'Task timed out after 1.00 seconds',
      });
      // The handler sleeps 120 s; lbuild's own start and the build are a few seconds at most.
      expect(took).toBeLessThan(30_000);
      const pids = readFileSync(pidfile, 'utf8').split(' ').map(Number);
      try {
        await waitFor(() => pids.every((pid) => !isRunning(pid)), {
          what: 'the handler and its child to be gone',
          timeoutMs: 5000,
        });
      } finally {
        killAll(pids);
      }
    } finally {
      project.write('lbuild.toml', invokeToml());
    }
  });

  it('needs an interpreter of the runtime’s Python: a missing one is exit 2 naming the key', async () => {
    const other = template.project({
      'lbuild.toml': invokeToml().replace(
        'python       = "3.11"',
        'python       = "3.13"\nruntime-python = "no-such-python"',
      ),
    });
    try {
      const result = await other.run(['invoke', 'api'], { env: NO_PIP_ENV });
      expect(result.code).toBe(2);
      expect(result.stderr).toContain(
        'No Python 3.13 interpreter for the Lambda runtime python3.13',
      );
      expect(result.stderr).toContain('"no-such-python"');
      expect(result.stderr).toMatch(/--> lbuild\.toml:\d+:\d+ \(bundle\.api\.runtime-python\)/);
      // Found out before anything was built.
      expect(other.exists('dist/api.zip')).toBe(false);
    } finally {
      other.dispose();
    }
  });

  it('names an unknown function as deploy does, and needs the function to have a handler', async () => {
    const unknown = await project.run(['invoke', 'apj'], { env: NO_PIP_ENV });
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('no function named `apj`');
    expect(unknown.stderr).toContain('did you mean `api`?');

    project.write('lbuild.toml', invokeToml().replace(/^handler = .*\n/m, ''));
    try {
      const result = await invoke();
      expect(result.code).toBe(2);
      expect(result.stderr).toContain('[function.api] has no handler');
    } finally {
      project.write('lbuild.toml', invokeToml());
    }
  });
});
