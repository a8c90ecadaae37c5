import { describe, expect, it } from 'vitest';
import { describeIssues } from '../src/config/issues.js';
import { projectFromConfig, rootSchema, type ConfigFile } from '../src/config/load.js';
import { LbuildError } from '../src/failure.js';

/** Validates an lbuild table with the real schema and returns the sentences for its problems. */
function problems(data: Record<string, unknown>, prefix: string[] = []) {
  const schema = rootSchema([]);
  const parsed = schema.safeParse(data);
  if (parsed.success) return [];
  return describeIssues(parsed.error.issues, schema, data, prefix);
}

const target = (fields: Record<string, unknown>) => ({
  target: { test: { command: 'pytest', ...fields } },
});

describe('describeIssues', () => {
  it('accepts a valid table', () => {
    expect(
      problems(target({ inputs: ['src'], outputs: [], deps: [], env: ['HOME'], default: false })),
    ).toEqual([]);
  });

  it('an unknown key, with the key it was probably meant to be', () => {
    expect(problems(target({ ouputs: [] }))).toEqual([
      {
        path: ['target', 'test', 'ouputs'],
        message: 'unknown key `ouputs` in [target.test]',
        hint: 'did you mean `outputs`?',
      },
    ]);
    expect(problems(target({ dpes: [] }))[0]?.hint).toBe('did you mean `deps`?');
  });

  it('an unknown key like no other lists the known keys', () => {
    expect(problems(target({ frobnicate: true }))).toEqual([
      {
        path: ['target', 'test', 'frobnicate'],
        message: 'unknown key `frobnicate` in [target.test]',
        hint: 'known keys: command, description, inputs, exclude, outputs, deps, env, default',
      },
    ]);
  });

  it('an unknown top-level table', () => {
    expect(problems({ targets: {} })).toEqual([
      { path: ['targets'], message: 'unknown key `targets`', hint: 'did you mean `target`?' },
    ]);
  });

  it('a string where a list belongs', () => {
    expect(problems(target({ inputs: 'src' }))).toEqual([
      {
        path: ['target', 'test', 'inputs'],
        message: '`target.test.inputs` must be a list (got the string "src")',
        hint: 'write a list: inputs = ["src"]',
      },
    ]);
  });

  it('other wrong types', () => {
    expect(problems(target({ default: 'yes' }))).toEqual([
      {
        path: ['target', 'test', 'default'],
        message: '`target.test.default` must be a boolean (got the string "yes")',
      },
    ]);
    expect(problems(target({ deps: [1] }))).toEqual([
      {
        path: ['target', 'test', 'deps', 0],
        message: '`target.test.deps.0` must be a string (got the number 1)',
        hint: 'quote it: "1" (unquoted, TOML reads a number)',
      },
    ]);
    expect(problems({ target: [] })).toEqual([
      { path: ['target'], message: '`target` must be a table (got a list)' },
    ]);
    expect(problems(target({ command: 1 }))).toEqual([
      {
        path: ['target', 'test', 'command'],
        message: '`target.test.command` must be a string or a list (got the number 1)',
      },
    ]);
  });

  it('a missing required key, with what to add', () => {
    expect(problems({ target: { test: { inputs: [] } } })).toEqual([
      {
        path: ['target', 'test', 'command'],
        message: '`target.test.command` is required',
        hint: 'add command = "..."',
      },
    ]);
  });

  it('an empty command', () => {
    expect(problems(target({ command: '' }))).toEqual([
      { path: ['target', 'test', 'command'], message: '`target.test.command` must not be empty' },
    ]);
    expect(problems(target({ command: [] }))).toEqual([
      { path: ['target', 'test', 'command'], message: '`target.test.command` must not be empty' },
    ]);
  });

  it('a custom message, with the value', () => {
    expect(problems(target({ env: ['GOOD', 'no-dashes'] }))).toEqual([
      {
        path: ['target', 'test', 'env', 1],
        message:
          'environment variable names are letters, digits and _, and do not start with a digit (got "no-dashes")',
      },
    ]);
  });

  it('names keys as written in pyproject.toml', () => {
    expect(
      problems(target({ ouputs: [], inputs: 'x' }), ['tool', 'lbuild']).map((p) => p.message),
    ).toEqual([
      '`tool.lbuild.target.test.inputs` must be a list (got the string "x")',
      'unknown key `ouputs` in [tool.lbuild.target.test]',
    ]);
  });
});

describe('projectFromConfig', () => {
  const config = (source: string): ConfigFile => ({
    root: '/p',
    file: '/p/lbuild.toml',
    prefix: [],
    source,
    // What smol-toml would parse the source into, for these tests.
    data: { target: { test: { command: 'pytest', ouputs: [], deps: 'lint' } } },
  });

  it('reports every problem at once, each located in the file', () => {
    let error: unknown;
    try {
      projectFromConfig(
        config('[target.test]\ncommand = "pytest"\nouputs = []\ndeps = "lint"\n'),
        [],
      );
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(LbuildError);
    expect((error as LbuildError).failure).toEqual({
      reason: 'invalid-config',
      kind: 'config',
      message: '`target.test.deps` must be a list (got the string "lint")',
      hint: 'write a list: deps = ["lint"]',
      location: { file: '/p/lbuild.toml', key: 'target.test.deps', line: 4, column: 1 },
      others: [
        {
          reason: 'unknown-key',
          kind: 'config',
          message: 'unknown key `ouputs` in [target.test]',
          hint: 'did you mean `outputs`?',
          location: { file: '/p/lbuild.toml', key: 'target.test.ouputs', line: 3, column: 1 },
        },
      ],
    });
  });
});
