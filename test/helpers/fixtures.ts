import { TempProject } from './project.js';

/**
 * The `[target.X]` tables of a small Python project, each command noting its run in `runs.log`
 * (one line per run: the count of runs is the count of lines):
 *
 *   compile  src/**\/*.py → build/code.txt    strips comments and blank lines, so a comment-only
 *                                            edit reruns it with a byte-identical output
 *   package  build/code.txt → build/package.txt   (an implicit edge: its input is compile's output)
 *   docs     docs/*.md → build/docs.txt       independent of the other two
 */
export const PYTHON_TARGETS = `[target.compile]
description = "strip comments and blank lines from the sources"
command = "mkdir -p build && for f in $(find src -name '*.py' | LC_ALL=C sort); do sed -e 's/[[:space:]]*#.*$//' -e '/^[[:space:]]*$/d' \\"$f\\"; done > build/code.txt && echo compile >> runs.log"
inputs = ["src/**/*.py"]
outputs = ["build/code.txt"]

[target.package]
command = "cp build/code.txt build/package.txt && echo package >> runs.log"
inputs = ["build/code.txt"]
outputs = ["build/package.txt"]

[target.docs]
command = "mkdir -p build && cat docs/*.md > build/docs.txt && echo docs >> runs.log"
inputs = ["docs/*.md"]
outputs = ["build/docs.txt"]
`;

export const PYTHON_SOURCES: Record<string, string> = {
  'src/app/main.py': 'from app.util import greet\n\n# entry point\nprint(greet("world"))\n',
  'src/app/util.py': 'def greet(name):\n    return "hello " + name  # friendly\n',
  'src/lib/helpers.py': 'def double(x):\n    return 2 * x\n',
  'docs/index.md': '# Docs\n',
};

/** The Python project configured by `lbuild.toml`. */
export function pythonProject(): TempProject {
  return TempProject.create({ 'lbuild.toml': PYTHON_TARGETS, ...PYTHON_SOURCES });
}

/** The same project configured by a `[tool.lbuild]` table in `pyproject.toml`. */
export function pyprojectProject(): TempProject {
  const tables = PYTHON_TARGETS.replace(/^\[target\./gm, '[tool.lbuild.target.');
  return TempProject.create({
    'pyproject.toml': `[project]\nname = "demo"\nversion = "0.1.0"\n\n${tables}`,
    ...PYTHON_SOURCES,
  });
}
