import { tmpdir } from 'node:os';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { pyprojectProject, pythonProject } from '../helpers/fixtures.js';
import { ran, statuses, type TempProject } from '../helpers/project.js';

let project: TempProject;

beforeEach(async () => {
  project = pythonProject();
  const first = await project.run();
  expect(first.stderr).toBe('');
  expect(first.code).toBe(0);
  expect(project.take('runs.log').sort()).toEqual(['compile', 'docs', 'package']);
});

afterEach(() => {
  project.dispose();
});

describe('an up-to-date project', () => {
  it('runs no target on a second build', async () => {
    const second = await project.run();
    expect(second).toMatchObject({
      code: 0,
      stdout: 'lbuild: up to date (3 targets)\n',
      stderr: '',
    });
    expect(project.lines('runs.log')).toEqual([]);
  });

  it('runs no target after every input is touched, and -q exits 0', async () => {
    const stampsBefore = ['compile', 'package', 'docs'].map(
      (key) => project.stamp(key)?.outputHash,
    );
    for (const file of [...project.files('src'), ...project.files('docs')]) project.touch(file);

    const question = await project.run(['-q']);
    expect(question).toMatchObject({ code: 0, stdout: '', stderr: '' });

    const { summary } = await project.json();
    expect(statuses(summary)).toEqual({
      compile: 'up-to-date',
      package: 'up-to-date',
      docs: 'up-to-date',
    });
    expect(project.lines('runs.log')).toEqual([]);
    expect(['compile', 'package', 'docs'].map((key) => project.stamp(key)?.outputHash)).toEqual(
      stampsBefore,
    );
  });

  it('answers -q with exit 0 and prints nothing', async () => {
    expect(await project.run(['-q'])).toMatchObject({ code: 0, stdout: '', stderr: '' });
  });
});

describe('a change', () => {
  it('reruns exactly the targets it affects, and -q exits 1 before the build', async () => {
    project.write('docs/index.md', '# Docs\n\nMore.\n');
    expect(await project.run(['-q'])).toMatchObject({ code: 1, stdout: '', stderr: '' });
    const docs = await project.json();
    expect(ran(docs.summary)).toEqual(['docs']);
    expect(project.take('runs.log')).toEqual(['docs']);
    expect(project.read('build/docs.txt')).toBe('# Docs\n\nMore.\n');
    expect((await project.run(['-q'])).code).toBe(0);

    project.write('src/lib/helpers.py', 'def double(x):\n    return x + x\n');
    expect((await project.run(['-q'])).code).toBe(1);
    const code = await project.json();
    expect(ran(code.summary)).toEqual(['compile', 'package']);
    expect(statuses(code.summary).docs).toBe('up-to-date');
    expect(project.take('runs.log')).toEqual(['compile', 'package']);
    expect(project.read('build/package.txt')).toContain('return x + x');
    expect((await project.run(['-q'])).code).toBe(0);
  });

  it('stops at a target whose rerun produced the same output (early cutoff)', async () => {
    const packaged = project.mtime('build/package.txt');
    // A comment-only edit: compile reruns, and writes a byte-identical build/code.txt.
    project.write(
      'src/app/main.py',
      'from app.util import greet\n\n# the entry point, reworded\nprint(greet("world"))\n',
    );

    const result = await project.run();
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(
      /^▶ compile\n✓ compile \(\d+(\.\d+)?m?s\) output unchanged\nlbuild: built 1 target \(1 with unchanged output\), 2 up to date, in \d/,
    );
    expect(project.take('runs.log')).toEqual(['compile']);
    expect(project.mtime('build/package.txt')).toBe(packaged);

    // The trace of compile was renewed: nothing runs now.
    const again = await project.json();
    expect(ran(again.summary)).toEqual([]);
  });

  it('reports the early cutoff in --json: built, unchanged, dependent up to date', async () => {
    project.write(
      'src/app/util.py',
      'def greet(name):\n    return "hello " + name  # friendlier\n',
    );
    const { summary } = await project.json();
    const compile = summary.targets.find((t) => t.key === 'compile');
    expect(compile).toMatchObject({
      status: 'built',
      unchanged: true,
      reasons: [
        expect.stringMatching(/^input changed: src\/app\/util\.py \([0-9a-f]{8} → [0-9a-f]{8}\)$/),
      ],
    });
    expect(statuses(summary)).toEqual({
      compile: 'built',
      package: 'up-to-date',
      docs: 'up-to-date',
    });
  });

  it('is named by --explain', async () => {
    project.write('src/app/util.py', 'def greet(name):\n    return "hi " + name\n');
    const question = await project.run(['-q', '--explain']);
    expect(question.code).toBe(1);
    expect(question.stdout).toMatch(
      /^compile would run: input changed: src\/app\/util\.py \([0-9a-f]{8} → [0-9a-f]{8}\)\n/,
    );

    const build = await project.run(['--explain']);
    expect(build.code).toBe(0);
    expect(build.stdout).toMatch(
      /^▶ compile\n {4}because input changed: src\/app\/util\.py \([0-9a-f]{8} → [0-9a-f]{8}\)\n✓ compile/,
    );
    expect(build.stdout).toMatch(
      /\n▶ package\n {4}because dependency compile changed \([0-9a-f]{8} → [0-9a-f]{8}\)\n/,
    );
    expect(build.stdout).toContain('    because input changed: build/code.txt');
  });

  it('of a declared environment variable reruns the target; of an undeclared one does not', async () => {
    project.write(
      'lbuild.toml',
      `${project.read('lbuild.toml')}
[target.greeting]
command = "echo \\"$GREETING\\" > greeting.txt && echo greeting >> runs.log"
env = ["GREETING"]
outputs = ["greeting.txt"]
`,
    );
    const env = { GREETING: 'hello', UNDECLARED: 'one' };
    expect((await project.run([], { env })).code).toBe(0);
    expect(project.take('runs.log')).toEqual(['greeting']);
    expect(project.read('greeting.txt')).toBe('hello\n');

    const undeclared = await project.json([], { env: { ...env, UNDECLARED: 'two' } });
    expect(ran(undeclared.summary)).toEqual([]);
    expect((await project.run(['-q'], { env: { ...env, UNDECLARED: undefined } })).code).toBe(0);

    expect((await project.run(['-q'], { env: { ...env, GREETING: 'bonjour' } })).code).toBe(1);
    const declared = await project.json([], { env: { ...env, GREETING: 'bonjour' } });
    expect(ran(declared.summary)).toEqual(['greeting']);
    expect(declared.summary.targets.find((t) => t.key === 'greeting')?.reasons).toEqual([
      'environment variable GREETING changed',
    ]);
    expect(project.read('greeting.txt')).toBe('bonjour\n');

    // Unset counts as a value too.
    const unset = await project.json([], { env: { GREETING: undefined } });
    expect(ran(unset.summary)).toEqual(['greeting']);
    expect(project.read('greeting.txt')).toBe('\n');
  });

  it('of the set of files an input glob matches reruns the target: a file added, a file deleted', async () => {
    project.write('src/lib/extra.py', 'EXTRA = 1\n');
    expect((await project.run(['-q'])).code).toBe(1);
    const added = await project.json();
    expect(ran(added.summary)).toEqual(['compile', 'package']);
    expect(added.summary.targets.find((t) => t.key === 'compile')?.reasons).toEqual([
      'input added: src/lib/extra.py',
    ]);
    expect(project.read('build/package.txt')).toContain('EXTRA = 1');

    project.remove('src/lib/extra.py');
    expect((await project.run(['-q'])).code).toBe(1);
    const deleted = await project.json();
    expect(ran(deleted.summary)).toEqual(['compile', 'package']);
    expect(deleted.summary.targets.find((t) => t.key === 'compile')?.reasons).toEqual([
      'input removed: src/lib/extra.py',
    ]);
    expect(project.read('build/package.txt')).not.toContain('EXTRA');

    // A file the glob does not match changes nothing.
    project.write('src/lib/notes.txt', 'not python\n');
    expect((await project.run(['-q'])).code).toBe(0);
  });

  it('to an output reruns the target that made it', async () => {
    project.write('build/docs.txt', 'edited by hand\n');
    const { summary } = await project.json(['--explain']);
    expect(ran(summary)).toEqual(['docs']);
    expect(summary.targets.find((t) => t.key === 'docs')?.reasons[0]).toMatch(
      /^output modified since it was built: build\/docs\.txt/,
    );
    expect(project.read('build/docs.txt')).toBe('# Docs\n');

    project.remove('build/docs.txt');
    const missing = await project.json();
    expect(missing.summary.targets.find((t) => t.key === 'docs')?.reasons).toEqual([
      'output missing: build/docs.txt',
    ]);
    expect(project.read('build/docs.txt')).toBe('# Docs\n');
  });
});

describe('options', () => {
  it('-n lists what would run and runs nothing', async () => {
    project.write('src/app/util.py', 'def greet(name):\n    return "hi " + name\n');
    const before = { code: project.read('build/code.txt'), stamp: project.stamp('compile') };

    const dry = await project.run(['-n']);
    expect(dry).toMatchObject({
      code: 0,
      stderr: '',
      stdout:
        'would run compile: strip comments and blank lines from the sources\nwould run package\nlbuild: 2 of 3 targets would run\n',
    });
    expect(project.lines('runs.log')).toEqual([]);
    expect(project.read('build/code.txt')).toBe(before.code);
    expect(project.stamp('compile')).toEqual(before.stamp);

    const explained = await project.run(['-n', '--explain']);
    expect(explained.stdout).toMatch(
      /^would run compile: strip comments and blank lines from the sources\n {4}because input changed: src\/app\/util\.py \(/,
    );
    expect(explained.stdout).toContain(
      'would run package\n    because dependency compile will run\n',
    );
    // Still stale: -n recorded nothing.
    expect((await project.run(['-q'])).code).toBe(1);
  });

  it('-n on an up-to-date project says nothing would run', async () => {
    expect(await project.run(['-n'])).toMatchObject({
      code: 0,
      stdout: 'lbuild: up to date (3 targets), nothing would run\n',
    });
  });

  it('--json prints one summary on stdout with stable fields', async () => {
    project.write('docs/index.md', '# Changed\n');
    const { result, summary } = await project.json();
    expect(result.code).toBe(0);
    // Human lines go to stderr so stdout stays parseable.
    expect(result.stderr).toContain('▶ docs');
    expect(Object.keys(summary).sort()).toEqual([
      'durationMs',
      'exitCode',
      'mode',
      'status',
      'targets',
    ]);
    expect(summary).toMatchObject({ status: 'ok', mode: 'build', exitCode: 0 });
    expect(summary.targets.map((t) => t.key)).toEqual(['compile', 'package', 'docs']);
    const docs = summary.targets.find((t) => t.key === 'docs');
    expect(docs).toEqual({
      key: 'docs',
      kind: 'command',
      status: 'built',
      reasons: [expect.stringMatching(/^input changed: docs\/index\.md \(/)],
      reasonDetails: [
        {
          kind: 'input-changed',
          path: 'docs/index.md',
          from: expect.stringMatching(/^[0-9a-f]{16}$/),
          to: expect.stringMatching(/^[0-9a-f]{16}$/),
        },
      ],
      durationMs: expect.any(Number),
      outputHash: expect.stringMatching(/^[0-9a-f]{16}$/),
      unchanged: false,
      outputs: { 'build/docs.txt': expect.stringMatching(/^[0-9a-f]{16}$/) },
    });
    expect(summary.targets.find((t) => t.key === 'compile')).toMatchObject({
      status: 'up-to-date',
      reasons: [],
      reasonDetails: [],
    });

    const question = await project.json(['-q']);
    expect(question.result.code).toBe(0);
    expect(question.summary).toMatchObject({ status: 'ok', mode: 'query', exitCode: 0 });
  });

  it('--json under -q reports the stale target and exit status 1', async () => {
    project.write('docs/index.md', '# Changed\n');
    const { result, summary } = await project.json(['-q']);
    expect(result.code).toBe(1);
    expect(summary).toMatchObject({ status: 'stale', mode: 'query', exitCode: 1 });
    expect(summary.targets.find((t) => t.key === 'docs')).toMatchObject({
      status: 'stale',
      reasons: [expect.stringMatching(/^input changed: docs\/index\.md/)],
    });
  });

  it('--log-format json prints one pino JSON line per event', async () => {
    project.write('docs/index.md', '# Changed\n');
    const result = await project.run(['--log-format', 'json']);
    expect(result.code).toBe(0);
    expect(result.stderr).toBe('');
    const lines = result.stdout
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    for (const line of lines) {
      expect(line).toMatchObject({
        level: expect.any(Number),
        time: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
        event: expect.any(String),
        msg: expect.any(String),
      });
    }
    const events = lines.map(
      (l) => `${String(l.event)}${typeof l.key === 'string' ? ` ${l.key}` : ''}`,
    );
    expect(events[0]).toBe('build-start');
    expect(events.at(-1)).toBe('build-finish');
    expect(events).toContain('target-start docs');
    expect(events.filter((e) => e.startsWith('target-finish')).sort()).toEqual([
      'target-finish compile',
      'target-finish docs',
      'target-finish package',
    ]);
    expect(lines.find((l) => l.event === 'target-finish' && l.key === 'docs')).toMatchObject({
      status: 'built',
      msg: 'docs built',
      level: 30,
    });
    expect(lines.at(-1)).toMatchObject({ status: 'ok', msg: 'build ok' });
  });

  it('--log-format json reports a failure at level error', async () => {
    project.write(
      'lbuild.toml',
      `${project.read('lbuild.toml')}\n[target.broken]\ncommand = "exit 3"\n`,
    );
    const result = await project.run(['--log-format', 'json', 'broken']);
    expect(result.code).toBe(1);
    const lines = result.stdout
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines.find((l) => l.event === 'target-finish')).toMatchObject({
      level: 50,
      key: 'broken',
      status: 'failed',
      failure: { reason: 'exit-non-zero', message: '`exit 3` exited with status 3' },
    });
    expect(lines.at(-1)).toMatchObject({ event: 'build-finish', status: 'failed' });
  });

  it('-B runs every selected target although all are up to date', async () => {
    const { summary } = await project.json(['-B']);
    expect(statuses(summary)).toEqual({ compile: 'built', package: 'built', docs: 'built' });
    expect(summary.targets.every((t) => t.reasons.includes('forced with -B'))).toBe(true);
    expect(project.take('runs.log').sort()).toEqual(['compile', 'docs', 'package']);

    const one = await project.json(['-B', 'docs']);
    expect(statuses(one.summary)).toEqual({ docs: 'built' });
    expect(project.take('runs.log')).toEqual(['docs']);
  });

  it('builds only the named target and what it depends on', async () => {
    project.write('src/app/util.py', 'def greet(name):\n    return "hi " + name\n');
    project.write('docs/index.md', '# Changed\n');
    const { summary } = await project.json(['package']);
    expect(statuses(summary)).toEqual({ compile: 'built', package: 'built' });
    expect((await project.run(['-q', 'docs'])).code).toBe(1);
    expect((await project.run(['-q', 'package'])).code).toBe(0);
  });

  it('-C DIR runs on the project in DIR, wherever it starts', async () => {
    project.write('docs/index.md', '# Changed\n');
    const elsewhere = tmpdir();
    expect((await project.run(['-q', '-C', project.dir], { cwd: elsewhere })).code).toBe(1);
    const { summary } = await project.json(['-C', project.dir], { cwd: elsewhere });
    expect(ran(summary)).toEqual(['docs']);
    expect((await project.run(['-q', '-C', project.dir], { cwd: elsewhere })).code).toBe(0);
  });

  it('finds the config in a parent directory, as git does', async () => {
    project.write('docs/index.md', '# Changed\n');
    const { summary } = await project.json([], { cwd: project.path('src/app') });
    expect(ran(summary)).toEqual(['docs']);
  });
});

describe('a pyproject.toml [tool.lbuild] project', () => {
  let py: TempProject;
  beforeEach(() => {
    py = pyprojectProject();
  });
  afterEach(() => {
    py.dispose();
  });

  it('builds, is up to date, and reruns what a change affects', async () => {
    const first = await py.json();
    expect(statuses(first.summary)).toEqual({ compile: 'built', package: 'built', docs: 'built' });
    expect(py.read('build/package.txt')).toBe(
      'from app.util import greet\nprint(greet("world"))\ndef greet(name):\n    return "hello " + name\ndef double(x):\n    return 2 * x\n',
    );
    expect(await py.run(['-q'])).toMatchObject({ code: 0, stdout: '', stderr: '' });
    expect(py.take('runs.log').sort()).toEqual(['compile', 'docs', 'package']);

    py.write('src/app/main.py', 'print("changed")\n');
    expect((await py.run(['-q'])).code).toBe(1);
    const second = await py.json();
    expect(ran(second.summary)).toEqual(['compile', 'package']);
    expect(py.take('runs.log')).toEqual(['compile', 'package']);
  });
});
