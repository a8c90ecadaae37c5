import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TempProject } from '../helpers/project.js';
import { editSource, helloProject, shown, ZIP } from '../deploy/rig.js';
import { type DiffJson, zipNames } from './rig.js';

/**
 * `lbuild diff A.zip B.zip` on zips lbuild built from the hello example, and on the same entries
 * written again by Info-ZIP's zip and by Python's zipfile: each difference named where it is,
 * nothing reported that is not there.
 */

let project: TempProject;
/** The zip as built, and after one edit of hello/handler.py. */
let before = '';
let after = '';
let scratch = '';

beforeAll(async () => {
  project = helloProject('');
  const first = await project.run([]);
  expect(first.code, shown(first)).toBe(0);
  before = project.path('before.zip');
  copyFileSync(project.path(ZIP), before);
  editSource(project);
  const second = await project.run([]);
  expect(second.code, shown(second)).toBe(0);
  after = project.path(ZIP);
  scratch = mkdtempSync(join(tmpdir(), 'lbuild-diff-'));
}, 120_000);

afterAll(() => {
  project.dispose();
  rmSync(scratch, { recursive: true, force: true });
});

const diff = (args: readonly string[]) => project.run(['diff', ...args]);

async function diffJson(a: string, b: string, ...flags: string[]): Promise<DiffJson> {
  const result = await diff(['--json', ...flags, a, b]);
  expect(result.code, shown(result)).toBe(1);
  return JSON.parse(result.stdout) as DiffJson;
}

/** Runs Python with the script and arguments; zipfile does the zip work. */
const python = (script: string, ...args: string[]) =>
  execFileSync('python3', ['-c', script, ...args], { encoding: 'utf8' });

/** The zip's entries extracted by unzip into a fresh directory, dated 2024-05-01 12:00 UTC. */
function extracted(zip: string): string {
  const dir = mkdtempSync(join(scratch, 'tree-'));
  execFileSync('unzip', ['-q', zip, '-d', dir]);
  const when = new Date('2024-05-01T12:00:00Z');
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true }))
    utimesSync(join(entry.parentPath, entry.name), when, when);
  return dir;
}

describe('lbuild diff A.zip B.zip', () => {
  it('one source edit: that entry, with its sizes, hashes and a text diff, and nothing else', async () => {
    const result = await diff(['before.zip', ZIP]);
    expect(result.code, shown(result)).toBe(1);
    expect(result.stdout).toContain(`lbuild diff: before.zip and ${ZIP} differ`);
    expect(result.stdout).toContain('content differs (1)\n  project files\n    hello/handler.py  ');
    expect(result.stdout).toContain('      +++ b/hello/handler.py\n');
    expect(result.stdout).toMatch(/\n {6}\+# edited\n/);
    expect(result.stdout).not.toContain('same content, other metadata');
    expect(result.stdout).not.toContain('entry order');

    const json = await diffJson('before.zip', ZIP);
    expect(json.identical).toBe(false);
    expect(json.content.map((c) => c.path)).toEqual(['hello/handler.py']);
    const [change] = json.content;
    expect(change?.group).toEqual({ kind: 'other' });
    expect(change?.b.size).toBe(change!.a.size + '# edited\n'.length);
    expect(change?.a.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(change?.a.sha256).not.toBe(change?.b.sha256);
    expect(change?.text?.lines.at(-1)).toBe('+# edited');
    expect([json.onlyInA, json.onlyInB, json.metadata, json.archive]).toEqual([[], [], [], []]);
    expect(json.order).toEqual({ common: zipNames(after).length, moved: 0 });
    expect(json.distributions).toEqual([]);
  });

  it('identical zips: "identical", exit 0', async () => {
    copyFileSync(after, project.path('copy.zip'));
    const result = await diff([ZIP, 'copy.zip']);
    expect(result.code, shown(result)).toBe(0);
    expect(result.stdout).toMatch(
      /^lbuild diff: identical: dist\/hello\.zip and copy\.zip \(CodeSha256 [A-Za-z0-9+/]{43}=\)\n$/,
    );
    const json = await project.run(['diff', '--json', ZIP, 'copy.zip']);
    expect(json.code).toBe(0);
    expect((JSON.parse(json.stdout) as DiffJson).identical).toBe(true);
  });

  it('re-zipped by Info-ZIP zip -X from the extracted tree: metadata and compression, no content', async () => {
    const tree = extracted(before);
    chmodSync(join(tree, 'hello', '__init__.py'), 0o755);
    const rezipped = join(scratch, 'info-zip-X.zip');
    // Entries named in the original order, no directory entries: only the writer differs.
    execFileSync('zip', ['-q', '-X', '-D', rezipped, ...zipNames(before)], { cwd: tree });

    const json = await diffJson('before.zip', rezipped);
    expect([json.onlyInA, json.onlyInB, json.content]).toEqual([[], [], []]);
    expect(json.order.moved).toBe(0);
    expect(json.metadata.map((m) => m.path).sort()).toEqual(zipNames(before).sort());
    const fieldsOf = (path: string) =>
      Object.fromEntries(
        (json.metadata.find((m) => m.path === path)?.changes ?? []).map((c) => [
          c.field,
          [c.a, c.b],
        ]),
      );
    expect(fieldsOf('hello/__init__.py')).toMatchObject({
      mode: ['0100644', '0100755'],
      'made-by': ['Unix 2.0', 'Unix 3.0'],
    });
    const handler = fieldsOf('hello/handler.py');
    expect(handler.mode).toBeUndefined();
    // zip wrote the file's modification time in the local time zone: the date is the one set.
    expect(handler.time?.[0]).toBe('1980-01-01 00:00:00');
    expect(handler.time?.[1]).toMatch(/^2024-0[45]-\d\d \d\d:\d\d:\d\d$/);
    // -X: no extra fields, so none differ.
    expect(json.metadata.every((m) => m.changes.every((c) => c.field !== 'extra-fields'))).toBe(
      true,
    );
    // zlib and fflate compress the larger files to other bytes.
    expect(json.metadata.some((m) => m.changes.some((c) => c.field === 'compression'))).toBe(true);
    // Entries from a wheel are grouped under their distribution.
    expect(json.metadata.find((m) => m.path === 'lbuild_example_greet/__init__.py')?.group).toEqual(
      { kind: 'distribution', name: 'lbuild-example-greet', version: '1.0.0' },
    );

    const text = await diff(['before.zip', rezipped]);
    expect(text.stdout).toContain(`same content, other metadata (${String(json.metadata.length)})`);
    expect(text.stdout).toContain(
      '    hello/__init__.py  mode: 0100644 → 0100755; made-by: Unix 2.0 → Unix 3.0',
    );
    expect(text.stdout).toContain('  lbuild-example-greet 1.0.0\n');
    expect(text.stdout).not.toContain('content differs');
  });

  it('re-zipped by zip without -X: the extended timestamp and owner extra fields', async () => {
    const tree = extracted(before);
    const rezipped = join(scratch, 'info-zip.zip');
    execFileSync('zip', ['-q', '-D', rezipped, ...zipNames(before)], { cwd: tree });
    const json = await diffJson('before.zip', rezipped);
    expect(json.content).toEqual([]);
    const extra = json.metadata
      .find((m) => m.path === 'hello/handler.py')
      ?.changes.find((c) => c.field === 'extra-fields');
    expect(extra?.a).toBe('none');
    expect(extra?.b).toMatch(
      /^extended timestamp \(mtime 2024-05-01T12:00:00Z\); Unix owner \(uid \d+, gid \d+\)$/,
    );
  });

  it('written by zip to a pipe: data descriptors, said once for the archive', async () => {
    const tree = extracted(before);
    const piped = join(scratch, 'piped.zip');
    writeFileSync(
      piped,
      execFileSync('zip', ['-q', '-X', '-D', '-', ...zipNames(before)], { cwd: tree }),
    );
    const json = await diffJson('before.zip', piped);
    expect(json.content).toEqual([]);
    const count = zipNames(before).length;
    expect(json.archive).toContainEqual({
      field: 'data-descriptors',
      a: '0 entries',
      b: `${String(count)} entries`,
    });
    expect(
      json.metadata
        .find((m) => m.path === 'hello/handler.py')
        ?.changes.find((c) => c.field === 'flags'),
    ).toEqual({ field: 'flags', a: 'none', b: 'data descriptor' });
  });

  it('65,536 entries: Zip64 end records, and the one entry that made them needed', async () => {
    const small = join(scratch, 'small.zip');
    const large = join(scratch, 'large.zip');
    python(
      `import shutil, sys, zipfile
with zipfile.ZipFile(sys.argv[1], 'w') as out:
    for i in range(65535):
        out.writestr(zipfile.ZipInfo('f/%05d' % i, (1980, 1, 1, 0, 0, 0)), b'')
shutil.copyfile(sys.argv[1], sys.argv[2])
with zipfile.ZipFile(sys.argv[2], 'a') as out:
    out.writestr(zipfile.ZipInfo('f/65535', (1980, 1, 1, 0, 0, 0)), b'')`,
      small,
      large,
    );
    const json = await diffJson(small, large);
    expect(json.onlyInA).toEqual([]);
    expect(json.onlyInB.map((e) => e.path)).toEqual(['f/65535']);
    expect([json.content, json.metadata]).toEqual([[], []]);
    expect(json.order).toEqual({ common: 65_535, moved: 0 });
    expect(json.archive).toEqual([{ field: 'zip64', a: 'none', b: 'Zip64 end records' }]);
  }, 240_000);

  it('the same entries in another order (Python zipfile), and an archive comment', async () => {
    const reordered = join(scratch, 'reordered.zip');
    python(
      `import sys, zipfile
src = zipfile.ZipFile(sys.argv[1])
with zipfile.ZipFile(sys.argv[2], 'w') as out:
    out.comment = b'written by zipfile'
    for info in reversed(src.infolist()):
        data = src.read(info.filename)
        # Stored: no compressor of its own to tell apart from the order.
        info.compress_type = zipfile.ZIP_STORED
        out.writestr(info, data)`,
      before,
      reordered,
    );
    const json = await diffJson('before.zip', reordered);
    expect([json.onlyInA, json.onlyInB, json.content]).toEqual([[], [], []]);
    const names = zipNames(before);
    expect(json.order).toEqual({
      common: names.length,
      moved: names.length - 1,
      first: { position: 1, a: names[0], b: names.at(-1) },
    });
    expect(json.archive).toContainEqual({ field: 'comment', a: '""', b: '"written by zipfile"' });
    expect(json.metadata.every((m) => m.changes.every((c) => c.field === 'compression'))).toBe(
      true,
    );

    const text = await diff(['before.zip', reordered]);
    expect(text.stdout).toContain(
      `entry order\n  ${String(names.length - 1)} of ${String(names.length)} common entries in another order; first at #1: a has ${names[0] ?? ''}, b has ${names.at(-1) ?? ''}`,
    );
    expect(text.stdout).toContain('archive\n  comment: "" → "written by zipfile"');
  });

  it('entries only in one zip, and a long text diff cut unless --content', async () => {
    const make = (zip: string, files: Record<string, string>) =>
      python(
        `import json, sys, zipfile
with zipfile.ZipFile(sys.argv[1], 'w', zipfile.ZIP_DEFLATED) as out:
    for name, text in json.loads(sys.argv[2]).items():
        out.writestr(zipfile.ZipInfo(name, (1980, 1, 1, 0, 0, 0)), text)`,
        zip,
        JSON.stringify(files),
      );
    const lines = (tag: string) =>
      Array.from({ length: 40 }, (_, i) => `line ${String(i)} ${tag}\n`).join('');
    const a = join(scratch, 'a.zip');
    const b = join(scratch, 'b.zip');
    make(a, { 'app/long.txt': lines('old'), 'app/gone.py': 'x = 1\n', 'same.txt': 'same\n' });
    make(b, { 'app/long.txt': lines('new'), 'app/new.py': 'y = 2\n', 'same.txt': 'same\n' });

    const json = await diffJson(a, b);
    expect(json.onlyInA.map((e) => e.path)).toEqual(['app/gone.py']);
    expect(json.onlyInB.map((e) => e.path)).toEqual(['app/new.py']);
    const long = json.content.find((c) => c.path === 'app/long.txt');
    // 40 lines out, 40 in: the first 20 shown, 60 left out.
    expect(long?.text?.lines[0]).toBe('@@ -1,40 +1,40 @@');
    expect(long?.text?.lines).toHaveLength(21);
    expect(long?.text?.omitted).toBe(60);

    const text = await diff([a, b]);
    expect(text.stdout).toContain(
      'only in a (1)\n  project files\n    app/gone.py  6 bytes, CRC-32 ',
    );
    expect(text.stdout).toContain(
      'only in b (1)\n  project files\n    app/new.py  6 bytes, CRC-32 ',
    );
    expect(text.stdout).toContain('      … 60 more lines (--content shows all)');

    const whole = await diffJson(a, b, '--content');
    expect(whole.content.find((c) => c.path === 'app/long.txt')?.text).toEqual({
      lines: [
        '@@ -1,40 +1,40 @@',
        ...lines('old')
          .trimEnd()
          .split('\n')
          .map((l) => `-${l}`),
        ...lines('new')
          .trimEnd()
          .split('\n')
          .map((l) => `+${l}`),
      ],
      omitted: 0,
    });
  });

  it('a distribution at another version: said once, and its files grouped under it', async () => {
    const make = (zip: string, version: string) =>
      python(
        `import sys, zipfile
v = sys.argv[2]
files = {
    'pkg/__init__.py': 'VERSION = %r\\n' % v,
    'pkg-%s.dist-info/METADATA' % v: 'Metadata-Version: 2.1\\nName: pkg\\nVersion: %s\\n' % v,
    'pkg-%s.dist-info/RECORD' % v: 'pkg/__init__.py,,\\npkg-%s.dist-info/METADATA,,\\npkg-%s.dist-info/RECORD,,\\n' % (v, v),
    'app.py': 'import pkg\\n',
}
with zipfile.ZipFile(sys.argv[1], 'w') as out:
    for name, text in files.items():
        out.writestr(zipfile.ZipInfo(name, (1980, 1, 1, 0, 0, 0)), text)`,
        zip,
        version,
      );
    const a = join(scratch, 'pkg-1.zip');
    const b = join(scratch, 'pkg-2.zip');
    make(a, '1.0');
    make(b, '2.0');
    const json = await diffJson(a, b);
    expect(json.distributions).toEqual([{ name: 'pkg', a: '1.0', b: '2.0' }]);
    expect(json.content.map((c) => [c.path, c.group])).toEqual([
      ['pkg/__init__.py', { kind: 'distribution', name: 'pkg', version: '2.0' }],
    ]);
    const text = await diff([a, b]);
    expect(text.stdout).toContain('distributions\n  ~ pkg 1.0 → 2.0\n');
    expect(text.stdout).toContain('content differs (1)\n  pkg 2.0\n    pkg/__init__.py  ');
  });

  it('bad input is exit 2 with what is wrong: a missing file, not a zip, one zip', async () => {
    const missing = await diff([ZIP, 'nope.zip']);
    expect(missing.code, shown(missing)).toBe(2);
    expect(missing.stderr).toContain('lbuild: error: nope.zip does not exist');

    const notZip = await diff(['lbuild.toml', ZIP]);
    expect(notZip.code, shown(notZip)).toBe(2);
    expect(notZip.stderr).toContain('lbuild: error: lbuild.toml cannot be read as a zip');
    expect(notZip.stdout).toBe('');

    const json = await project.run(['diff', '--json', 'lbuild.toml', ZIP]);
    expect(json.code).toBe(2);
    expect(JSON.parse(json.stdout)).toMatchObject({
      status: 'error',
      exitCode: 2,
      errors: [{ reason: 'not-a-zip', kind: 'config' }],
    });

    const one = await diff([ZIP]);
    expect(one.code, shown(one)).toBe(2);
    expect(one.stderr).toContain('lbuild diff compares two zips (got 1)');
  });
});
