import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { configError } from '@lbuild/core';
import { LAMBDA_PYTHON_VERSIONS } from '@lbuild/lambda-runtimes';
import { parseSpecifierSet, specifierSetContains } from '../pip/pep440.js';
import { rankHandlers, scanHandlers, type HandlerCandidate } from './handlers.js';

/** What `lbuild init` found in a Python project, and the bundle it proposes. */
export interface InitPlan {
  /** The bundle's (and function's) name. */
  name: string;
  python: string;
  /** Where `python` came from, for the comment next to it. */
  pythonFrom: string;
  /** The requirement source: `requirements = …` or `lock = …`. */
  requirements?: string | undefined;
  lock?: string | undefined;
  sourceRoot?: string | undefined;
  sources: string[];
  /** `module.function`, relative to the source root. */
  handler?: string | undefined;
  handlerAt?: HandlerCandidate | undefined;
  output: string;
  /** Whether pyproject.toml exists, and whether it already has `[tool.lbuild]`. */
  pyproject: { exists: boolean; hasToolLbuild: boolean };
  /** Things the user should know or finish by hand. */
  notes: string[];
}

export interface DetectOptions {
  /** The interpreter that parses the project's files and names a default version (python3). */
  python?: string | undefined;
}

interface PyProject {
  project?: {
    name?: unknown;
    'requires-python'?: unknown;
    dependencies?: unknown;
  };
  tool?: { lbuild?: unknown };
}

const TARGET_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

async function readPyProject(root: string): Promise<PyProject | undefined> {
  const file = join(root, 'pyproject.toml');
  if (!existsSync(file)) return undefined;
  const { parse, TomlError } = await import('smol-toml');
  try {
    return parse(readFileSync(file, 'utf8'));
  } catch (error) {
    if (error instanceof TomlError) {
      throw configError('invalid-toml', `pyproject.toml is not valid TOML: ${error.message}`, {
        hint: 'fix pyproject.toml first: lbuild init reads its name, requires-python and dependencies',
        location: { file, line: error.line, column: error.column },
      });
    }
    throw error;
  }
}

/** The bundle name: the project's name, else the folder's, as a valid target name. */
function bundleName(pyproject: PyProject | undefined, root: string): string {
  const given = typeof pyproject?.project?.name === 'string' ? pyproject.project.name : '';
  for (const candidate of [given, basename(root)]) {
    const name = candidate
      .toLowerCase()
      .replace(/[^a-z0-9._-]+/g, '-')
      .replace(/^[^a-z0-9]+/, '');
    if (TARGET_NAME.test(name)) return name;
  }
  return 'app';
}

/**
 * The oldest Lambda runtime `requires-python` admits: the lower bound is the version a project
 * is written for (`uv init` writes `>=` the interpreter it ran with). A runtime counts when its
 * first or a late patch release is admitted (`>=3.11.4` admits Lambda's 3.11).
 */
function pythonFromRequires(requires: string): string | undefined {
  let specs;
  try {
    specs = parseSpecifierSet(requires);
  } catch {
    return undefined;
  }
  return LAMBDA_PYTHON_VERSIONS.find(
    (v) => specifierSetContains(specs, `${v}.0`) || specifierSetContains(specs, `${v}.999`),
  );
}

/** The requirement source: a lock file first, then requirements.txt. */
function requirementSource(root: string, pyproject: PyProject | undefined, notes: string[]) {
  if (existsSync(join(root, 'uv.lock'))) return { lock: 'uv.lock' };
  const pylocks = readdirSync(root)
    .filter((f) => f === 'pylock.toml' || /^pylock\.[^.]+\.toml$/.test(f))
    .sort((a, b) => (a === 'pylock.toml' ? -1 : b === 'pylock.toml' ? 1 : a < b ? -1 : 1));
  if (pylocks[0] !== undefined) return { lock: pylocks[0] };
  if (existsSync(join(root, 'requirements.txt'))) return { requirements: 'requirements.txt' };
  const deps = pyproject?.project?.dependencies;
  if (Array.isArray(deps) && deps.length > 0) {
    notes.push(
      `pyproject.toml declares ${deps.length} dependenc${deps.length === 1 ? 'y' : 'ies'} but there is no lock or requirements file: lock them (uv lock) and set lock = "uv.lock", or export them (uv export --no-dev --no-hashes -o requirements.txt) and set requirements = "requirements.txt"`,
    );
  }
  return {};
}

function isDir(path: string): boolean {
  return statSync(path, { throwIfNoEntry: false })?.isDirectory() === true;
}

/** Looks at a Python project and proposes a bundle for it. Reads files; writes nothing. */
export async function detectProject(root: string, options: DetectOptions = {}): Promise<InitPlan> {
  const python = options.python ?? 'python3';
  const pyproject = await readPyProject(root);
  const hasPython =
    pyproject !== undefined ||
    ['requirements.txt', 'uv.lock', 'setup.py', 'setup.cfg'].some((f) => existsSync(join(root, f)));
  const scan = scanHandlers(root, python);
  if (!hasPython && scan.handlers.length === 0 && !scan.problem) {
    const anyPython = readdirSync(root).some((f) => f.endsWith('.py')) || isDir(join(root, 'src'));
    if (!anyPython) {
      throw configError('not-a-python-project', `${root} does not look like a Python project`, {
        hint: 'run lbuild init in the folder that holds pyproject.toml, requirements.txt or your handler module (or pass -C DIR)',
      });
    }
  }
  const notes: string[] = [];
  const name = bundleName(pyproject, root);
  const source = requirementSource(root, pyproject, notes);

  // The handler decides the source root and sources: SAM's src/app.py is app.py in the zip.
  const [best, ...others] = rankHandlers(scan.handlers);
  let sourceRoot: string | undefined;
  let sources: string[] = [];
  let handler: string | undefined;
  if (best !== undefined) {
    const parts = best.file.replace(/\.py$/, '').split('/');
    if (parts[0] === 'src' && parts.length > 1) {
      sourceRoot = 'src';
      parts.shift();
      sources = ['.'];
    } else {
      sources = [best.file.split('/')[0] ?? best.file];
    }
    if (parts.at(-1) === '__init__') parts.pop();
    handler = [...parts, best.name].join('.');
    if (others.length > 0) {
      notes.push(
        `other functions that look like handlers: ${others
          .slice(0, 5)
          .map((h) => `${h.file}:${h.line} ${h.name}`)
          .join(', ')}${others.length > 5 ? ', …' : ''}`,
      );
    }
  } else {
    // No handler: ship the project's package if it has one where its name says.
    const packageName =
      typeof pyproject?.project?.name === 'string'
        ? pyproject.project.name.toLowerCase().replace(/[-.]+/g, '_')
        : undefined;
    if (packageName !== undefined && isDir(join(root, 'src', packageName))) {
      sourceRoot = 'src';
      sources = [packageName];
    } else if (packageName !== undefined && isDir(join(root, packageName))) {
      sources = [packageName];
    }
    notes.push(
      scan.problem !== undefined
        ? `no handler detected: ${scan.problem}`
        : 'no handler found (a top-level def NAME(event, context)): set sources to the code to ship, and handler in [function]',
    );
  }

  let version: string | undefined;
  let pythonFrom = '';
  const requires = pyproject?.project?.['requires-python'];
  if (typeof requires === 'string') {
    version = pythonFromRequires(requires);
    pythonFrom = `from requires-python "${requires}"`;
    if (version === undefined)
      notes.push(`requires-python = "${requires}" admits no Lambda runtime`);
  }
  if (version === undefined && scan.python !== undefined) {
    if ((LAMBDA_PYTHON_VERSIONS as readonly string[]).includes(scan.python)) {
      version = scan.python;
      pythonFrom = `the version of ${python} here`;
    }
  }
  if (version === undefined) {
    version = '3.12';
    pythonFrom = 'a default: set the runtime of your function';
  }
  return {
    name,
    python: version,
    pythonFrom,
    ...source,
    ...(sourceRoot !== undefined ? { sourceRoot } : {}),
    sources,
    ...(handler !== undefined ? { handler, handlerAt: best } : {}),
    output: `dist/${name}.zip`,
    pyproject: {
      exists: pyproject !== undefined,
      hasToolLbuild: pyproject?.tool?.lbuild !== undefined,
    },
    notes,
  };
}
