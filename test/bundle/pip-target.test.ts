import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ran, TempProject, type RunResult } from '../helpers/project.js';
import { NO_PIP_ENV, extractZip, inspectZip, type ZipReport } from './rig.js';

/**
 * The zip holds the wheels as `pip install --target DIR` lays them out (the way AWS documents
 * for making a Lambda zip), compared file by file with a real pip on the same wheels. Where lbuild
 * differs, it does so on purpose, for the Lambda runtime and for reproducibility:
 * - `#!python` scripts name the runtime's interpreter (/var/lang/bin/python3.X), where pip writes
 *   the build machine's;
 * - no `__pycache__/*.pyc` (compiled by and for the build machine's Python), no `REQUESTED`
 *   (depends on how the requirement was named) and no `direct_url.json` (holds the wheel's path
 *   on the build machine);
 * - `INSTALLER` says lbuild, and RECORD's paths are relative to the bundle root (pip's point
 *   from its temporary site-packages to `../../bin/…`, which do not exist after its move).
 */

const RUNTIME = '3.12';
const INTERPRETER = `/var/lang/bin/python${RUNTIME}`;

const MAKE_WHEEL = String.raw`
import base64, hashlib, json, sys, zipfile
spec = json.loads(sys.argv[1])
def record_hash(data):
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
info = spec["info"]
entries = [(name, data.encode("latin-1"), mode) for name, data, mode in spec["entries"]]
record = "".join("%s,%s,%d\n" % (n, record_hash(d), len(d)) for n, d, _ in entries) + info + "/RECORD,,\n"
entries.append((info + "/RECORD", record.encode(), 0o644))
with zipfile.ZipFile(spec["path"], "w") as z:
    for name, data, mode in entries:
        i = zipfile.ZipInfo(name, (1980, 1, 1, 0, 0, 0))
        i.external_attr = (0o100000 | mode) << 16
        i.create_system = 3
        i.compress_type = zipfile.ZIP_DEFLATED
        z.writestr(i, data)
`;

/** Writes a wheel whose RECORD lists every entry; `entries` are [name, latin-1 text, mode]. */
function makeWheel(path: string, info: string, entries: [string, string, number][]): void {
  execFileSync('python3', ['-c', MAKE_WHEEL, JSON.stringify({ path, info, entries })]);
}

function metadata(name: string, purelib: boolean): [string, string, number][] {
  const info = `${name.replaceAll('-', '_')}-1.0.dist-info`;
  return [
    [`${info}/METADATA`, `Metadata-Version: 2.1\nName: ${name}\nVersion: 1.0\n\n`, 0o644],
    [
      `${info}/WHEEL`,
      `Wheel-Version: 1.0\nGenerator: lbuild-tests\nRoot-Is-Purelib: ${String(purelib)}\nTag: py3-none-any\n`,
      0o644,
    ],
  ];
}

/**
 * Every file below `dir`, relative, with its bytes and whether any executable bit is set. A pip
 * that runs in a virtual environment puts headers in include/site/pythonX.Y/NAME instead of
 * include/python/NAME (where lbuild puts them, as pip does outside one): named the same here.
 */
function tree(dir: string): Map<string, { data: Buffer; executable: boolean }> {
  const files = new Map<string, { data: Buffer; executable: boolean }>();
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    const name = relative(dir, path).replace(/^include\/site\/python[\d.]+\//, 'include/python/');
    files.set(name, {
      data: readFileSync(path),
      executable: (statSync(path).mode & 0o111) !== 0,
    });
  }
  return files;
}

/** pip's additions that lbuild leaves out on purpose (see the comment at the top). */
const PIP_ONLY = /(^|\/)__pycache__\/|\.dist-info\/(REQUESTED|direct_url\.json)$/;

/** RECORD rows by path, pip's `../../` (from its temporary site-packages) taken off. */
function recordRows(text: string): Map<string, string> {
  const rows = new Map<string, string>();
  for (const line of text.split('\r\n').filter((l) => l !== '')) {
    const [path = '', ...rest] = line.split(',');
    const clean = path
      .replace(/^(\.\.\/)+/, '')
      .replace(/^include\/site\/python[\d.]+\//, 'include/python/');
    if (!PIP_ONLY.test(clean)) rows.set(clean, rest.join(','));
  }
  return rows;
}

let work: string;
let pipTarget: string;
let project: TempProject;
let build: RunResult;
let report: ZipReport;
let unzipped: string;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'lbuild-pip-target-'));
  const wheels = join(work, 'wheels');
  mkdirSync(wheels);
  const demo = 'demo-1.0.data';
  makeWheel(join(wheels, 'demo-1.0-py3-none-any.whl'), 'demo-1.0.dist-info', [
    ['demo/__init__.py', 'def main():\n    return 0\n', 0o644],
    ['demo/cli.py', 'def run():\n    return 1\n', 0o644],
    ['demo_paths.pth', 'import os\n', 0o644],
    [`${demo}/purelib/demo_pure.py`, 'PURE = 1\n', 0o644],
    [`${demo}/platlib/demo_plat.py`, 'PLAT = 1\n', 0o644],
    [`${demo}/scripts/tool`, "#!python\nprint('tool')\n", 0o755],
    [`${demo}/scripts/tool-w`, "#!pythonw -u\r\nprint('w')\r\n", 0o644],
    [`${demo}/scripts/env-tool`, "#!/usr/bin/env python3\nprint('env')\n", 0o755],
    [`${demo}/scripts/run.sh`, '#!/bin/sh\necho run\n', 0o755],
    [`${demo}/scripts/blob.bin`, '\u0000\u0001\u00ffbinary', 0o644],
    // A wrapper setuptools made for the entry point: pip leaves it out and writes its own.
    [`${demo}/scripts/demo-cli`, '#!python\n# setuptools wrapper\n', 0o755],
    [`${demo}/data/share/demo/readme.txt`, 'shared data\n', 0o644],
    [`${demo}/data/etc/demo.conf`, 'key = value\n', 0o644],
    [`${demo}/data/lib/python/demo_via_data.py`, 'DATA = 1\n', 0o644],
    [`${demo}/data/lib/skipped.txt`, 'pip drops this\n', 0o644],
    [`${demo}/headers/demo.h`, 'int demo(void);\n', 0o644],
    [
      'demo-1.0.dist-info/entry_points.txt',
      '[console_scripts]\ndemo-cli = demo:main\ndemo-run = demo.cli:run\n\n[gui_scripts]\ndemo-gui = demo:main\n',
      0o644,
    ],
    ...metadata('demo', true),
  ]);
  makeWheel(join(wheels, 'My_Plat-1.0-py3-none-any.whl'), 'My_Plat-1.0.dist-info', [
    ['my_plat/__init__.py', 'X = 1\n', 0o644],
    ['My_Plat-1.0.data/headers/sub/plat.h', 'int plat;\n', 0o644],
    ['My_Plat-1.0.data/scripts/plat-tool', '#!python3\nprint(1)\n', 0o644],
    ...metadata('My-Plat', false),
  ]);

  pipTarget = join(work, 'target');
  execFileSync(
    'python3',
    [
      '-m',
      'pip',
      'install',
      '--quiet',
      '--disable-pip-version-check',
      '--no-deps',
      '--no-index',
      '--target',
      pipTarget,
      ...readdirSync(wheels).map((w) => join(wheels, w)),
    ],
    { env: { ...process.env, ...NO_PIP_ENV, PIP_ROOT_USER_ACTION: 'ignore' }, stdio: 'ignore' },
  );

  project = TempProject.create({
    'lbuild.toml': `[bundle.fn]
requirements = "requirements.txt"
find-links   = ["wheels"]
no-index     = true
python       = "${RUNTIME}"
`,
    'requirements.txt': 'demo==1.0\nMy-Plat==1.0\n',
  });
  execFileSync('cp', ['-r', wheels, project.path('wheels')]);
  build = await project.run([], { env: NO_PIP_ENV });
  expect(build.code, build.stderr).toBe(0);
  report = inspectZip(project.path('dist/fn.zip'));
  unzipped = extractZip(project.path('dist/fn.zip'));
}, 180_000);

afterAll(() => {
  project.dispose();
  rmSync(work, { recursive: true, force: true });
  rmSync(unzipped, { recursive: true, force: true });
});

describe('wheels in the zip, next to pip install --target on the same wheels', () => {
  it('hold the same files, scripts in bin/, data at the root, headers in include/', () => {
    const fromPip = [...tree(pipTarget).keys()].filter((path) => !PIP_ONLY.test(path)).sort();
    const fromLbuild = report.entries.map((entry) => entry.name).sort();
    expect(fromLbuild).toEqual(fromPip);
    // What makes this comparison mean something: each .data scheme is there.
    expect(fromLbuild).toEqual(
      expect.arrayContaining([
        'bin/tool',
        'bin/demo-cli',
        'bin/demo-gui',
        'share/demo/readme.txt',
        'etc/demo.conf',
        'demo_via_data.py',
        'demo_pure.py',
        'demo_plat.py',
        'include/python/demo/demo.h',
        'include/python/My-Plat/sub/plat.h',
        'demo-1.0.dist-info/INSTALLER',
      ]),
    );
    expect(fromLbuild).not.toContain('lib/skipped.txt');
  });

  it('have the same bytes and executable bits, but for the #! line of python scripts', () => {
    const pip = tree(pipTarget);
    const lbuild = tree(unzipped);
    const pipShebang = `#!${pipPython()}`;
    for (const [path, ours] of lbuild) {
      const theirs = pip.get(path);
      if (theirs === undefined) throw new Error(`${path} is not in pip's target`);
      expect(ours.executable, path).toBe(theirs.executable);
      if (path.endsWith('.dist-info/RECORD') || path.endsWith('.dist-info/INSTALLER')) continue;
      const pipFirstLine = theirs.data.toString('latin1').split('\n', 1)[0] ?? '';
      if (path.startsWith('bin/') && pipFirstLine === pipShebang) {
        const [first, ...rest] = ours.data.toString('latin1').split('\n');
        expect(first, path).toBe(`#!${INTERPRETER}`);
        expect(rest.join('\n'), path).toBe(
          theirs.data.toString('latin1').split('\n').slice(1).join('\n'),
        );
      } else {
        expect(ours.data.equals(theirs.data), path).toBe(true);
      }
    }
    // pip rewrites exactly these: `#!python` first lines and its own wrappers.
    const rewritten = [...lbuild.keys()].filter((path) =>
      lbuild.get(path)?.data.toString('latin1').startsWith(`#!${INTERPRETER}\n`),
    );
    expect(rewritten.sort()).toEqual([
      'bin/demo-cli',
      'bin/demo-gui',
      'bin/demo-run',
      'bin/plat-tool',
      'bin/tool',
      'bin/tool-w',
    ]);
  });

  it('write INSTALLER and RECORD as pip does, with paths relative to the bundle root', () => {
    const lbuild = tree(unzipped);
    const pip = tree(pipTarget);
    expect(lbuild.get('demo-1.0.dist-info/INSTALLER')?.data.toString()).toBe('lbuild\n');
    expect(pip.get('demo-1.0.dist-info/INSTALLER')?.data.toString()).toBe('pip\n');
    const notInstalled: string[] = [];
    for (const info of ['demo-1.0.dist-info', 'My_Plat-1.0.dist-info']) {
      const ours = recordRows(lbuild.get(`${info}/RECORD`)?.data.toString('utf8') ?? '');
      const theirs = recordRows(pip.get(`${info}/RECORD`)?.data.toString('utf8') ?? '');
      const installed = (rows: Map<string, string>, files: Map<string, unknown>) =>
        [...rows.keys()].filter((path) => files.has(path)).sort();
      expect(installed(ours, lbuild)).toEqual(installed(theirs, pip));
      for (const [path, hashAndSize] of ours) {
        const data = lbuild.get(path)?.data;
        if (data === undefined) {
          notInstalled.push(path);
        } else if (path.endsWith('/RECORD')) {
          expect(hashAndSize).toBe(',');
        } else {
          expect(hashAndSize, path).toBe(`${recordHash(data)},${String(data.length)}`);
          if (!path.startsWith('bin/') && !path.endsWith('/INSTALLER'))
            expect(hashAndSize, path).toBe(theirs.get(path));
        }
      }
    }
    // Rows for what was not installed keep the wheel's path, as pip keeps them (pip's row for
    // the dropped data file points at where it was before pip's move).
    expect(notInstalled.sort()).toEqual([
      'demo-1.0.data/data/lib/skipped.txt',
      'demo-1.0.data/scripts/demo-cli',
    ]);
    // importlib.metadata finds everything else the project installed in the bundle.
    const missing = execFileSync(
      'python3',
      [
        '-I',
        '-c',
        'import sys; sys.path.insert(0, sys.argv[1]); from importlib.metadata import files; print(sorted(str(f) for f in files("demo") if not f.locate().exists()))',
        unzipped,
      ],
      { encoding: 'utf8' },
    );
    expect(missing.trim()).toBe(
      "['demo-1.0.data/data/lib/skipped.txt', 'demo-1.0.data/scripts/demo-cli']",
    );
  });

  it('warn that Lambda does not process .pth files', () => {
    expect(build.stderr + build.stdout).toContain(
      'warning: fn ships demo_paths.pth (from demo-1.0-py3-none-any.whl): Lambda does not process .pth files',
    );
  });

  it('are laid out the same by a second build, which runs nothing', async () => {
    const again = await project.json([], { env: NO_PIP_ENV });
    expect(ran(again.summary)).toEqual([]);
  });
});

/** The interpreter pip writes into `#!python` scripts: the one it runs under. */
const pipPython = (): string =>
  execFileSync('python3', ['-c', 'import sys; print(sys.executable)'], {
    encoding: 'utf8',
  }).trim();

const recordHash = (data: Buffer): string =>
  `sha256=${createHash('sha256').update(data).digest('base64url')}`;
