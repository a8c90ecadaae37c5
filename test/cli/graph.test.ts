import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PYTHON_SOURCES, PYTHON_TARGETS } from '../helpers/fixtures.js';
import { TempProject } from '../helpers/project.js';

let project: TempProject;

beforeEach(() => {
  project = TempProject.create({
    'lbuild.toml': `${PYTHON_TARGETS}
[target.lint]
command = "true"
deps = ["compile"]
default = false
`,
    ...PYTHON_SOURCES,
  });
});

afterEach(() => {
  project.dispose();
});

describe('lbuild graph', () => {
  it('lists every target with its kind, edges, inputs and outputs, dependencies first', async () => {
    const result = await project.run(['graph']);
    expect(result).toMatchObject({ code: 0, stderr: '' });
    expect(result.stdout).toBe(
      [
        'compile  (command; default)',
        '  inputs:  src/**/*.py',
        '  outputs: build/code.txt',
        'docs  (command; default)',
        '  inputs:  docs/*.md',
        '  outputs: build/docs.txt',
        'lint  (command)',
        '  deps:    compile',
        'package  (command; default)',
        // The edge is implied: package's input is compile's output.
        '  deps:    compile',
        '  inputs:  build/code.txt',
        '  outputs: build/package.txt',
        '',
      ].join('\n'),
    );
  });

  it('--dot prints a Graphviz digraph with an edge from each dependency', async () => {
    const result = await project.run(['graph', '--dot']);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(
      [
        'digraph lbuild {',
        '  rankdir=LR;',
        '  node [shape=box];',
        '  "compile" [label="compile\\n(command)"];',
        '  "package" [label="package\\n(command)"];',
        '  "docs" [label="docs\\n(command)"];',
        '  "lint" [label="lint\\n(command)"];',
        '  "compile" -> "package";',
        '  "compile" -> "lint";',
        '}',
        '',
      ].join('\n'),
    );
  });

  it('--json describes each target', async () => {
    const result = await project.run(['graph', '--json']);
    expect(result.code).toBe(0);
    const graph = JSON.parse(result.stdout) as { root: string; targets: Record<string, unknown>[] };
    expect(graph.root).toBe(project.dir);
    expect(graph.targets).toEqual([
      {
        key: 'compile',
        kind: 'command',
        deps: [],
        inputs: ['src/**/*.py'],
        outputs: ['build/code.txt'],
        aliases: [],
        default: true,
        description: 'strip comments and blank lines from the sources',
      },
      {
        key: 'package',
        kind: 'command',
        deps: ['compile'],
        inputs: ['build/code.txt'],
        outputs: ['build/package.txt'],
        aliases: [],
        default: true,
      },
      {
        key: 'docs',
        kind: 'command',
        deps: [],
        inputs: ['docs/*.md'],
        outputs: ['build/docs.txt'],
        aliases: [],
        default: true,
      },
      {
        key: 'lint',
        kind: 'command',
        deps: ['compile'],
        inputs: [],
        outputs: [],
        aliases: [],
        default: false,
      },
    ]);
  });

  it('runs nothing and writes no state', async () => {
    await project.run(['graph']);
    expect(project.exists('.lbuild')).toBe(false);
    expect(project.exists('runs.log')).toBe(false);
  });

  it('works from a pyproject.toml [tool.lbuild] table', async () => {
    const py = TempProject.create({
      'pyproject.toml':
        '[project]\nname = "demo"\n\n[tool.lbuild.target.test]\ncommand = "true"\n\n[tool.lbuild.target.cov]\ncommand = "true"\ndeps = ["test"]\n',
    });
    try {
      const result = await py.run(['graph', '--dot']);
      expect(result.code).toBe(0);
      expect(result.stdout).toContain('  "test" -> "cov";\n');
    } finally {
      py.dispose();
    }
  });
});
