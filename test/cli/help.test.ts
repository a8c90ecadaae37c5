import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PYTHON_TARGETS, pythonProject } from '../helpers/fixtures.js';
import type { TempProject } from '../helpers/project.js';

/** `lbuild help` is help, as in git and npm, not a build of a target named "help". */
let project: TempProject;

beforeEach(() => {
  project = pythonProject();
});

afterEach(() => {
  project.dispose();
});

describe('lbuild help', () => {
  it('prints the same help as --help, and runs nothing', async () => {
    const help = await project.run(['help']);
    expect(help).toMatchObject({ code: 0, stderr: '' });
    expect(help.stdout).toBe((await project.run(['--help'])).stdout);
    expect(help.stdout).toMatch(/^Usage: lbuild \[options\] \[command\] \[targets\.\.\.\]\n/);
    expect(help.stdout).toMatch(/\n {2}help \[command\] +show help for lbuild or for a command\n/);
    expect(project.exists('build')).toBe(false);
  });

  it("help COMMAND prints that command's help", async () => {
    const help = await project.run(['help', 'graph']);
    expect(help).toMatchObject({ code: 0, stderr: '' });
    expect(help.stdout).toBe((await project.run(['graph', '--help'])).stdout);
    expect(help.stdout).toMatch(/^Usage: lbuild graph \[options\]\n/);
  });

  it('even when a target is named help; it is built when another name comes first', async () => {
    project.write(
      'lbuild.toml',
      `${PYTHON_TARGETS}\n[target.help]\ncommand = "echo built > help.txt"\noutputs = ["help.txt"]\ndefault = false\n`,
    );
    expect(await project.run(['help'])).toMatchObject({ code: 0, stderr: '' });
    expect(project.exists('help.txt')).toBe(false);
    expect((await project.run(['compile', 'help'])).code).toBe(0);
    expect(project.read('help.txt')).toBe('built\n');
  });
});
