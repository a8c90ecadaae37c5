import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PYTHON_TARGETS, pythonProject } from '../helpers/fixtures.js';
import { TempProject } from '../helpers/project.js';

/**
 * Each bad input gives one clear error, tested by its exact text and exit status, and costs
 * nothing: the earlier build's stamps and outputs are untouched, so restoring the input leaves a
 * project that is still up to date.
 */
let project: TempProject;
let snapshot: Record<string, string>;

/** The state an earlier good build left: every stamp and every output, by content. */
function state(): Record<string, string> {
  const files = [
    ...project.files('build'),
    ...['compile', 'package', 'docs'].map((k) => `.lbuild/stamps/${k}.json`),
  ];
  return Object.fromEntries(files.map((f) => [f, project.read(f)]));
}

/** The 1-based line of the first line of `text` equal to `line`. */
function lineOf(text: string, line: string): number {
  const index = text.split('\n').indexOf(line);
  if (index < 0) throw new Error(`no line ${JSON.stringify(line)}`);
  return index + 1;
}

/** Durations vary from run to run: `(12ms)`, `in 1.20s` become `(T)`, `in T`. */
function withoutTimes(text: string): string {
  return text.replace(/\b\d+(\.\d+)?m?s\b/g, 'T');
}

/** Writes lbuild.toml as the fixture plus `extra`, and returns the whole text. */
function configure(extra: string, base = PYTHON_TARGETS): string {
  const text = `${base}\n${extra}`;
  project.write('lbuild.toml', text);
  return text;
}

beforeEach(async () => {
  project = pythonProject();
  expect((await project.run()).code).toBe(0);
  project.take('runs.log');
  snapshot = state();
});

afterEach(() => {
  project.dispose();
});

/** Nothing was lost: same stamps and outputs, and with the good config back, nothing to do. */
async function expectNothingLost(): Promise<void> {
  expect(state()).toEqual(snapshot);
  project.write('lbuild.toml', PYTHON_TARGETS);
  expect(await project.run(['-q'])).toMatchObject({ code: 0, stdout: '', stderr: '' });
  expect(project.lines('runs.log')).toEqual([]);
}

describe('config errors (exit 2, nothing runs)', () => {
  it('a dependency cycle', async () => {
    const text = configure(
      '[target.lint]\ncommand = "true"\ndeps = ["typecheck"]\n\n[target.typecheck]\ncommand = "true"\ndeps = ["test"]\n\n[target.test]\ncommand = "true"\ndeps = ["lint"]\n',
    );
    const result = await project.run();
    expect(result).toEqual({
      code: 2,
      signal: null,
      stdout: '',
      stderr: `lbuild: error: dependency cycle: lint → typecheck → test → lint
  --> lbuild.toml:${lineOf(text, '[target.lint]')}:1 (target.lint)
  hint: a target cannot depend on itself, directly or through others; remove one of these edges
`,
    });
    expect((await project.run(['-q'])).code).toBe(2);
    await expectNothingLost();
  });

  it('a target that depends on itself', async () => {
    const text = configure('[target.lint]\ncommand = "true"\ndeps = ["lint"]\n');
    expect(await project.run()).toMatchObject({
      code: 2,
      stderr: `lbuild: error: dependency cycle: lint → lint
  --> lbuild.toml:${lineOf(text, '[target.lint]')}:1 (target.lint)
  hint: a target cannot depend on itself, directly or through others; remove one of these edges
`,
    });
    await expectNothingLost();
  });

  it('a duplicate target', async () => {
    const text = configure('[target.docs]\ncommand = "true"\n');
    const lines = text.split('\n');
    const second = lines.lastIndexOf('[target.docs]') + 1;
    expect(await project.run()).toMatchObject({
      code: 2,
      stdout: '',
      stderr: `lbuild: error: duplicate target \`docs\`: [target.docs] is defined twice in lbuild.toml
  --> lbuild.toml:${second}:1 (target.docs)
  hint: target names must be unique (first at line ${lineOf(text, '[target.docs]')}): rename one of them, or merge the two tables
`,
    });
    await expectNothingLost();
  });

  it('an unknown dependency, with the name it was probably meant to be', async () => {
    const text = configure('[target.lint]\ncommand = "true"\ndeps = ["compil"]\n');
    expect(await project.run()).toMatchObject({
      code: 2,
      stdout: '',
      stderr: `lbuild: error: target lint depends on \`compil\`, which is not a target
  --> lbuild.toml:${lineOf(text, '[target.lint]')}:1 (target.lint)
  hint: did you mean \`compile\`?
`,
    });
    await expectNothingLost();
  });

  it('an unknown dependency that resembles no target lists the targets', async () => {
    configure('[target.lint]\ncommand = "true"\ndeps = ["zzz"]\n');
    const result = await project.run();
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('  hint: defined targets: compile, package, docs, lint\n');
  });

  it('malformed TOML, with line and column', async () => {
    const text = configure(
      '[target.lint]\ncommand = "true"\ninputs = ["src/**/*.py" "docs/*.md"]\n',
    );
    expect(await project.run()).toMatchObject({
      code: 2,
      stdout: '',
      stderr: `lbuild: error: lbuild.toml is not valid TOML: expected comma or end of structure
  --> lbuild.toml:${lineOf(text, 'inputs = ["src/**/*.py" "docs/*.md"]')}:25
  hint: fix the syntax at the position shown (TOML reference: https://toml.io)
`,
    });
    await expectNothingLost();
  });

  it('an unterminated string', async () => {
    const text = configure('[target.lint]\ncommand = "flake8 src\n');
    expect(await project.run()).toMatchObject({
      code: 2,
      stderr: `lbuild: error: lbuild.toml is not valid TOML: unterminated string
  --> lbuild.toml:${lineOf(text, 'command = "flake8 src')}:22
  hint: close the string on the line where it starts, with the quote it opened with (a string of several lines uses """)
`,
    });
    await expectNothingLost();
  });

  it('an unknown key, with the key it was probably meant to be and where it is', async () => {
    const text = configure('[target.lint]\ncommand = "true"\nouputs = ["build/lint.txt"]\n');
    expect(await project.run()).toMatchObject({
      code: 2,
      stdout: '',
      stderr: `lbuild: error: unknown key \`ouputs\` in [target.lint]
  --> lbuild.toml:${lineOf(text, 'ouputs = ["build/lint.txt"]')}:1 (target.lint.ouputs)
  hint: did you mean \`outputs\`?
`,
    });
    await expectNothingLost();
  });

  it('every bad key of the file, not just the first', async () => {
    const text = configure('[target.lint]\ncommand = "true"\nouputs = []\ninputs = "src"\n');
    expect(await project.run()).toMatchObject({
      code: 2,
      stderr: `lbuild: error: \`target.lint.inputs\` must be a list (got the string "src")
  --> lbuild.toml:${lineOf(text, 'inputs = "src"')}:1 (target.lint.inputs)
  hint: write a list: inputs = ["src"]
lbuild: error: unknown key \`ouputs\` in [target.lint]
  --> lbuild.toml:${lineOf(text, 'ouputs = []')}:1 (target.lint.ouputs)
  hint: did you mean \`outputs\`?
`,
    });
  });

  it('a value of the wrong type', async () => {
    const text = configure('[target.lint]\ncommand = "true"\ninputs = "x"\n');
    expect(await project.run()).toMatchObject({
      code: 2,
      stdout: '',
      stderr: `lbuild: error: \`target.lint.inputs\` must be a list (got the string "x")
  --> lbuild.toml:${lineOf(text, 'inputs = "x"')}:1 (target.lint.inputs)
  hint: write a list: inputs = ["x"]
`,
    });
    await expectNothingLost();
  });

  it('a missing command', async () => {
    const text = configure('[target.lint]\ninputs = ["src"]\n');
    expect(await project.run()).toMatchObject({
      code: 2,
      stderr: `lbuild: error: \`target.lint.command\` is required
  --> lbuild.toml:${lineOf(text, '[target.lint]')}:1 (target.lint.command)
  hint: add command = "..."
`,
    });
  });

  it('an empty command', async () => {
    const text = configure('[target.lint]\ncommand = ""\n');
    expect(await project.run()).toMatchObject({
      code: 2,
      stderr: `lbuild: error: \`target.lint.command\` must not be empty
  --> lbuild.toml:${lineOf(text, 'command = ""')}:1 (target.lint.command)
`,
    });
  });

  it('a bad environment variable name', async () => {
    const text = configure('[target.lint]\ncommand = "true"\nenv = ["PATH", "2FAST"]\n');
    expect(await project.run()).toMatchObject({
      code: 2,
      stderr: `lbuild: error: environment variable names are letters, digits and _, and do not start with a digit (got "2FAST")
  --> lbuild.toml:${lineOf(text, 'env = ["PATH", "2FAST"]')}:1 (target.lint.env.1)
`,
    });
  });

  it('an unknown table, written as a table header', async () => {
    const text = configure('[targets.lint]\ncommand = "true"\n');
    expect(await project.run()).toMatchObject({
      code: 2,
      stderr: `lbuild: error: unknown key \`targets\`
  --> lbuild.toml:${lineOf(text, '[targets.lint]')}:1 (targets)
  hint: did you mean \`target\`?
`,
    });
  });

  it('in pyproject.toml, located in that file', async () => {
    const py = TempProject.create({
      'pyproject.toml':
        '[project]\nname = "demo"\n\n[tool.lbuild.target.test]\ncommand = "pytest"\nouputs = []\n',
    });
    try {
      expect(await py.run()).toMatchObject({
        code: 2,
        stdout: '',
        stderr: `lbuild: error: unknown key \`ouputs\` in [tool.lbuild.target.test]
  --> pyproject.toml:6:1 (tool.lbuild.target.test.ouputs)
  hint: did you mean \`outputs\`?
`,
      });
    } finally {
      py.dispose();
    }
  });
});

describe('usage errors (exit 2)', () => {
  it('an unknown target on the command line', async () => {
    expect(await project.run(['compil'])).toMatchObject({
      code: 2,
      stdout: '',
      stderr:
        'lbuild: error: no target named `compil`\n  hint: did you mean `compile`? (`lbuild graph` lists the targets)\n',
    });
    expect(await project.run(['-q', 'nothing-like-it'])).toMatchObject({
      code: 2,
      stdout: '',
      stderr:
        'lbuild: error: no target named `nothing-like-it`\n  hint: `lbuild graph` lists the targets\n',
    });
    await expectNothingLost();
  });

  it('no config file here or above', async () => {
    const empty = TempProject.create({ 'src/main.py': 'print(1)\n' });
    try {
      expect(await empty.run([], { cwd: empty.path('src') })).toEqual({
        code: 2,
        signal: null,
        stdout: '',
        stderr: `lbuild: error: no lbuild.toml (or pyproject.toml with a [tool.lbuild] table) in ${empty.path('src')} or any directory above it
  hint: create lbuild.toml in the project root, or run lbuild with -C <project directory>
`,
      });
      expect((await empty.run(['-q'])).code).toBe(2);
      expect(empty.exists('.lbuild')).toBe(false);
    } finally {
      empty.dispose();
    }
  });

  it('a pyproject.toml without a [tool.lbuild] table is no config', async () => {
    const py = TempProject.create({ 'pyproject.toml': '[project]\nname = "demo"\n' });
    try {
      const result = await py.run();
      expect(result.code).toBe(2);
      expect(result.stderr)
        .toBe(`lbuild: error: no lbuild.toml (or pyproject.toml with a [tool.lbuild] table) in ${py.dir} or any directory above it
  hint: create lbuild.toml in the project root, or run lbuild with -C <project directory>
`);
    } finally {
      py.dispose();
    }
  });

  it('a bad -j value', async () => {
    for (const value of ['0', 'many', '1.5', '-2']) {
      expect(await project.run(['-j', value])).toEqual({
        code: 2,
        signal: null,
        stdout: '',
        stderr: `error: option '-j, --jobs <n>' argument '${value}' is invalid. expected a whole number of at least 1\n`,
      });
    }
    await expectNothingLost();
  });

  it('an unknown option', async () => {
    expect(await project.run(['--jobz', '2'])).toMatchObject({
      code: 2,
      stdout: '',
      stderr: "error: unknown option '--jobz'\n(Did you mean --jobs?)\n",
    });
  });
});

describe('build errors', () => {
  it('a missing input file (exit 2), and the build stops there', async () => {
    const text = configure(
      '[target.lint]\ncommand = "echo lint >> runs.log"\ninputs = ["setup.cfg"]\n',
    );
    const result = await project.run(['lint']);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(withoutTimes(result.stderr)).toBe(`✗ lint failed (T)
error: missing input \`setup.cfg\` of target lint: no such file
  --> lbuild.toml:${lineOf(text, 'inputs = ["setup.cfg"]')}:1 (target.lint.inputs)
  hint: create the file, fix the path (it is relative to the project root), or use a glob if it may be absent
lbuild: build failed: 1 failed, 0 skipped, 0 built, in T
`);
    expect(project.stamp('lint')).toBeUndefined();
    expect(project.lines('runs.log')).toEqual([]);
    await expectNothingLost();
  });

  it('a command that is not installed (exit 1)', async () => {
    configure('[target.lint]\ncommand = "pyflakes-not-installed src"\n');
    const result = await project.run(['lint']);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('▶ lint\n');
    // The shell says it first, in its own words (dash: "/bin/sh: 1: X: not found").
    const [shell, ...ours] = result.stderr.split('\n');
    expect(shell).toMatch(/pyflakes-not-installed: (command )?not found$/);
    expect(withoutTimes(ours.join('\n'))).toBe(`✗ lint failed (T)
error: command not found: pyflakes-not-installed
  hint: target lint runs \`pyflakes-not-installed src\`; check the spelling, or install the program and make sure it is on PATH
lbuild: build failed: 1 failed, 0 skipped, 0 built, in T
`);
    expect(project.stamp('lint')).toBeUndefined();
    await expectNothingLost();
  });

  it('a command given as an argv list that is not installed (exit 1)', async () => {
    configure('[target.lint]\ncommand = ["pyflakes-not-installed", "src"]\n');
    const result = await project.run(['lint']);
    expect(result.code).toBe(1);
    expect(withoutTimes(result.stderr)).toBe(`✗ lint failed (T)
error: command not found: pyflakes-not-installed
  hint: check the spelling, or install it and make sure it is on PATH
lbuild: build failed: 1 failed, 0 skipped, 0 built, in T
`);
    expect(project.stamp('lint')).toBeUndefined();
    await expectNothingLost();
  });

  it('a declared output the command did not produce (exit 1), every time until it does', async () => {
    const text = configure(
      '[target.lint]\ncommand = "echo lint >> runs.log"\noutputs = ["build/lint.txt"]\n',
    );
    const expected = `✗ lint failed (T)
error: target lint did not produce its declared output \`build/lint.txt\`
  --> lbuild.toml:${lineOf(text, '[target.lint]')}:1 (target.lint)
  hint: make the command write that file, or remove it from \`outputs\`
lbuild: build failed: 1 failed, 0 skipped, 0 built, in T
`;
    for (let attempt = 0; attempt < 2; attempt++) {
      const result = await project.run(['lint']);
      expect(result.code).toBe(1);
      expect(result.stdout).toBe('▶ lint\n');
      expect(withoutTimes(result.stderr)).toBe(expected);
      expect(project.stamp('lint')).toBeUndefined();
    }
    expect(project.take('runs.log')).toEqual(['lint', 'lint']);
    await expectNothingLost();
  });

  it('a failing command (exit 1) leaves no stamp, and the next run retries it', async () => {
    configure(
      '[target.test]\ncommand = "echo test >> runs.log; grep -q hello build/code.txt || { echo \'no greeting\' >&2; exit 3; }"\ninputs = ["build/code.txt"]\n',
    );
    expect((await project.run(['test'])).code).toBe(0);
    expect(project.stamp('test')).toBeDefined();
    project.take('runs.log');

    project.write('src/app/util.py', 'def greet(name):\n    return "bye " + name\n');
    const failed = await project.json();
    expect(failed.result.code).toBe(1);
    expect(failed.result.stderr).toContain('no greeting\n');
    expect(failed.result.stderr).toContain(
      "error: `echo test >> runs.log; grep -q hello build/code.txt || { echo 'no greeting' >&2; exit 3; }` exited with status 3\n  hint: see its output above\n",
    );
    expect(failed.summary).toMatchObject({ status: 'failed', exitCode: 1 });
    expect(failed.summary.targets.find((t) => t.key === 'test')).toMatchObject({
      status: 'failed',
      failure: {
        reason: 'exit-non-zero',
        kind: 'build',
        message: expect.stringMatching(/exited with status 3$/),
      },
    });
    // The targets it needed were built and keep their stamps; the failed one has none.
    expect(project.stamp('test')).toBeUndefined();
    expect(project.stamp('compile')).toBeDefined();
    expect(project.take('runs.log').sort()).toEqual(['compile', 'package', 'test']);

    expect((await project.run(['-q'])).code).toBe(1);
    const retried = await project.run();
    expect(retried.code).toBe(1);
    expect(project.take('runs.log')).toEqual(['test']);

    project.write('src/app/util.py', 'def greet(name):\n    return "hello " + name\n');
    expect((await project.run()).code).toBe(0);
    expect(project.take('runs.log').sort()).toEqual(['compile', 'package', 'test']);
    expect(project.stamp('test')).toBeDefined();
    expect((await project.run(['-q'])).code).toBe(0);
  });

  it('skips what depends on a failed target, and -k goes on with what does not', async () => {
    configure(
      '[target.broken]\ncommand = "exit 1"\n\n[target.after]\ncommand = "echo after >> runs.log"\ndeps = ["broken"]\n\n[target.other]\ncommand = "echo other >> runs.log"\ndeps = ["docs"]\n',
    );
    project.write('docs/index.md', '# Changed\n');
    const { result, summary } = await project.json(['-k']);
    expect(result.code).toBe(1);
    expect(summary.targets.map((t) => [t.key, t.status])).toEqual([
      ['compile', 'up-to-date'],
      ['package', 'up-to-date'],
      ['docs', 'built'],
      ['broken', 'failed'],
      ['after', 'skipped'],
      ['other', 'built'],
    ]);
    expect(project.take('runs.log').sort()).toEqual(['docs', 'other']);
  });
});
