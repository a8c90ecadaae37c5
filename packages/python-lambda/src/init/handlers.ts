import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

/** A top-level `def NAME(event, context)` found in a project file. */
export interface HandlerCandidate {
  /** Root-relative, with `/`. */
  file: string;
  name: string;
  line: number;
}

export interface HandlerScan {
  handlers: HandlerCandidate[];
  /** The scanning interpreter's `major.minor`, when it ran. */
  python?: string | undefined;
  /** Why nothing could be scanned (no interpreter), for a note. */
  problem?: string | undefined;
}

/**
 * Reads the files with Python's own parser (`ast`) rather than a regular expression: a signature
 * split over lines, a decorator, a `def` inside a string or a nested function would fool a regex,
 * and the interpreter that runs pip is needed for any build anyway. Only top-level, synchronous
 * functions count (Lambda's Python runtime calls the handler, it does not await it), whose first
 * two parameters are named like event and context and which need no others.
 */
const SCAN = `
import ast, json, re, sys
event = re.compile(r"^_*(event|evt)$")
context = re.compile(r"^_*(context|ctx)$")
found = []
for path in json.load(sys.stdin):
    try:
        with open(path, "rb") as f:
            tree = ast.parse(f.read(), path)
    except (SyntaxError, ValueError, OSError):
        continue
    for node in tree.body:
        if not isinstance(node, ast.FunctionDef):
            continue
        args = node.args
        names = [a.arg for a in list(getattr(args, "posonlyargs", [])) + list(args.args)]
        required = len(names) - len(args.defaults)
        if (len(names) >= 2 and required <= 2 and event.match(names[0])
                and context.match(names[1]) and not args.kwonlyargs):
            found.append([path, node.name, node.lineno])
json.dump({"python": "%d.%d" % sys.version_info[:2], "handlers": found}, sys.stdout)
`;

/** Folders never searched: environments, caches, other tools' output, tests. */
const SKIP_DIRS = new Set([
  '.git',
  '.hg',
  '.svn',
  '.venv',
  'venv',
  'env',
  'node_modules',
  '__pycache__',
  '.lbuild',
  '.aws-sam',
  '.serverless',
  'cdk.out',
  'build',
  'dist',
  'site-packages',
  'tests',
  'test',
  'docs',
  '.tox',
  '.nox',
  '.mypy_cache',
  '.pytest_cache',
  '.ruff_cache',
]);
const SKIP_FILES = /^(test_.*|.*_test|conftest|setup|noxfile|tasks|manage)\.py$/;
const MAX_DEPTH = 5;
const MAX_FILES = 5000;

/** The project's own Python files, root-relative, in a stable order. */
export function pythonFiles(root: string): string[] {
  const out: string[] = [];
  const walk = (dir: string, depth: number): void => {
    let entries;
    try {
      entries = readdirSync(join(root, dir), { withFileTypes: true });
    } catch {
      return;
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      if (out.length >= MAX_FILES) return;
      const rel = dir === '' ? entry.name : `${dir}/${entry.name}`;
      if (entry.isDirectory()) {
        if (depth < MAX_DEPTH && !SKIP_DIRS.has(entry.name) && !entry.name.endsWith('.egg-info'))
          walk(rel, depth + 1);
      } else if (entry.isFile() && entry.name.endsWith('.py') && !SKIP_FILES.test(entry.name)) {
        out.push(rel);
      }
    }
  };
  walk('', 0);
  return out;
}

/** Finds handler functions in the project's Python files with `python`'s `ast` module. */
export function scanHandlers(root: string, python: string): HandlerScan {
  const files = pythonFiles(root);
  const result = spawnSync(python, ['-I', '-c', SCAN], {
    cwd: root,
    input: JSON.stringify(files),
    encoding: 'utf8',
    timeout: 60_000,
    maxBuffer: 16 * 1024 * 1024,
  });
  if (result.error !== undefined || result.status !== 0) {
    const why =
      result.error !== undefined
        ? `${python} could not be run (${(result.error as NodeJS.ErrnoException).code ?? result.error.message})`
        : `${python} failed: ${result.stderr.trim().split('\n').at(-1) ?? ''}`;
    return { handlers: [], problem: why };
  }
  const parsed = JSON.parse(result.stdout) as {
    python: string;
    handlers: [string, string, number][];
  };
  return {
    python: parsed.python,
    handlers: parsed.handlers.map(([file, name, line]) => ({ file, name, line })),
  };
}

const PREFERRED_NAMES = ['handler', 'lambda_handler', 'main'];
const PREFERRED_FILES = ['app', 'handler', 'handlers', 'lambda_function', 'main', 'index'];

/**
 * The most likely handler: the conventional function names first (`handler`, `lambda_handler`),
 * then conventional module names (`app.py`, `lambda_function.py`), then the shallowest file.
 */
export function rankHandlers(handlers: readonly HandlerCandidate[]): HandlerCandidate[] {
  const rank = (list: readonly string[], value: string) => {
    const i = list.indexOf(value);
    return i === -1 ? list.length : i;
  };
  const stem = (file: string) => (file.split('/').at(-1) ?? file).replace(/\.py$/, '');
  return [...handlers].sort(
    (a, b) =>
      rank(PREFERRED_NAMES, a.name) - rank(PREFERRED_NAMES, b.name) ||
      rank(PREFERRED_FILES, stem(a.file)) - rank(PREFERRED_FILES, stem(b.file)) ||
      a.file.split('/').length - b.file.split('/').length ||
      (a.file < b.file ? -1 : a.file > b.file ? 1 : 0) ||
      a.line - b.line,
  );
}
