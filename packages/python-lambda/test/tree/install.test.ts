import { join } from 'node:path';
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { LbuildError, type DescribedFailure } from '@lbuild/core';
import {
  fixShebang,
  isEntryPointWrapper,
  parseEntryPoints,
  scriptFor,
  scriptSpecs,
} from '../../src/tree/entry-points.js';
import { buildTree } from '../../src/tree/index.js';
import { pthFiles } from '../../src/tree/pth.js';
import { formatRecord, parseRecord } from '../../src/tree/record.js';
import { distInfo, installArgs, makeHashFile, makeWheel, withTempDir } from './fixtures.js';

async function failureOf(promise: Promise<unknown>): Promise<DescribedFailure> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(LbuildError);
    return (error as LbuildError).failure as DescribedFailure;
  }
  throw new Error('expected a failure');
}

describe('entry points', () => {
  it('are read as importlib.metadata reads entry_points.txt', () => {
    const points = parseEntryPoints(
      [
        'ignored = before:any_group',
        '[console_scripts]',
        '# a comment',
        '  tool =  pkg.cli:main  ',
        'tool = pkg.cli:second',
        'other=pkg:other [extra]',
        '',
        '[gui_scripts]',
        'window = pkg.gui:run',
        '[pytest11]',
        'plugin = pkg.plugin',
      ].join('\r\n'),
    );
    expect([...points.console]).toEqual([
      ['tool', 'pkg.cli:second'],
      ['other', 'pkg:other [extra]'],
    ]);
    expect([...points.gui]).toEqual([['window', 'pkg.gui:run']]);
  });

  it('give pip and easy_install the versioned names pip gives them, for the runtime', () => {
    const points = parseEntryPoints(
      '[console_scripts]\npip = pip._internal:main\npip3.11 = pip._internal:main\nmy-tool = m:f\neasy_install = setuptools:main\neasy_install-3.9 = setuptools:main\n[gui_scripts]\nwin = m:g\n',
    );
    expect(scriptSpecs(points, '3.12')).toEqual([
      'pip = pip._internal:main',
      'pip3 = pip._internal:main',
      'pip3.12 = pip._internal:main',
      'easy_install = setuptools:main',
      'easy_install-3.12 = setuptools:main',
      'my-tool = m:f',
      'win = m:g',
    ]);
  });

  it("become pip's wrapper, with the given interpreter", () => {
    expect(scriptFor('my-tool = pkg.cli:App.run [extra]', '/var/lang/bin/python3.12')).toEqual({
      ok: true,
      name: 'my-tool',
      text: [
        '#!/var/lang/bin/python3.12',
        '# -*- coding: utf-8 -*-',
        'import re',
        'import sys',
        'from pkg.cli import App',
        "if __name__ == '__main__':",
        "    sys.argv[0] = re.sub(r'(-script\\.pyw|\\.exe)?$', '', sys.argv[0])",
        '    sys.exit(App.run())',
        '',
      ].join('\n'),
    });
  });

  it('that pip refuses are refused', () => {
    expect(scriptFor('tool = pkg.cli', 'py')).toMatchObject({
      ok: false,
      why: expect.stringContaining('callable suffix') as unknown,
    });
    expect(scriptFor('tool = a:b:c', 'py')).toMatchObject({ ok: false });
    expect(scriptFor('tool = a:b [', 'py')).toMatchObject({ ok: false });
  });

  it('replace the wrappers setuptools put in .data/scripts', () => {
    const points = parseEntryPoints('[console_scripts]\ntool = m:f\n[gui_scripts]\nwin = m:g\n');
    for (const name of ['tool', 'tool.exe', 'tool-script.py', 'tool.pya', 'win', 'win.EXE'])
      expect(isEntryPointWrapper(name, points), name).toBe(true);
    for (const name of ['tool.sh', 'Tool', 'other'])
      expect(isEntryPointWrapper(name, points), name).toBe(false);
  });
});

describe('fixShebang', () => {
  const fix = (text: string) =>
    fixShebang(Buffer.from(text), '/var/lang/bin/python3.12')?.toString();
  it('rewrites a first line that starts with #!python, as pip does, ending it with \\n', () => {
    expect(fix('#!python\nprint(1)\n')).toBe('#!/var/lang/bin/python3.12\nprint(1)\n');
    expect(fix('#!pythonw -u\r\nprint(1)\r\n')).toBe('#!/var/lang/bin/python3.12\nprint(1)\r\n');
    expect(fix('#!python3')).toBe('#!/var/lang/bin/python3.12\n');
  });
  it('leaves other scripts alone', () => {
    expect(fix('#!/usr/bin/env python\n')).toBeUndefined();
    expect(fix('echo hi\n')).toBeUndefined();
    expect(fix(' #!python\n')).toBeUndefined();
  });
});

describe('RECORD', () => {
  it('is written as Python csv writes it: quoted where needed, sorted by code point, CRLF', () => {
    expect(
      formatRecord([
        ['b.py', 'sha256=x', '1'],
        ['a,comma "q".py', '', ''],
        ['\u{1F600}.py', '', ''],
        ['\uFF5E.py', '', ''],
        ['B.py', '', ''],
      ]),
    ).toBe(
      'B.py,,\r\n"a,comma ""q"".py",,\r\nb.py,sha256=x,1\r\n\uFF5E.py,,\r\n\u{1F600}.py,,\r\n',
    );
  });
  it('is read back, quoted fields and all', () => {
    expect(parseRecord('"a,comma ""q"".py",,\r\nb.py,sha256=x,1\n\nc.py\n')).toEqual([
      ['a,comma "q".py', '', ''],
      ['b.py', 'sha256=x', '1'],
      ['c.py'],
    ]);
  });
});

describe('buildTree refuses what pip refuses', () => {
  for (const [entry, what] of [
    ['bad-1.0.data/weird/x.txt', 'is in the unknown scheme "weird"'],
    ['bad-1.0.data/x.txt', 'is directly in the .data directory'],
  ] as const) {
    it(`a wheel with "${entry}"`, () =>
      withTempDir(async (dir) => {
        const wheel = makeWheel(join(dir, 'bad-1.0-py3-none-any.whl'), [
          { name: entry, data: 'x' },
          ...distInfo('bad'),
        ]);
        const failure = await failureOf(
          buildTree({
            ...installArgs(dir),
            wheels: [wheel],
            files: [],
            hashFile: makeHashFile().hashFile,
          }),
        );
        expect(failure.reason).toBe('bad-wheel');
        expect(failure.message).toContain(`"${entry}" ${what}`);
      }));
  }

  it('an entry point without a callable', () =>
    withTempDir(async (dir) => {
      const wheel = makeWheel(join(dir, 'ep-1.0-py3-none-any.whl'), [
        { name: 'ep-1.0.dist-info/entry_points.txt', data: '[console_scripts]\nep = ep.cli\n' },
        ...distInfo('ep'),
      ]);
      const failure = await failureOf(
        buildTree({
          ...installArgs(dir),
          wheels: [wheel],
          files: [],
          hashFile: makeHashFile().hashFile,
        }),
      );
      expect(failure).toMatchObject({
        reason: 'bad-entry-point',
        message:
          'Wheel ep-1.0-py3-none-any.whl declares the script entry point "ep = ep.cli", which pip refuses: a callable suffix (module:function) is required.',
      });
    }));
});

describe('pthFiles', () => {
  it('names the .pth files at the root and where each comes from', () =>
    withTempDir(async (dir) => {
      const wheel = makeWheel(join(dir, 'ns-1.0-py3-none-any.whl'), [
        { name: 'ns-1.0-nspkg.pth', data: 'import sys\n' },
        { name: 'ns/inner.pth', data: 'not at the root\n' },
        ...distInfo('ns'),
      ]);
      const manifest = await buildTree({
        ...installArgs(dir),
        wheels: [wheel],
        files: [],
        hashFile: makeHashFile().hashFile,
      });
      expect(pthFiles(manifest)).toEqual(['ns-1.0-nspkg.pth (from ns-1.0-py3-none-any.whl)']);
    }));
});

describe('exclude on the files a wheel installs', () => {
  it('matches installed paths, keeps .dist-info, and drops the rows of what it left out from RECORD', () =>
    withTempDir(async (dir) => {
      const info = 'trim-1.0.dist-info';
      const wheel = makeWheel(join(dir, 'trim-1.0-py3-none-any.whl'), [
        { name: 'trim/__init__.py', data: 'x = 1\n' },
        { name: 'trim/core.pyi', data: 'x: int\n' },
        { name: 'trim/tests/test_x.py', data: 'def test(): pass\n' },
        { name: 'trim-1.0.data/purelib/trim/tests/data.txt', data: 'from .data\n' },
        { name: 'trim-1.0.data/scripts/tool.sh', data: '#!/bin/sh\necho\n', mode: 0o100755 },
        { name: `${info}/entry_points.txt`, data: '[console_scripts]\ntrim = trim:main\n' },
        { name: `${info}/LICENSE.txt`, data: 'license\n' },
        { name: `${info}/METADATA`, data: 'Metadata-Version: 2.1\nName: trim\nVersion: 1.0\n' },
        {
          name: `${info}/WHEEL`,
          data: 'Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n',
        },
        {
          name: `${info}/RECORD`,
          data: [
            'trim/__init__.py,sha256=a,6',
            'trim/core.pyi,sha256=b,7',
            'trim/tests/test_x.py,sha256=c,17',
            'trim-1.0.data/purelib/trim/tests/data.txt,sha256=d,11',
            'trim-1.0.data/scripts/tool.sh,sha256=e,15',
            `${info}/RECORD,,`,
          ].join('\n'),
        },
      ]);
      const manifest = await buildTree({
        ...installArgs(dir),
        wheels: [wheel],
        files: [],
        hashFile: makeHashFile().hashFile,
        exclude: ['**/tests/**', '**/*.pyi', 'bin/**', '**/*.txt'],
      });
      expect(manifest.entries.map((e) => e.path)).toEqual([
        `${info}/INSTALLER`,
        `${info}/LICENSE.txt`,
        `${info}/METADATA`,
        `${info}/RECORD`,
        `${info}/WHEEL`,
        `${info}/entry_points.txt`,
        'trim/__init__.py',
      ]);
      expect(manifest.excluded).toEqual([
        { path: 'bin/tool.sh', size: 15, distInfo: info },
        { path: 'bin/trim', size: expect.any(Number) as number, distInfo: info },
        { path: 'trim/core.pyi', size: 7, distInfo: info },
        { path: 'trim/tests/data.txt', size: 11, distInfo: info },
        { path: 'trim/tests/test_x.py', size: 17, distInfo: info },
      ]);
      const record = manifest.entries.find((e) => e.path === `${info}/RECORD`);
      if (record?.source.kind !== 'file') throw new Error('RECORD is written by the installer');
      const rows = parseRecord(await readFile(record.source.file, 'utf8')).map((r) => r[0]);
      expect(rows).toEqual(
        [
          `${info}/INSTALLER`,
          `${info}/RECORD`,
          // Not listed by the wheel's RECORD, but installed: pip adds rows for them.
          `${info}/LICENSE.txt`,
          `${info}/METADATA`,
          `${info}/WHEEL`,
          `${info}/entry_points.txt`,
          'trim/__init__.py',
        ].sort(),
      );
    }));

  it('leaves a tree without patterns as it was, with no excluded list', () =>
    withTempDir(async (dir) => {
      const wheel = makeWheel(join(dir, 'keep-1.0-py3-none-any.whl'), [
        { name: 'keep/tests/t.py', data: '' },
        ...distInfo('keep'),
      ]);
      const args = { ...installArgs(dir), wheels: [wheel], files: [] };
      const plain = await buildTree({ ...args, hashFile: makeHashFile().hashFile });
      const empty = await buildTree({ ...args, hashFile: makeHashFile().hashFile, exclude: [] });
      expect(empty).toEqual(plain);
      expect(plain.excluded).toBeUndefined();
      expect(plain.entries.map((e) => e.path)).toContain('keep/tests/t.py');
    }));
});
