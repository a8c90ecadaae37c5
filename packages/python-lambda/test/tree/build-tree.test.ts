import { createHash } from 'node:crypto';
import { chmod, mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { crc32 } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { LbuildError, type DescribedFailure } from '@lbuild/core';
import { buildTree } from '../../src/tree/index.js';
import type { TreeManifest } from '../../src/tree/index.js';
import { zipContent } from '../zip/zip-fixtures.js';
import { distInfo, installArgs, makeHashFile, makeWheel, withTempDir } from './fixtures.js';

async function failureOf(
  promise: Promise<unknown>,
): Promise<{ reason: string; message: string; kind: string }> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(LbuildError);
    return (error as LbuildError).failure as DescribedFailure;
  }
  throw new Error('expected a failure');
}

function paths(manifest: TreeManifest): string[] {
  return manifest.entries.map((entry) => entry.path);
}

describe('buildTree', () => {
  it('lists a wheel as pip install --target lays it out: .data schemes, INSTALLER, RECORD', () =>
    withTempDir(async (dir) => {
      const pure = makeWheel(join(dir, 'pure-1.0-py3-none-any.whl'), [
        { name: 'pure/', mode: 0o040755 },
        { name: 'pure/__init__.py', data: 'X = 1\n' },
        { name: 'pure/data.bin', data: 'stored', store: true },
        ...distInfo('pure'),
      ]);
      const mixed = makeWheel(join(dir, 'mixed_lib-1.0-cp311-cp311-linux_x86_64.whl'), [
        { name: 'mixed_lib-1.0.data/purelib/mixed_pure.py', data: 'A = 1\n' },
        { name: 'mixed_lib-1.0.data/platlib/mixed/_speed.so', data: 'ELF...' },
        { name: 'mixed_lib-1.0.data/scripts/mixed-cli', data: '#!python\n', mode: 0o100755 },
        { name: 'mixed_lib-1.0.data/scripts/plain.sh', data: '#!/bin/sh\n', mode: 0o100755 },
        { name: 'mixed_lib-1.0.data/headers/mixed.h', data: '/* h */' },
        { name: 'mixed_lib-1.0.data/data/share/mixed.txt', data: 'doc' },
        { name: 'mixed_lib-1.0.data/data/lib/python/via_data.py', data: 'D = 1\n' },
        { name: 'mixed_lib-1.0.data/data/lib/dropped.txt', data: 'pip drops it' },
        ...distInfo('mixed_lib'),
      ]);
      const { hashFile } = makeHashFile();
      const manifest = await buildTree({
        ...installArgs(dir),
        wheels: [pure, mixed],
        files: [],
        hashFile,
      });
      expect(paths(manifest)).toEqual([
        'bin/mixed-cli',
        'bin/plain.sh',
        'include/python/mixed-lib/mixed.h',
        'mixed/_speed.so',
        'mixed_lib-1.0.dist-info/INSTALLER',
        'mixed_lib-1.0.dist-info/METADATA',
        'mixed_lib-1.0.dist-info/RECORD',
        'mixed_lib-1.0.dist-info/WHEEL',
        'mixed_pure.py',
        'pure-1.0.dist-info/INSTALLER',
        'pure-1.0.dist-info/METADATA',
        'pure-1.0.dist-info/RECORD',
        'pure-1.0.dist-info/WHEEL',
        'pure/__init__.py',
        'pure/data.bin',
        'share/mixed.txt',
        'via_data.py',
      ]);
      const byPath = new Map(manifest.entries.map((entry) => [entry.path, entry]));
      const written = async (path: string): Promise<string> => {
        const entry = byPath.get(path)!;
        if (entry.source.kind !== 'file') throw new Error(`${path} is not written`);
        return readFile(entry.source.file, 'utf8');
      };
      // A #!python script gets the runtime's interpreter; another script is the wheel's entry.
      expect(await written('bin/mixed-cli')).toBe('#!/var/lang/bin/python3.12\n');
      expect(byPath.get('bin/mixed-cli')).toMatchObject({
        mode: 0o755,
        source: { origin: expect.stringContaining('with the runtime') as unknown },
      });
      expect(byPath.get('bin/plain.sh')!.source).toMatchObject({
        kind: 'wheel',
        entryName: 'mixed_lib-1.0.data/scripts/plain.sh',
      });
      expect(await written('pure-1.0.dist-info/INSTALLER')).toBe('lbuild\n');
      // The wheel's RECORD was empty: each installed file gets a row, INSTALLER its hash.
      expect(await written('mixed_lib-1.0.dist-info/RECORD')).toBe(
        [
          'bin/mixed-cli,,',
          'bin/plain.sh,,',
          'include/python/mixed-lib/mixed.h,,',
          'mixed/_speed.so,,',
          `mixed_lib-1.0.dist-info/INSTALLER,sha256=${createHash('sha256').update('lbuild\n').digest('base64url')},7`,
          'mixed_lib-1.0.dist-info/METADATA,,',
          'mixed_lib-1.0.dist-info/RECORD,,',
          'mixed_lib-1.0.dist-info/WHEEL,,',
          'mixed_pure.py,,',
          'share/mixed.txt,,',
          'via_data.py,,',
          '',
        ].join('\r\n'),
      );
      // Written files are kept by content in writtenDir, and only those the tree lists.
      const kept = await readdir(installArgs(dir).writtenDir);
      expect(kept.sort()).toEqual(
        manifest.entries
          .flatMap((entry) => (entry.source.kind === 'file' ? [basename(entry.source.file)] : []))
          .filter((name, i, all) => all.indexOf(name) === i)
          .sort(),
      );
      const init = manifest.entries.find((entry) => entry.path === 'pure/__init__.py')!;
      expect(init).toMatchObject({
        mode: 0o644,
        size: 6,
        source: { kind: 'wheel', wheel: pure, entryName: 'pure/__init__.py', method: 8 },
      });
      expect(init.crc32).toBe(crc32(Buffer.from('X = 1\n'))); // from the central directory
      expect(init.contentKey).toMatch(/^wheel:[0-9a-f]{64}$/);
      expect(
        manifest.entries.find((entry) => entry.path === 'pure/data.bin')!.source,
      ).toMatchObject({ method: 0 });
      const speed = manifest.entries.find((entry) => entry.path === 'mixed/_speed.so')!;
      expect(speed.source).toMatchObject({
        entryName: 'mixed_lib-1.0.data/platlib/mixed/_speed.so',
      });
    }));

  it('keeps executable bits as 0755 and everything else as 0644', () =>
    withTempDir(async (dir) => {
      const wheel = makeWheel(join(dir, 'tool-1.0-py3-none-any.whl'), [
        { name: 'tool/run.sh', data: '#!/bin/sh\n', mode: 0o100700 },
        { name: 'tool/plain.py', data: 'x', mode: 0o100600 },
        { name: 'tool/group.sh', data: 'y', mode: 0o100610 },
        ...distInfo('tool'),
      ]);
      const script = join(dir, 'bootstrap');
      const handler = join(dir, 'handler.py');
      await writeFile(script, '#!/bin/sh\n');
      await writeFile(handler, 'def handler(e, c): return 1\n');
      await chmod(script, 0o744);
      await chmod(handler, 0o600);
      const manifest = await buildTree({
        ...installArgs(dir),
        wheels: [wheel],
        files: [
          { zipPath: 'bootstrap', file: script },
          { zipPath: 'handler.py', file: handler },
        ],
        hashFile: makeHashFile().hashFile,
      });
      const modes = Object.fromEntries(
        manifest.entries.map((entry) => [entry.path, entry.mode.toString(8)]),
      );
      expect(modes).toMatchObject({
        bootstrap: '755',
        'handler.py': '644',
        'tool/run.sh': '755',
        'tool/plain.py': '644',
        'tool/group.sh': '755',
      });
      expect(manifest.entries.find((entry) => entry.path === 'handler.py')).toEqual({
        path: 'handler.py',
        mode: 0o644,
        size: 28,
        crc32: null,
        contentKey: expect.stringMatching(/^[0-9a-f]{16}$/),
        source: { kind: 'file', file: handler },
      });
    }));

  it('sorts entries bytewise by UTF-8 path, not by UTF-16 code units or locale', () =>
    withTempDir(async (dir) => {
      const names = [
        'b.py',
        'B.py',
        'a/z.py',
        'a.py',
        'é.py',
        'z.py',
        '\u{1F600}.py',
        '\uFF5E.py',
        'a-b.py',
      ];
      const files = [];
      for (const [index, name] of names.entries()) {
        const file = join(dir, `f${String(index)}`);
        await writeFile(file, name);
        files.push({ zipPath: name, file });
      }
      const manifest = await buildTree({
        ...installArgs(dir),
        wheels: [],
        files,
        hashFile: makeHashFile().hashFile,
      });
      const expected = [...names].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
      expect(paths(manifest)).toEqual(expected);
      // U+FF5E sorts before U+1F600 in UTF-8 but after it in UTF-16: the order is bytewise.
      expect(paths(manifest).indexOf('\uFF5E.py')).toBeLessThan(
        paths(manifest).indexOf('\u{1F600}.py'),
      );
    }));

  it('hashes each file once through hashFile and is stable', () =>
    withTempDir(async (dir) => {
      const wheel = makeWheel(join(dir, 'p-1.0-py3-none-any.whl'), [
        { name: 'p/__init__.py', data: '' },
        ...distInfo('p'),
      ]);
      const file = join(dir, 'app.py');
      await writeFile(file, 'print(1)\n');
      const { hashFile, calls } = makeHashFile();
      const args = {
        ...installArgs(dir),
        wheels: [wheel],
        files: [{ zipPath: 'app.py', file }],
        hashFile,
      };
      const first = await buildTree(args);
      const second = await buildTree(args);
      expect(JSON.stringify(second)).toBe(JSON.stringify(first));
      // The wheel, app.py, and the INSTALLER and RECORD the installer wrote.
      expect([...calls.values()]).toEqual([1, 1, 1, 1]);
      expect(JSON.parse(JSON.stringify(first))).toEqual(first);
    }));

  it('gives the same zip content for the same content in another directory', () =>
    withTempDir(async (root) => {
      const digests = [];
      for (const sub of ['one', 'two/deeper']) {
        const dir = join(root, sub);
        await mkdir(dir, { recursive: true });
        const wheel = makeWheel(join(dir, 'p-1.0-py3-none-any.whl'), [
          { name: 'p/__init__.py', data: 'v = 2\n' },
          ...distInfo('p'),
        ]);
        const file = join(dir, 'app.py');
        await writeFile(file, 'print(1)\n');
        const manifest = await buildTree({
          ...installArgs(dir),
          wheels: [wheel],
          files: [{ zipPath: 'app.py', file }],
          hashFile: makeHashFile().hashFile,
        });
        digests.push(zipContent(manifest));
      }
      expect(digests[0]).toEqual(digests[1]);
    }));

  it('marks the entries of the wheels to recompress, and only those', () =>
    withTempDir(async (dir) => {
      const local = makeWheel(join(dir, 'local-1.0-py3-none-any.whl'), [
        { name: 'local/__init__.py', data: 'L = 1\n' },
        { name: 'local/stored.py', data: 'S = 1\n', store: true },
        ...distInfo('local'),
      ]);
      const index = makeWheel(join(dir, 'index-1.0-py3-none-any.whl'), [
        { name: 'index/__init__.py', data: 'I = 1\n' },
        ...distInfo('index'),
      ]);
      const { hashFile } = makeHashFile();
      const plain = await buildTree({
        ...installArgs(dir),
        wheels: [local, index],
        files: [],
        hashFile,
      });
      const marked = await buildTree({
        ...installArgs(dir),
        wheels: [local, index],
        files: [],
        hashFile,
        // A path that is not among the wheels is ignored.
        recompressWheels: new Set([local, join(dir, 'other-1.0-py3-none-any.whl')]),
      });
      expect(paths(marked)).toEqual(paths(plain));
      for (const [at, entry] of marked.entries.entries()) {
        const before = plain.entries[at]!;
        // INSTALLER and RECORD are written by the installer: never from a wheel, never marked.
        expect(entry.source.kind, entry.path).toBe(
          /\/(INSTALLER|RECORD)$/.test(entry.path) ? 'file' : 'wheel',
        );
        if (entry.source.kind !== 'wheel') continue;
        const fromLocal = entry.source.wheel === local;
        expect(entry.source.recompress, entry.path).toBe(fromLocal ? true : undefined);
        expect('recompress' in entry.source, entry.path).toBe(fromLocal);
        // Nothing else changes: the same content, key and source.
        const source = { ...entry.source };
        delete source.recompress;
        expect({ ...entry, source }).toEqual(before);
      }
      expect(plain.entries.some((entry) => 'recompress' in entry.source)).toBe(false);
      // It survives the manifest's JSON round trip (the tree target writes it to disk).
      expect(JSON.parse(JSON.stringify(marked))).toEqual(marked);
    }));

  describe('refuses unsafe wheels', () => {
    const cases: [string, string, string][] = [
      [
        '../evil.py',
        'rogue-1.0-py3-none-any.whl',
        'Wheel rogue-1.0-py3-none-any.whl has an unsafe entry "../evil.py": its path escapes the bundle root.',
      ],
      [
        'rogue/../../evil.py',
        'rogue-1.0-py3-none-any.whl',
        'Wheel rogue-1.0-py3-none-any.whl has an unsafe entry "rogue/../../evil.py": its path escapes the bundle root.',
      ],
      [
        '/etc/passwd',
        'rogue-1.0-py3-none-any.whl',
        'Wheel rogue-1.0-py3-none-any.whl has an unsafe entry "/etc/passwd": it is an absolute path.',
      ],
      [
        'C:/Windows/evil.py',
        'rogue-1.0-py3-none-any.whl',
        'Wheel rogue-1.0-py3-none-any.whl has an unsafe entry "C:/Windows/evil.py": its path starts with a drive letter.',
      ],
      [
        '..\\evil.py',
        'rogue-1.0-py3-none-any.whl',
        'Wheel rogue-1.0-py3-none-any.whl has an unsafe entry "..\\evil.py": its path contains a backslash.',
      ],
      [
        'rogue-1.0.data/purelib/../../evil.py',
        'rogue-1.0-py3-none-any.whl',
        'Wheel rogue-1.0-py3-none-any.whl has an unsafe entry "rogue-1.0.data/purelib/../../evil.py": its path escapes the bundle root.',
      ],
    ];
    for (const [name, wheelName, message] of cases) {
      it(`entry ${JSON.stringify(name)}`, () =>
        withTempDir(async (dir) => {
          const wheel = makeWheel(join(dir, wheelName), [
            { name, data: 'import os\n' },
            ...distInfo('rogue'),
          ]);
          const failure = await failureOf(
            buildTree({
              ...installArgs(dir),
              wheels: [wheel],
              files: [],
              hashFile: makeHashFile().hashFile,
            }),
          );
          expect(failure).toEqual({
            reason: 'unsafe-wheel-entry',
            kind: 'build',
            message,
            hint: 'lbuild does not install it. Rebuild the wheel, or report it to whoever published it.',
          });
        }));
    }

    it('a symlink entry', () =>
      withTempDir(async (dir) => {
        const wheel = makeWheel(join(dir, 'link-1.0-py3-none-any.whl'), [
          { name: 'link/secrets', data: '/etc/shadow', mode: 0o120777 },
          ...distInfo('link'),
        ]);
        const failure = await failureOf(
          buildTree({
            ...installArgs(dir),
            wheels: [wheel],
            files: [],
            hashFile: makeHashFile().hashFile,
          }),
        );
        expect(failure.reason).toBe('unsafe-wheel-entry');
        expect(failure.message).toBe(
          'Wheel link-1.0-py3-none-any.whl has an unsafe entry "link/secrets": it is a symbolic link.',
        );
      }));

    it('a wheel that is not a zip', () =>
      withTempDir(async (dir) => {
        const wheel = join(dir, 'broken-1.0-py3-none-any.whl');
        await writeFile(wheel, 'not a zip at all');
        const failure = await failureOf(
          buildTree({
            ...installArgs(dir),
            wheels: [wheel],
            files: [],
            hashFile: makeHashFile().hashFile,
          }),
        );
        expect(failure.reason).toBe('bad-wheel');
        expect(failure.message).toMatch(/^Wheel broken-1\.0-py3-none-any\.whl cannot be read: /);
      }));
  });

  describe('duplicate zip paths', () => {
    it('accepts the same content from a wheel and a project file, keeping the project file', () =>
      withTempDir(async (dir) => {
        const wheel = makeWheel(join(dir, 'p-1.0-py3-none-any.whl'), [
          { name: 'shared.py', data: 'SAME = 1\n' },
          ...distInfo('p'),
        ]);
        const file = join(dir, 'shared.py');
        await writeFile(file, 'SAME = 1\n');
        const manifest = await buildTree({
          ...installArgs(dir),
          wheels: [wheel],
          files: [{ zipPath: 'shared.py', file }],
          hashFile: makeHashFile().hashFile,
        });
        expect(
          manifest.entries
            .filter((entry) => entry.path === 'shared.py')
            .map((entry) => entry.source.kind),
        ).toEqual(['file']);
      }));

    it('refuses a project file that would replace a wheel file', () =>
      withTempDir(async (dir) => {
        const wheel = makeWheel(join(dir, 'requests-1.0-py3-none-any.whl'), [
          { name: 'requests/__init__.py', data: 'real = True\n' },
          ...distInfo('requests'),
        ]);
        const file = join(dir, 'mine.py');
        await writeFile(file, 'real = False\n');
        const failure = await failureOf(
          buildTree({
            ...installArgs(dir),
            wheels: [wheel],
            files: [{ zipPath: 'requests/__init__.py', file }],
            hashFile: makeHashFile().hashFile,
          }),
        );
        expect(failure).toEqual({
          reason: 'duplicate-zip-path',
          kind: 'build',
          message: `Two sources put different content at "requests/__init__.py": project file ${file} and wheel requests-1.0-py3-none-any.whl (entry "requests/__init__.py").`,
          hint: 'Exclude the project file from the bundle, or rename it; lbuild never lets one silently replace the other.',
        });
      }));

    it('refuses two wheels with different content at one path, whatever the argument order', () =>
      withTempDir(async (dir) => {
        const a = makeWheel(join(dir, 'a-1.0-py3-none-any.whl'), [
          { name: 'common/util.py', data: 'A\n' },
          ...distInfo('a'),
        ]);
        const b = makeWheel(join(dir, 'b-1.0-py3-none-any.whl'), [
          { name: 'common/util.py', data: 'B\n' },
          ...distInfo('b'),
        ]);
        const message =
          'Two sources put different content at "common/util.py": wheel a-1.0-py3-none-any.whl (entry "common/util.py") and wheel b-1.0-py3-none-any.whl (entry "common/util.py").';
        for (const wheels of [
          [a, b],
          [b, a],
        ]) {
          const failure = await failureOf(
            buildTree({
              ...installArgs(dir),
              wheels,
              files: [],
              hashFile: makeHashFile().hashFile,
            }),
          );
          expect(failure.reason).toBe('duplicate-zip-path');
          expect(failure.message).toBe(message);
        }
      }));

    it('accepts two wheels with the same bytes at one path (even compressed differently)', () =>
      withTempDir(async (dir) => {
        const a = makeWheel(join(dir, 'a-1.0-py3-none-any.whl'), [
          { name: 'ns/__init__.py', data: '# ns\n' },
          ...distInfo('a'),
        ]);
        const b = makeWheel(join(dir, 'b-1.0-py3-none-any.whl'), [
          { name: 'ns/__init__.py', data: '# ns\n', store: true },
          ...distInfo('b'),
        ]);
        const manifest = await buildTree({
          ...installArgs(dir),
          wheels: [b, a],
          files: [],
          hashFile: makeHashFile().hashFile,
        });
        const kept = manifest.entries.filter((entry) => entry.path === 'ns/__init__.py');
        expect(kept).toHaveLength(1);
        expect(kept[0]!.source).toMatchObject({ wheel: a });
      }));

    it('refuses a path that is a file in one source and a directory in another', () =>
      withTempDir(async (dir) => {
        const wheel = makeWheel(join(dir, 'p-1.0-py3-none-any.whl'), [
          { name: 'p/config/x.py', data: 'x' },
          ...distInfo('p'),
        ]);
        const file = join(dir, 'config');
        await writeFile(file, 'c');
        const failure = await failureOf(
          buildTree({
            ...installArgs(dir),
            wheels: [wheel],
            files: [{ zipPath: 'p/config', file }],
            hashFile: makeHashFile().hashFile,
          }),
        );
        expect(failure.reason).toBe('zip-path-conflict');
        expect(failure.message).toBe(
          `"p/config" is a file in project file ${file} but a directory in wheel p-1.0-py3-none-any.whl (entry "p/config/x.py") ("p/config/x.py").`,
        );
      }));
  });

  it('refuses unsafe zip paths for project files', () =>
    withTempDir(async (dir) => {
      const file = join(dir, 'x.py');
      await writeFile(file, 'x');
      const failure = await failureOf(
        buildTree({
          ...installArgs(dir),
          wheels: [],
          files: [{ zipPath: '../x.py', file }],
          hashFile: makeHashFile().hashFile,
        }),
      );
      expect(failure.reason).toBe('unsafe-zip-path');
      expect(failure.message).toBe(
        `The zip path "../x.py" of ${file} is unsafe: its path escapes the bundle root.`,
      );
    }));

  it('stops when aborted', () =>
    withTempDir(async (dir) => {
      const wheel = makeWheel(join(dir, 'p-1.0-py3-none-any.whl'), [
        { name: 'p/a.py', data: 'a' },
        ...distInfo('p'),
      ]);
      const controller = new AbortController();
      controller.abort();
      await expect(
        buildTree({
          ...installArgs(dir),
          wheels: [wheel],
          files: [],
          hashFile: makeHashFile().hashFile,
          signal: controller.signal,
        }),
      ).rejects.toThrow(/abort/i);
    }));
});
