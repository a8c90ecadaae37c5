import { execFileSync, spawnSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ran, type TempProject } from '../helpers/project.js';
import {
  NO_PIP_ENV,
  Template,
  bundleToml,
  extractZip,
  jsonShell,
  sha256,
  zipNames,
  zipValue,
} from './rig.js';
import type { SizeJson } from './size-rig.js';

/**
 * `bytecode = "unchecked-hash" | "checked-hash"`: every `.py` of the bundle gets its hash-based
 * pyc (PEP 552), compiled by python3.11 for a python 3.11 runtime, that Python's import system
 * uses; the zip stays one byte sequence whatever the directory, TZ and umask; "none" is the zip
 * without the key; and without an interpreter of the runtime's version, a config error.
 */
const PYTHON = 'python3.11';
const TAG = 'cpython-311';

let template: Template;
const projects: TempProject[] = [];
const dirs: string[] = [];

beforeAll(async () => {
  template = await Template.create({ python: '3.11' });
}, 120_000);

afterAll(() => {
  for (const project of projects) project.dispose();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  template.dispose();
});

function project(bytecode?: string, extra = ''): TempProject {
  const p = template.project();
  projects.push(p);
  const key = bytecode === undefined ? '' : `bytecode = "${bytecode}"\n`;
  p.write('lbuild.toml', bundleToml({ python: '3.11', extra: key + extra }));
  return p;
}

function setBytecode(p: TempProject, bytecode: string): void {
  p.write('lbuild.toml', bundleToml({ python: '3.11', extra: `bytecode = "${bytecode}"\n` }));
}

async function build(p: TempProject, options: { umask?: string; tz?: string } = {}) {
  const { result, summary } = await jsonShell(p.dir, [], {
    env: { ...NO_PIP_ENV, TZ: options.tz ?? 'UTC' },
    ...(options.umask ? { umask: options.umask } : {}),
  });
  expect(result.code, result.stderr).toBe(0);
  return { result, summary, sha: zipValue(summary).sha256 };
}

function extracted(p: TempProject): string {
  const dir = extractZip(p.path('dist/fn.zip'));
  dirs.push(dir);
  return dir;
}

/** What python3.11 reads in a pyc: PEP 552 header fields, and the code's file name. */
interface PycHeader {
  magic: string;
  flags: number;
  sourceHashMatches: boolean;
  filename: string;
  expectedMagic: string;
}

const READ_PYC = String.raw`
import importlib.util, json, marshal, struct, sys
pyc, source = sys.argv[1], sys.argv[2]
data = open(pyc, "rb").read()
code = marshal.loads(data[16:])
print(json.dumps({
    "magic": data[:4].hex(),
    "flags": struct.unpack("<I", data[4:8])[0],
    "sourceHashMatches": data[8:16] == importlib.util.source_hash(open(source, "rb").read()),
    "filename": code.co_filename,
    "expectedMagic": importlib.util.MAGIC_NUMBER.hex(),
}))
`;

function readPyc(dir: string, pyc: string, source: string): PycHeader {
  return JSON.parse(
    execFileSync(PYTHON, ['-c', READ_PYC, join(dir, pyc), join(dir, source)], {
      encoding: 'utf8',
    }),
  ) as PycHeader;
}

/** Runs `code` with python3.11 -B -I in `dir` as /var/task (first on sys.path). */
function runIn(dir: string, code: string) {
  return spawnSync(
    PYTHON,
    ['-B', '-I', '-c', `import sys; sys.path.insert(0, ${JSON.stringify(dir)})\n${code}`],
    {
      cwd: dir,
      encoding: 'utf8',
    },
  );
}

const SOURCES = [
  'alpha/__init__.py',
  'app/__init__.py',
  'app/handler.py',
  'beta/__init__.py',
  'gamma/__init__.py',
  'localpkg/__init__.py',
];
const pycOf = (path: string) => path.replace(/([^/]+)\.py$/, `__pycache__/$1.${TAG}.pyc`);

describe('bytecode = "unchecked-hash"', () => {
  let p: TempProject;
  let first = '';

  it('gives every .py its hash-based pyc, listed in RECORD, that the runtime uses unchecked', async () => {
    p = project('unchecked-hash');
    const { summary, sha } = await build(p);
    first = sha;
    expect(ran(summary)).toEqual(['fn:staging', 'fn:tree', 'fn:wheelhouse', 'fn:zip']);
    const names = zipNames(p.path('dist/fn.zip'));
    const py = names.filter((n) => n.endsWith('.py'));
    expect(py).toEqual(SOURCES);
    expect(names.filter((n) => n.endsWith('.pyc')).sort()).toEqual(py.map(pycOf).sort());
    // The sources stay beside their pycs; excluded ones get none.
    expect(names.some((n) => n.includes('tests/'))).toBe(false);

    const dir = extracted(p);
    for (const source of py) {
      const header = readPyc(dir, pycOf(source), source);
      expect(header.magic).toBe(header.expectedMagic);
      expect(header.flags, source).toBe(0b01);
      expect(header.sourceHashMatches, source).toBe(true);
      // Named by its path on Lambda, not on the build machine.
      expect(header.filename).toBe(`/var/task/${source}`);
    }

    // RECORD lists the pyc as pip does when it compiles: path, sha256, size.
    const record = execFileSync('cat', [join(dir, 'alpha-1.0.dist-info/RECORD')], {
      encoding: 'utf8',
    });
    const pyc = pycOf('alpha/__init__.py');
    const row = record.split('\r\n').find((line) => line.startsWith(`${pyc},`));
    const check = runIn(
      dir,
      `import base64, hashlib; d = open(${JSON.stringify(join(dir, pyc))}, "rb").read(); print("sha256=" + base64.urlsafe_b64encode(hashlib.sha256(d).digest()).rstrip(b"=").decode() + "," + str(len(d)))`,
    );
    expect(row).toBe(`${pyc},${check.stdout.trim()}`);

    // Python uses the pyc without looking at the source: a source changed after the build is
    // not what runs (the runtime's own file system is read-only, so nothing recompiles there).
    writeFileSync(join(dir, 'gamma/__init__.py'), 'raise RuntimeError("the source ran")\n');
    const imported = runIn(dir, 'import gamma; print(gamma.gamma(), gamma.__cached__)');
    expect(imported.stderr).toBe('');
    expect(imported.stdout.trim()).toBe(`gamma ${join(dir, pycOf('gamma/__init__.py'))}`);
  }, 180_000);

  it('is one zip in another directory, TZ and umask, and again when its pycs come from the cache', async () => {
    const other = project('unchecked-hash');
    const { sha } = await build(other, { umask: '077', tz: 'Pacific/Chatham' });
    expect(sha).toBe(first);
    expect(sha256(other.path('dist/fn.zip'))).toBe(first);

    // Every pyc from the cache this time: the tree reruns for the mode, compiles nothing new.
    setBytecode(other, 'checked-hash');
    const checked = await build(other);
    expect(checked.sha).not.toBe(first);
    setBytecode(other, 'unchecked-hash');
    const again = await build(other);
    expect(ran(again.summary)).toEqual(['fn:tree', 'fn:zip']);
    expect(again.sha).toBe(first);
  }, 180_000);

  it('counts a distribution’s pycs in its size', async () => {
    const result = await p.run(['size', '--json'], { env: NO_PIP_ENV });
    expect(result.code, result.stderr).toBe(0);
    const report = (JSON.parse(result.stdout) as SizeJson).bundles[0]!;
    const alpha = report.distributions.find((d) => d.name === 'alpha');
    // __init__.py, its pyc, and METADATA, WHEEL, RECORD, INSTALLER (top_level.txt when there).
    const files = zipNames(p.path('dist/fn.zip')).filter(
      (n) => n.startsWith('alpha/') || n.startsWith('alpha-1.0.dist-info/'),
    );
    expect(files).toContain(pycOf('alpha/__init__.py'));
    expect(alpha?.files).toBe(files.length);
    // The project's pycs are the project's.
    expect(report.sources.files).toBe(4);
  }, 120_000);
});

describe('bytecode = "checked-hash"', () => {
  it('has pycs that check their source: an edited source runs, not its stale pyc', async () => {
    const p = project('checked-hash');
    await build(p);
    const dir = extracted(p);
    const header = readPyc(dir, pycOf('gamma/__init__.py'), 'gamma/__init__.py');
    expect(header.flags).toBe(0b11);
    expect(header.sourceHashMatches).toBe(true);
    const before = runIn(dir, 'import gamma; print(gamma.gamma())');
    expect(before.stdout.trim()).toBe('gamma');
    writeFileSync(join(dir, 'gamma/__init__.py'), 'def gamma():\n    return "edited"\n');
    const after = runIn(dir, 'import gamma; print(gamma.gamma())');
    expect(after.stdout.trim()).toBe('edited');
  }, 180_000);
});

describe('bytecode = "none"', () => {
  it('is the zip without the key, and a change of mode reruns only the tree and the zip', async () => {
    const without = project();
    const none = project('none');
    const [a, b] = [await build(without), await build(none)];
    expect(b.sha).toBe(a.sha);
    expect(zipNames(none.path('dist/fn.zip')).some((n) => n.endsWith('.pyc'))).toBe(false);

    setBytecode(none, 'checked-hash');
    const explained = await none.run(['--explain'], { env: NO_PIP_ENV });
    expect(explained.code, explained.stderr).toBe(0);
    expect(explained.stdout).toMatch(/fn:tree\n\s+because recipe changed: bytecode\.mode\n/);
    expect(explained.stdout).toMatch(/▶ fn:zip/);
    expect(explained.stdout).not.toMatch(/▶ fn:(wheelhouse|staging)/);
    const { summary: noop } = await jsonShell(none.dir, [], { env: NO_PIP_ENV });
    expect(ran(noop)).toEqual([]);

    setBytecode(none, 'none');
    const back = await build(none);
    expect(ran(back.summary)).toEqual(['fn:tree', 'fn:zip']);
    expect(back.sha).toBe(a.sha);
  }, 240_000);
});

describe('a .py file that does not compile', () => {
  it('ships without a pyc, and the build warns naming it', async () => {
    const p = project('unchecked-hash');
    p.write('app/legacy.py', 'print "python 2"\n');
    const { result } = await build(p);
    expect(result.stderr).toMatch(/1 \.py file does not compile under Python 3\.11\.\d+/);
    expect(result.stderr).toContain('app/legacy.py (SyntaxError');
    const names = zipNames(p.path('dist/fn.zip'));
    expect(names).toContain('app/legacy.py');
    expect(names).not.toContain(pycOf('app/legacy.py'));
    expect(names).toContain(pycOf('app/handler.py'));
  }, 180_000);
});

describe('without an interpreter of the runtime version', () => {
  it('is a config error at runtime-python, before anything runs', async () => {
    const p = template.project();
    projects.push(p);
    p.write(
      'lbuild.toml',
      bundleToml({
        python: '3.13',
        extra: 'bytecode = "unchecked-hash"\nruntime-python = "no-such-python3.13"\n',
      }),
    );
    const result = await p.run([], { env: NO_PIP_ENV });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('No Python 3.13 interpreter');
    expect(result.stderr).toContain('no-such-python3.13');
    expect(result.stderr).toMatch(/lbuild\.toml:\d+/);
    expect(result.stderr).toContain('runtime-python');
    expect(p.exists('dist/fn.zip')).toBe(false);
  }, 120_000);
});
