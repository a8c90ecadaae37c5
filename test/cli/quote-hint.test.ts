import { afterEach, describe, expect, it } from 'vitest';
import { TempProject } from '../helpers/project.js';

/**
 * `python = 3.11` is a number to TOML, and a version must be a string: the error says to quote
 * it, with the text that was meant (`3.10` reads as 3.1, and "3.1" is no Python lbuild knows).
 */
let project: TempProject | undefined;

afterEach(() => {
  project?.dispose();
});

const bundle = (lines: string) =>
  `[bundle.fn]\nrequirements = "requirements.txt"\nsources = ["app"]\n${lines}`;

describe('a string written without quotes', () => {
  it('python = 3.11 and python = 3.10 get a hint with the quoted version', async () => {
    project = TempProject.create({
      'lbuild.toml': bundle('python = 3.11\n'),
      'requirements.txt': '',
      'app/handler.py': '',
    });
    expect(await project.run(['-q'])).toMatchObject({
      code: 2,
      stdout: '',
      stderr: `lbuild: error: \`bundle.fn.python\` must be one of "3.8", "3.9", "3.10", "3.11", "3.12", "3.13", "3.14" (got 3.11)
  --> lbuild.toml:4:1 (bundle.fn.python)
  hint: quote it: python = "3.11" (unquoted, TOML reads a number)
`,
    });
    project.write('lbuild.toml', bundle('python = 3.10\n'));
    expect((await project.run(['-q'])).stderr).toContain(
      '  hint: quote it: python = "3.10" (unquoted, TOML reads a number)\n',
    );
  });

  it('any string key given a number or a boolean', async () => {
    project = TempProject.create({
      'lbuild.toml': bundle('build-python = 3\n'),
      'requirements.txt': '',
      'app/handler.py': '',
    });
    expect(await project.run(['-q'])).toMatchObject({
      code: 2,
      stderr: `lbuild: error: \`bundle.fn.build-python\` must be a string (got the number 3)
  --> lbuild.toml:4:1 (bundle.fn.build-python)
  hint: quote it: build-python = "3" (unquoted, TOML reads a number)
`,
    });
  });

  it('a number that is no allowed value quoted either gets no such hint', async () => {
    project = TempProject.create({
      'lbuild.toml': bundle('python = 2.7\n'),
      'requirements.txt': '',
      'app/handler.py': '',
    });
    const result = await project.run(['-q']);
    expect(result.code).toBe(2);
    expect(result.stderr).not.toContain('hint:');
  });
});
