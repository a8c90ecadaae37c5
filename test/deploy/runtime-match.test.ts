import { describe, expect, it } from 'vitest';
import {
  HANDLER,
  ROLE,
  ZIP,
  editSource,
  functionTable,
  lineOf,
  otherCode,
  shown,
  uploadStamp,
  useLocalAws,
  withoutTimes,
  zipBytes,
} from './rig.js';
import type { TempProject } from '../helpers/project.js';

/**
 * The zip's wheels are chosen for one Python and one CPU ([bundle] python, architecture); the
 * function runs one runtime on one CPU ([function] runtime, architecture, or what the deployed
 * function already runs). When they disagree lbuild refuses, with exit 2 and both values named,
 * before it changes anything: x86_64 wheels on an arm64 function, or a 3.11 zip on python3.12,
 * import-fail only in production.
 */
const aws = useLocalAws();

/** `[function.hello]` that sets neither runtime nor architecture: it takes the bundle's. */
const WITHOUT_PLATFORM = `[function.hello]
bundle = "hello"
role = "${ROLE}"
handler = "${HANDLER}"
`;

/** Sets a key of the example's `[bundle.hello]` (its line is `key = ...  # comment`). */
function setBundle(project: TempProject, key: 'python' | 'architecture', value: string): string {
  const line = `${key} = "${value}"`;
  const text = project.read('lbuild.toml');
  const edited = text.replace(new RegExp(`^${key}\\s*=.*$`, 'm'), line);
  if (edited === text) throw new Error(`the example sets no ${key}`);
  project.write('lbuild.toml', edited);
  return line;
}

describe('lbuild.toml: [function] runtime or architecture against its [bundle]', () => {
  it('a 3.11 bundle to a python3.12 function: exit 2 for every command, nothing built or called', async () => {
    const project = aws.project(functionTable());
    const python = setBundle(project, 'python', '3.11');
    const expected = {
      code: 2,
      signal: null,
      stdout: '',
      stderr: `lbuild: error: [function.hello] runtime python3.12 does not match [bundle.hello] python 3.11
  --> lbuild.toml:${lineOf(project, 'runtime = "python3.12"')}:1 (function.hello.runtime)
  hint: the zip is built for Python 3.11 ([bundle.hello] python at lbuild.toml:${lineOf(project, python)}): set runtime = "python3.11" in [function.hello], or python = "3.12" in [bundle.hello]
`,
    };
    for (const args of [['deploy'], ['-q', 'deploy'], ['-n', 'deploy'], []]) {
      expect(await aws.run(project, args), args.join(' ')).toEqual(expected);
    }
    expect(aws.emu.calls()).toEqual([]);
    expect(project.exists(ZIP)).toBe(false);
  });

  it('an x86_64 bundle to an arm64 function: exit 2, no call, the deployed function and the stamp as they were', async () => {
    const project = await aws.deployedProject();
    const deployed = aws.emu.functionState('hello');
    const stamp = uploadStamp(project);
    expect(stamp).toBeDefined();
    project.write('lbuild.toml', `${project.read('lbuild.toml')}architecture = "arm64"\n`);
    editSource(project);
    const expected = {
      code: 2,
      signal: null,
      stdout: '',
      stderr: `lbuild: error: [function.hello] architecture arm64 does not match [bundle.hello] architecture x86_64
  --> lbuild.toml:${lineOf(project, 'architecture = "arm64"')}:1 (function.hello.architecture)
  hint: the zip's wheels are for x86_64 ([bundle.hello] architecture at lbuild.toml:${lineOf(project, 'architecture = "x86_64"')}): set architecture = "x86_64" in [function.hello], or architecture = "arm64" in [bundle.hello]
`,
    };
    for (const args of [['deploy'], ['-q', 'deploy'], ['-n', 'deploy']]) {
      expect(await aws.run(project, args), args.join(' ')).toEqual(expected);
    }
    expect(aws.emu.calls()).toEqual([]);
    expect(aws.emu.functionState('hello')).toEqual(deployed);
    expect(uploadStamp(project)).toEqual(stamp);
  });

  it('both wrong: both are reported', async () => {
    const project = aws.project(functionTable('architecture = "arm64"\n'));
    setBundle(project, 'python', '3.13');
    const result = await aws.run(project, ['deploy']);
    expect(result.code, shown(result)).toBe(2);
    expect(result.stderr).toContain(
      'lbuild: error: [function.hello] runtime python3.12 does not match [bundle.hello] python 3.13\n',
    );
    expect(result.stderr).toContain(
      'lbuild: error: [function.hello] architecture arm64 does not match [bundle.hello] architecture x86_64\n',
    );
    expect(aws.emu.calls()).toEqual([]);
  });
});

describe('a [function] without runtime or architecture takes the bundle’s', () => {
  it('creates the function with the bundle’s runtime and architecture', async () => {
    const project = aws.project(WITHOUT_PLATFORM);
    setBundle(project, 'python', '3.11');
    const result = await aws.run(project, ['deploy']);
    expect(result.code, shown(result)).toBe(0);
    expect(aws.emu.calls({ operation: 'CreateFunction' })[0]?.params).toMatchObject({
      Runtime: 'python3.11',
      Architectures: ['x86_64'],
      Handler: HANDLER,
    });
    expect(aws.emu.functionState('hello')?.CodeSha256).toBeDefined();
  });

  it('a deployed function switched to arm64 since: refused after the one read, nothing changed, stamp kept', async () => {
    const project = await aws.deployedProject('', { created: true });
    project.write('lbuild.toml', project.read('lbuild.toml').replace(/^runtime = .*\n/m, ''));
    const stamp = uploadStamp(project);
    aws.emu.seedFunction({
      name: 'hello',
      code: zipBytes(project),
      role: ROLE,
      runtime: 'python3.12',
      handler: HANDLER,
      architectures: ['arm64'],
    });
    const before = aws.emu.functionState('hello');
    editSource(project);
    aws.emu.clearCalls();

    const result = await aws.run(project, ['deploy']);
    expect(result.code, shown(result)).toBe(2);
    expect(withoutTimes(result.stderr)).toBe(`✗ hello:upload failed (T)
error: Lambda function hello runs on arm64, but the wheels in the zip of [bundle.hello] are for x86_64
  --> lbuild.toml:${lineOf(project, 'bundle = "hello"')}:1 (function.hello.bundle)
  hint: set architecture = "x86_64" in [function.hello] to switch the function with this deploy, or change [bundle.hello] to match the function ([bundle.hello] architecture at lbuild.toml:${lineOf(project, 'architecture = "x86_64"')}); nothing was changed
lbuild: build failed: 1 failed, 0 skipped, 2 built, in T
`);
    expect(aws.emu.calls().map((c) => c.operation)).toEqual(['GetFunction']);
    expect(aws.emu.countCalls('UpdateFunctionCode')).toBe(0);
    expect(aws.emu.functionState('hello')).toEqual(before);
    expect(uploadStamp(project)).toEqual(stamp);

    // Asked whether a deploy would change anything, the answer is the same refusal.
    for (const args of [
      ['-q', 'deploy'],
      ['-n', 'deploy'],
    ]) {
      const asked = await aws.run(project, args);
      expect(asked.code, shown(asked)).toBe(2);
      expect(asked.stderr).toContain(
        'error: Lambda function hello runs on arm64, but the wheels in the zip of [bundle.hello] are for x86_64\n',
      );
    }
    expect(aws.mutations()).toEqual([]);
    expect(uploadStamp(project)).toEqual(stamp);
  });

  it('a 3.11 bundle to a function that runs python3.12: refused after the one read', async () => {
    aws.emu.seedFunction({
      name: 'hello',
      code: otherCode(),
      role: ROLE,
      runtime: 'python3.12',
      handler: HANDLER,
    });
    const before = aws.emu.functionState('hello');
    const project = aws.project(WITHOUT_PLATFORM);
    const python = setBundle(project, 'python', '3.11');
    const result = await aws.run(project, ['deploy']);
    expect(result.code, shown(result)).toBe(2);
    expect(result.stderr).toContain(
      `error: Lambda function hello runs python3.12, but [bundle.hello] python 3.11 builds the zip for python3.11
  --> lbuild.toml:${lineOf(project, 'bundle = "hello"')}:1 (function.hello.bundle)
  hint: set runtime = "python3.11" in [function.hello] to switch the function with this deploy, or change [bundle.hello] to match the function ([bundle.hello] python at lbuild.toml:${lineOf(project, python)}); nothing was changed
`,
    );
    expect(aws.emu.calls().map((c) => c.operation)).toEqual(['GetFunction']);
    expect(aws.emu.functionState('hello')).toEqual(before);
    expect(uploadStamp(project)).toBeUndefined();
  });
});

describe('a plain lbuild checks each function’s handler in the zip, offline', () => {
  it('a handler typo fails the build with exit 2, as the deploy’s check; fixed, only the check runs again', async () => {
    const typo = 'handler = "hello.handler.handlr"';
    const project = aws.project(functionTable().replace(/^handler = .*$/m, typo));
    const result = await aws.run(project, []);
    expect(result.code, shown(result)).toBe(2);
    expect(withoutTimes(result.stderr)).toBe(`✗ hello:handler failed (T)
error: handler "hello.handler.handlr": hello/handler.py in hello.zip has no top-level function handlr (functions defined there: handler)
  --> lbuild.toml:${lineOf(project, typo)}:1 (function.hello.handler)
  hint: did you mean handler = "hello.handler.handler"?
lbuild: build failed: 1 failed, 0 skipped, 4 built, in T
`);
    expect(project.exists(ZIP)).toBe(true);
    expect((await aws.run(project, ['-q'])).code).toBe(1);

    project.write(
      'lbuild.toml',
      project.read('lbuild.toml').replace(typo, `handler = "${HANDLER}"`),
    );
    const fixed = await aws.run(project, []);
    expect(fixed.code, shown(fixed)).toBe(0);
    expect(fixed.stdout).toMatch(
      /^▶ hello:handler\n✓ hello:handler \(\d+ms\)\n {2}handler hello\.handler\.handler: hello\/handler\.py\nlbuild: built 1 target, 4 up to date, in /,
    );
    expect((await aws.run(project, ['-q'])).code).toBe(0);
    expect(aws.emu.calls()).toEqual([]);
  });
});
