import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PYTHON_TARGETS, pythonProject } from '../helpers/fixtures.js';
import type { TempProject } from '../helpers/project.js';

/**
 * `--json` promises a machine-readable answer on stdout. A command that stops before it has a
 * build summary (a config error, an unknown target) answers with an error object there, with
 * the exit status it returns, while people still read the error on stderr.
 */
let project: TempProject;

beforeEach(() => {
  project = pythonProject();
});

afterEach(() => {
  project.dispose();
});

/** The 1-based line of the first line of `text` equal to `line`. */
function lineOf(text: string, line: string): number {
  return text.split('\n').indexOf(line) + 1;
}

describe('--json on an error', () => {
  it('prints every config error as data on stdout, and the same errors for people on stderr', async () => {
    const text = `${PYTHON_TARGETS}\n[target.lint]\ncommand = "true"\nouputs = []\ninputs = "src"\n`;
    project.write('lbuild.toml', text);
    const result = await project.run(['--json']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('lbuild: error: unknown key `ouputs` in [target.lint]\n');
    const file = project.path('lbuild.toml');
    expect(JSON.parse(result.stdout)).toEqual({
      status: 'error',
      exitCode: 2,
      errors: [
        {
          reason: 'invalid-config',
          kind: 'config',
          message: '`target.lint.inputs` must be a list (got the string "src")',
          hint: 'write a list: inputs = ["src"]',
          location: {
            file,
            line: lineOf(text, 'inputs = "src"'),
            column: 1,
            key: 'target.lint.inputs',
          },
        },
        {
          reason: 'unknown-key',
          kind: 'config',
          message: 'unknown key `ouputs` in [target.lint]',
          hint: 'did you mean `outputs`?',
          location: {
            file,
            line: lineOf(text, 'ouputs = []'),
            column: 1,
            key: 'target.lint.ouputs',
          },
        },
      ],
    });
  });

  it('an unknown target, also under -q and for graph --json', async () => {
    for (const args of [
      ['--json', 'compil'],
      ['-q', '--json', 'compil'],
    ]) {
      const result = await project.run(args);
      expect(result.code).toBe(2);
      expect(result.stderr).toContain('lbuild: error: no target named `compil`');
      expect(JSON.parse(result.stdout)).toMatchObject({
        status: 'error',
        exitCode: 2,
        errors: [{ kind: 'config', message: 'no target named `compil`' }],
      });
    }
    project.write(
      'lbuild.toml',
      `${PYTHON_TARGETS}\n[target.lint]\ncommand = "true"\ndeps = ["lint"]\n`,
    );
    const graph = await project.run(['graph', '--json']);
    expect(graph.code).toBe(2);
    expect(JSON.parse(graph.stdout)).toMatchObject({
      status: 'error',
      exitCode: 2,
      errors: [{ kind: 'config', location: { key: 'target.lint' } }],
    });
  });

  it('prints nothing on stdout without --json', async () => {
    expect(await project.run(['compil'])).toMatchObject({ code: 2, stdout: '' });
  });
});
