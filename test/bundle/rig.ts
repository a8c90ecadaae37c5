/**
 * The rig of the `[bundle.NAME]` black-box tests: fixture projects with real wheels (a pinned
 * dependency chain, a local path requirement, a real C extension), the built CLI run the way a
 * user runs it (also under another umask), and zip inspection by Python's zipfile and `unzip -t`.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import {
  NO_PIP_CONFIG,
  TempProject,
  lbuildBin,
  type JsonSummary,
  type JsonTarget,
  type RunOptions,
  type RunResult,
} from '../helpers/project.js';
import {
  SYSTEM_PYTHON,
  makeCExtensionWheel,
  makeLocalProject,
  makeWheels,
} from '../fixtures/python/wheels.js';

/** The CPU of this machine, as Lambda and as wheel platform tags name it. */
export const ARCHITECTURE: 'x86_64' | 'arm64' = process.arch === 'arm64' ? 'arm64' : 'x86_64';
export const MACHINE: 'x86_64' | 'aarch64' = ARCHITECTURE === 'arm64' ? 'aarch64' : 'x86_64';
/** The other CPU: a wheel built for it suits no runtime of ours. */
export const FOREIGN_MACHINE: 'x86_64' | 'aarch64' = MACHINE === 'x86_64' ? 'aarch64' : 'x86_64';

/**
 * Whether SYSTEM_PYTHON has pip, setuptools and wheel. (The fixtures' hasSystemPythonWithWheel
 * imports pip first, which on Debian bookworm makes setuptools' distutils hack fail its assertion:
 * it says no where the generator works. setuptools first is the order pip itself loads them in.)
 */
function systemPythonBuildsExtensions(): boolean {
  try {
    execFileSync(SYSTEM_PYTHON, ['-c', 'import setuptools, wheel, pip'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Lambda's Python runtimes (lbuild's list): a runtime is chosen among these. */
const LAMBDA_PYTHONS = ['3.8', '3.9', '3.10', '3.11', '3.12', '3.13', '3.14'];

/**
 * Whether a real C extension can be built here (Debian's Python with setuptools and wheel), and
 * the `major.minor` of that Python, which is then the runtime: its `.so` imports on this machine.
 */
export const CEXT_PYTHON: string | undefined = (() => {
  if (!systemPythonBuildsExtensions()) return undefined;
  const version = execFileSync(
    SYSTEM_PYTHON,
    ['-c', 'import sys; print("%d.%d" % sys.version_info[:2])'],
    { encoding: 'utf8' },
  ).trim();
  return LAMBDA_PYTHONS.includes(version) ? version : undefined;
})();

/**
 * PIP_* variables removed: lbuild ignores them (and says so in a warning that depends on the
 * machine), so tests see the same output on every machine.
 */
export const NO_PIP_ENV: Record<string, undefined> = Object.fromEntries(
  Object.keys(process.env)
    .filter((key) => key.startsWith('PIP_') && key !== 'PIP_CONFIG_FILE')
    .map((key) => [key, undefined]),
);

export const HANDLER = `import json
import os

from alpha import alpha
from localpkg import local

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def handler(event, context):
    with open(os.path.join(ROOT, "settings.json"), encoding="utf-8") as f:
        settings = json.load(f)
    return {"alpha": alpha(), "local": local(), "settings": settings, "event": event}
`;

export const CEXT_HANDLER = `from cext_fixture import _speedups


def handler(event, context):
    return {"sum": _speedups.add(event["a"], event["b"]), "so": _speedups.__file__}
`;

export interface FixtureOptions {
  /** The runtime (`python` in lbuild.toml); default "3.12". */
  python?: string;
  /** Add the real C-extension wheel `cext_fixture` (retagged manylinux) and app/native.py. */
  cext?: boolean;
}

/**
 * A template project, made once per test file and copied for each test:
 *
 *   lbuild.toml       [bundle.fn]: requirements, sources = ["app"], exclude tests,
 *                     files = settings.json, find-links = ["wheels"], no-index
 *   requirements.txt  alpha==1.0, beta==2.0, gamma==3.0 (alpha → beta → gamma), ./localpkg
 *   wheels/           alpha, beta, gamma (pure), cext_fixture (real .so) when asked
 *   localpkg/         a local project (inline build backend), depends on gamma
 *   app/              handler.py, __init__.py, tests/test_handler.py (left out)
 *   settings.json
 */
export class Template {
  readonly dir: string;
  readonly python: string;
  readonly cext: boolean;

  private constructor(dir: string, python: string, cext: boolean) {
    this.dir = dir;
    this.python = python;
    this.cext = cext;
  }

  static async create(options: FixtureOptions = {}): Promise<Template> {
    const dir = mkdtempSync(join(tmpdir(), 'lbuild-bundle-template-'));
    const python = options.python ?? '3.12';
    const cext = options.cext ?? false;
    const wheels = join(dir, 'wheels');
    mkdirSync(wheels, { recursive: true });
    await makeWheels(wheels, [
      {
        name: 'alpha',
        version: '1.0',
        deps: ['beta>=2'],
        files: {
          'alpha/__init__.py':
            'from beta import beta\n\n\ndef alpha():\n    return "alpha+" + beta()\n',
        },
      },
      {
        name: 'beta',
        version: '2.0',
        deps: ['gamma==3.0'],
        files: {
          'beta/__init__.py':
            'from gamma import gamma\n\n\ndef beta():\n    return "beta+" + gamma()\n',
        },
      },
      {
        name: 'gamma',
        version: '3.0',
        files: { 'gamma/__init__.py': 'def gamma():\n    return "gamma"\n' },
      },
    ]);
    await makeLocalProject(join(dir, 'localpkg'), {
      name: 'localpkg',
      version: '0.1',
      deps: ['gamma==3.0'],
      files: {
        'localpkg/__init__.py':
          'from gamma import gamma\n\n\ndef local():\n    return "local+" + gamma()\n',
      },
    });
    const requirements = ['alpha==1.0', 'beta==2.0', 'gamma==3.0', './localpkg'];
    const files: Record<string, string> = {
      'app/__init__.py': '',
      'app/handler.py': HANDLER,
      'app/tests/test_handler.py': 'def test_nothing():\n    pass\n',
      'settings.json': '{"greeting": "hello"}\n',
    };
    if (cext) {
      await makeCExtensionWheel(wheels, {
        name: 'cext_fixture',
        version: '1.0',
        retag: `manylinux_2_17_${MACHINE}`,
      });
      requirements.push('cext_fixture==1.0');
      files['app/native.py'] = CEXT_HANDLER;
    }
    files['requirements.txt'] = requirements.join('\n') + '\n';
    files['lbuild.toml'] = bundleToml({ python });
    const template = new Template(dir, python, cext);
    for (const [rel, content] of Object.entries(files)) {
      mkdirSync(dirname(join(dir, rel)), { recursive: true });
      writeFileSync(join(dir, rel), content);
    }
    return template;
  }

  /** A fresh project: a copy of the template in a new temporary directory. */
  project(): TempProject {
    const project = TempProject.create();
    cpSync(this.dir, project.dir, { recursive: true });
    return project;
  }

  dispose(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** The lbuild.toml of the fixture project, with `extra` lines added to [bundle.fn]. */
export function bundleToml(options: { python: string; extra?: string }): string {
  return `[bundle.fn]
requirements = "requirements.txt"
sources      = ["app"]
exclude      = ["**/tests/**"]
files        = { "settings.json" = "settings.json" }
python       = "${options.python}"
architecture = "${ARCHITECTURE}"
find-links   = ["wheels"]
no-index     = true
${options.extra ?? ''}`;
}

/** SHA-256 of a file, hex. */
export function sha256(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

/** The `value` the zip target reported in a `--json` summary. */
export function zipValue(
  summary: JsonSummary,
  key = 'fn:zip',
): { sha256: string; codeSha256: string; size: number; entries: number; unzippedSize: number } {
  const target: (JsonTarget & { value?: unknown }) | undefined = summary.targets.find(
    (t) => t.key === key,
  );
  if (target?.value === undefined) throw new Error(`no value for ${key} in the summary`);
  return target.value as ReturnType<typeof zipValue>;
}

/** What Python's zipfile says about a zip. */
export interface ZipReport {
  /** `ZipFile.testzip()`: null when every entry's CRC checks out. */
  testzip: string | null;
  entries: {
    name: string;
    dateTime: number[];
    /** `external_attr >> 16`: the Unix mode, file type included. */
    mode: number;
    createSystem: number;
    compressType: number;
    extraLength: number;
    size: number;
    sha256: string;
  }[];
}

const INSPECT = String.raw`
import hashlib, json, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z:
    bad = z.testzip()
    entries = [{
        "name": i.filename,
        "dateTime": list(i.date_time),
        "mode": i.external_attr >> 16,
        "createSystem": i.create_system,
        "compressType": i.compress_type,
        "extraLength": len(i.extra),
        "size": i.file_size,
        "sha256": hashlib.sha256(z.read(i)).hexdigest(),
    } for i in z.infolist()]
print(json.dumps({"testzip": bad, "entries": entries}))
`;

export function inspectZip(path: string): ZipReport {
  return JSON.parse(
    execFileSync('python3', ['-c', INSPECT, path], { encoding: 'utf8' }),
  ) as ZipReport;
}

/** The entry names of a zip, in order. */
export function zipNames(path: string): string[] {
  return inspectZip(path).entries.map((e) => e.name);
}

/** One entry's content, as text. */
export function zipText(path: string, name: string): string {
  return execFileSync(
    'python3',
    [
      '-c',
      'import sys, zipfile; sys.stdout.write(zipfile.ZipFile(sys.argv[1]).read(sys.argv[2]).decode())',
      path,
      name,
    ],
    { encoding: 'utf8' },
  );
}

/** `unzip -t`: exit status and output. */
export function unzipTest(path: string): { status: number | null; output: string } {
  const result = spawnSync('unzip', ['-t', path], { encoding: 'utf8' });
  return { status: result.status, output: result.stdout + result.stderr };
}

/** Extracts a zip into a new temporary directory with `unzip`, as Lambda does; returns it. */
export function extractZip(path: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'lbuild-bundle-unzipped-'));
  execFileSync('unzip', ['-q', path, '-d', dir]);
  return dir;
}

/**
 * Calls `module.function(event, None)` with `python` in a clean interpreter (-I: no user site,
 * no PYTHONPATH) whose only extra path is `dir`, as the Lambda runtime does with /var/task;
 * returns what the function returned, through JSON.
 */
export function invoke(python: string, dir: string, handler: string, event: unknown): unknown {
  const [module, fn] = [
    handler.slice(0, handler.lastIndexOf('.')),
    handler.slice(handler.lastIndexOf('.') + 1),
  ];
  const script = String.raw`
import importlib, json, sys
sys.path.insert(0, sys.argv[1])
module = importlib.import_module(sys.argv[2])
result = getattr(module, sys.argv[3])(json.loads(sys.argv[4]), None)
print(json.dumps({"result": result, "file": module.__file__}))
`;
  const out = execFileSync(python, ['-I', '-c', script, dir, module, fn, JSON.stringify(event)], {
    cwd: dir,
    encoding: 'utf8',
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', PYTHONDONTWRITEBYTECODE: '1' },
  });
  const parsed = JSON.parse(out) as { result: unknown; file: string };
  if (!parsed.file.startsWith(dir))
    throw new Error(`${handler} was imported from ${parsed.file}, not from ${dir}`);
  return parsed.result;
}

export interface ShellRunOptions extends RunOptions {
  /** The umask lbuild runs with, e.g. "077" (via `sh -c 'umask 077; exec node …'`). */
  umask?: string;
}

/** The environment an lbuild under test gets (as the helpers' TempProject gives it), plus `extra`. */
function childEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const merged: Record<string, string | undefined> = {
    ...process.env,
    NO_COLOR: '1',
    FORCE_COLOR: undefined,
    LBUILD_DEBUG: undefined,
    ...NO_PIP_CONFIG,
    ...extra,
  };
  return Object.fromEntries(
    Object.entries(merged).filter((entry): entry is [string, string] => entry[1] !== undefined),
  );
}

/**
 * Runs `lbuild ARGS` in `dir` through `sh -c 'umask …; exec node lbuild ARGS'` (the helpers'
 * settled copy of the built CLI, as TempProject runs it).
 */
export function runShell(
  dir: string,
  args: readonly string[],
  options: ShellRunOptions = {},
): Promise<RunResult> {
  const umask = options.umask ?? '022';
  return new Promise((resolve, reject) => {
    const child = spawn(
      'sh',
      ['-c', `umask ${umask}; exec "$0" "$@"`, process.execPath, lbuildBin(), ...args],
      { cwd: options.cwd ?? dir, env: childEnv(options.env), stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (text: string) => (stdout += text));
    child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** `runShell` with `--json`, parsed. */
export async function jsonShell(
  dir: string,
  args: readonly string[],
  options: ShellRunOptions = {},
): Promise<{ result: RunResult; summary: JsonSummary }> {
  const result = await runShell(dir, ['--json', ...args], options);
  try {
    return { result, summary: JSON.parse(result.stdout) as JsonSummary };
  } catch {
    throw new Error(
      `lbuild --json printed no JSON (exit ${String(result.code)}):\n${result.stdout}\n${result.stderr}`,
    );
  }
}

const SYMLINK_WHEEL = String.raw`
import base64, hashlib, json, sys, zipfile
spec = json.loads(sys.argv[1])
name, version, link, target = spec["name"], spec["version"], spec["link"], spec["target"]
def record_hash(data):
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
info = "%s-%s.dist-info" % (name, version)
entries = [
    (name + "/__init__.py", b"", 0o100644),
    (link, target.encode(), 0o120777),
    (info + "/METADATA", ("Metadata-Version: 2.1\nName: %s\nVersion: %s\n\n" % (name, version)).encode(), 0o100644),
    (info + "/WHEEL", b"Wheel-Version: 1.0\nGenerator: lbuild-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n", 0o100644),
]
record = "".join("%s,%s,%d\n" % (n, record_hash(d), len(d)) for n, d, _ in entries) + info + "/RECORD,,\n"
entries.append((info + "/RECORD", record.encode(), 0o100644))
path = "%s/%s-%s-py3-none-any.whl" % (spec["out"], name, version)
with zipfile.ZipFile(path, "w") as z:
    for n, d, mode in entries:
        i = zipfile.ZipInfo(n, (1980, 1, 1, 0, 0, 0))
        i.external_attr = mode << 16
        i.create_system = 3
        i.compress_type = zipfile.ZIP_DEFLATED
        z.writestr(i, d)
print(json.dumps(path))
`;

/**
 * A wheel (`NAME-VERSION-py3-none-any.whl`, valid METADATA, WHEEL and RECORD) with an entry
 * `link` that is a symbolic link (Unix mode 0120777) to `target`; returns its path.
 */
export function makeSymlinkWheel(
  out: string,
  spec: { name: string; version: string; link: string; target: string },
): string {
  return JSON.parse(
    execFileSync('python3', ['-c', SYMLINK_WHEEL, JSON.stringify({ out, ...spec })], {
      encoding: 'utf8',
    }),
  ) as string;
}
