import { createHash } from 'node:crypto';
import { mkdir, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LbuildError, type DescribedFailure, type Failure } from '@lbuild/core';
import { buildTree, manifestUnzippedSize } from '../../src/tree/index.js';
import {
  DOS_DATE,
  DOS_TIME,
  ZIP_FORMAT_ID,
  readZipSummary,
  writeZip,
} from '../../src/zip/index.js';
import { deflateHere } from '../../src/zip/deflate.js';
import { crc32Portable, crc32 } from '../../src/zip/crc32.js';
import {
  distInfo,
  installArgs,
  makeHashFile,
  makeWheel,
  noise,
  withTempDir,
} from '../tree/fixtures.js';
import {
  PY_SOURCE,
  hasUnzip,
  makeProject,
  pythonZipReport,
  treeOf,
  unzipTest,
} from './zip-fixtures.js';

const sha256 = (data: Uint8Array | string): string =>
  createHash('sha256').update(data).digest('hex');

async function failureOf(promise: Promise<unknown>): Promise<Failure> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(LbuildError);
    return (error as LbuildError).failure;
  }
  throw new Error('expected a failure');
}

describe('writeZip', () => {
  it('writes a zip that Python zipfile and unzip read back exactly', () =>
    withTempDir(async (dir) => {
      const project = await makeProject(dir);
      const manifest = await treeOf(project);
      const output = join(dir, 'out', 'bundle.zip');
      await mkdir(join(dir, 'out'));
      const progress: number[] = [];
      const result = await writeZip(manifest, {
        output,
        cacheDir: join(dir, 'cache'),
        onProgress: (done, total) => progress.push(done / total),
      });

      const bytes = await readFile(output);
      expect(result.sha256Hex).toBe(sha256(bytes));
      expect(result.codeSha256).toBe(createHash('sha256').update(bytes).digest('base64'));
      expect(result.size).toBe(bytes.length);
      expect(result.entries).toBe(manifest.entries.length);
      expect(result.unzippedSize).toBe(
        [...project.contents.values()].reduce((sum, data) => sum + data.length, 0),
      );
      expect(progress.at(-1)).toBe(1);

      const report = pythonZipReport(output);
      expect(report.bad).toBeNull();
      expect(report.entries.map((entry) => entry.name)).toEqual(
        manifest.entries.map((entry) => entry.path),
      );
      expect(new Set(report.entries.map((entry) => entry.name))).toEqual(
        new Set(project.contents.keys()),
      );
      for (const entry of report.entries) {
        expect(entry.sha256, entry.name).toBe(sha256(project.contents.get(entry.name)!));
        expect(entry.date_time).toEqual([1980, 1, 1, 0, 0, 0]);
        expect(entry.create_system).toBe(3);
        expect(entry.extra).toBe(0);
        expect(entry.flag_bits).toBe(/^[\x20-\x7e]*$/.test(entry.name) ? 0 : 0x800);
        const executable = ['lib/tool.sh', 'bootstrap'].includes(entry.name);
        expect(entry.mode.toString(8), entry.name).toBe(executable ? '100755' : '100644');
      }
      if (hasUnzip) expect(unzipTest(output)).toMatch(/No errors detected/);

      const methods = Object.fromEntries(
        (await readZipSummary(output)).entries.map((entry) => [entry.name, entry.method]),
      );
      expect(methods).toMatchObject({
        'lib/__init__.py': 8,
        'lib/_native.so': 0,
        'lib/stored.py': 8,
        'lib/stored.bin': 0,
        'lib/empty.py': 0,
        'app/big_module.py': 8,
        'app/model.bin': 0,
        'app/empty.txt': 0,
        'handler.py': 8,
      });
      for (const entry of (await readZipSummary(output)).entries) {
        expect(entry.dosDate).toBe(DOS_DATE);
        expect(entry.dosTime).toBe(DOS_TIME);
        expect(entry.flags & 0x8).toBe(0); // no data descriptor
      }
    }));

  it('counts the work: copies wheel-deflated entries, inflates the ones without gain, deflates the rest once', () =>
    withTempDir(async (dir) => {
      const project = await makeProject(dir);
      const manifest = await treeOf(project);
      const cacheDir = join(dir, 'cache');
      const first = await writeZip(manifest, { output: join(dir, 'a.zip'), cacheDir });
      // Expected from the wheel's central directory: what the wheel deflated with gain is copied,
      // what it deflated without gain (lib/_native.so, and tiny files) is inflated and stored.
      const fromWheel = manifest.entries.flatMap((entry) =>
        entry.source.kind === 'wheel' && entry.source.method === 8 && entry.size > 0 ? [entry] : [],
      );
      const copied = fromWheel.filter(
        (entry) => entry.source.kind === 'wheel' && entry.source.compressedSize < entry.size,
      );
      expect(copied.map((entry) => entry.path)).toContain('lib/__init__.py');
      expect(fromWheel.map((entry) => entry.path)).toContain('lib/_native.so');
      expect(first).toMatchObject({
        copiedEntries: copied.length,
        inflatedEntries: fromWheel.length - copied.length,
        compressedEntries: 7, // lib/stored.py, lib/stored.bin, and the 5 non-empty project files
        reusedEntries: 0,
      });
      const second = await writeZip(manifest, { output: join(dir, 'b.zip'), cacheDir });
      expect(second).toMatchObject({
        compressedEntries: 0,
        reusedEntries: 7,
        sha256Hex: first.sha256Hex,
      });
    }));

  it('recompresses only the changed file on a rebuild', () =>
    withTempDir(async (dir) => {
      const project = await makeProject(dir);
      const cacheDir = join(dir, 'cache');
      const output = join(dir, 'bundle.zip');
      const first = await writeZip(await treeOf(project), { output, cacheDir });
      const handler = project.files.find((file) => file.zipPath === 'handler.py')!.file;
      await writeFile(handler, 'def handler(event, context):\n    return 2\n');
      const second = await writeZip(await treeOf(project), { output, cacheDir });
      expect(second.compressedEntries).toBe(1);
      expect(second.reusedEntries).toBe(first.compressedEntries - 1);
      expect(second.sha256Hex).not.toBe(first.sha256Hex);
      const report = pythonZipReport(output);
      expect(report.bad).toBeNull();
      expect(report.entries.find((entry) => entry.name === 'handler.py')!.sha256).toBe(
        sha256('def handler(event, context):\n    return 2\n'),
      );
    }));

  it('deflates in worker threads to the same bytes as on the main thread', () =>
    withTempDir(async (dir) => {
      const project = await makeProject(dir);
      const cacheDir = join(dir, 'cache');
      const output = join(dir, 'bundle.zip');
      await writeZip(await treeOf(project), { output, cacheDir, level: 9 });
      const big = project.contents.get('app/big_module.py')!;
      const expected = deflateHere(big, 9);
      const zip = await readFile(output);
      const entry = (await readZipSummary(output)).entries.find(
        (e) => e.name === 'app/big_module.py',
      )!;
      expect(entry.compressedSize).toBe(expected.length);
      expect(Buffer.from(zip).indexOf(Buffer.from(expected))).toBeGreaterThan(0);
    }));

  it('writes the same bytes whatever the level of parallelism and cache state, and different bytes per level', () =>
    withTempDir(async (dir) => {
      const project = await makeProject(dir);
      const manifest = await treeOf(project);
      const cold = await writeZip(manifest, {
        output: join(dir, 'a.zip'),
        cacheDir: join(dir, 'c1'),
      });
      const warm = await writeZip(manifest, {
        output: join(dir, 'b.zip'),
        cacheDir: join(dir, 'c1'),
      });
      const other = await writeZip(manifest, {
        output: join(dir, 'c.zip'),
        cacheDir: join(dir, 'c2'),
      });
      const level1 = await writeZip(manifest, {
        output: join(dir, 'd.zip'),
        cacheDir: join(dir, 'c1'),
        level: 1,
      });
      expect(warm.sha256Hex).toBe(cold.sha256Hex);
      expect(other.sha256Hex).toBe(cold.sha256Hex);
      expect(level1.sha256Hex).not.toBe(cold.sha256Hex);
      expect(level1.compressedEntries).toBe(cold.compressedEntries);
    }));

  it('refuses a bundle over the unzipped limit before writing anything', () =>
    withTempDir(async (dir) => {
      const project = await makeProject(dir);
      const manifest = await treeOf(project);
      const output = join(dir, 'bundle.zip');
      const location = {
        file: join(dir, 'lbuild.toml'),
        line: 3,
        key: 'bundle.fn.max-unzipped-size',
      };
      const failure = await failureOf(
        writeZip(manifest, {
          output,
          cacheDir: join(dir, 'cache'),
          maxUnzippedBytes: 1000,
          limitFrom: { table: 'bundle.fn', location },
        }),
      );
      // Data, not words: the CLI says it (the same way a deploy's refusal is said), exit 2.
      expect(failure).toEqual({
        kind: 'config',
        reason: 'zip-too-large',
        limit: 'max-unzipped-size',
        size: manifestUnzippedSize(manifest),
        max: 1000,
        table: 'bundle.fn',
        location,
      });
      expect(await readdir(dir)).not.toContain('bundle.zip');
      expect(await readdir(dir)).not.toContain('cache');
    }));

  it('leaves the previous zip intact and no temporary file when aborted mid-write', () =>
    withTempDir(async (dir) => {
      const project = await makeProject(dir);
      const manifest = await treeOf(project);
      const output = join(dir, 'bundle.zip');
      await writeZip(manifest, { output, cacheDir: join(dir, 'cache') });
      const before = await readFile(output);
      const controller = new AbortController();
      let calls = 0;
      const attempt = writeZip(manifest, {
        output,
        cacheDir: join(dir, 'cache2'),
        signal: controller.signal,
        onProgress: (done) => {
          calls = done;
          if (done === 3) controller.abort();
        },
      });
      await expect(attempt).rejects.toThrow(/abort/i);
      expect(calls).toBe(3);
      expect(await readFile(output)).toEqual(before);
      expect((await readdir(dir)).filter((name) => name.endsWith('.tmp'))).toEqual([]);
    }));

  it('fails with input-changed-during-run, keeping the previous zip, when a file changed after the tree was built', () =>
    withTempDir(async (dir) => {
      const project = await makeProject(dir);
      const manifest = await treeOf(project);
      const output = join(dir, 'bundle.zip');
      await writeZip(manifest, { output, cacheDir: join(dir, 'cache') });
      const before = await readFile(output);
      const handler = project.files.find((file) => file.zipPath === 'handler.py')!.file;
      await writeFile(handler, 'changed\n');
      const failure = await failureOf(
        writeZip(manifest, { output, cacheDir: join(dir, 'fresh-cache') }),
      );
      expect(failure.reason).toBe('input-changed-during-run');
      expect((failure as DescribedFailure).message).toBe(
        `${handler} changed while the zip was being written (it goes into the zip as "handler.py"); run lbuild again.`,
      );
      expect(await readFile(output)).toEqual(before);
      expect((await readdir(dir)).filter((name) => name.endsWith('.tmp'))).toEqual([]);
    }));

  it('fails the same way, not with a raw ENOENT, when a file was removed after the tree was built', () =>
    withTempDir(async (dir) => {
      const project = await makeProject(dir);
      const manifest = await treeOf(project);
      const output = join(dir, 'bundle.zip');
      await writeZip(manifest, { output, cacheDir: join(dir, 'cache') });
      const before = await readFile(output);
      const handler = project.files.find((file) => file.zipPath === 'handler.py')!.file;
      await rm(handler);
      const failure = await failureOf(
        writeZip(manifest, { output, cacheDir: join(dir, 'fresh-cache') }),
      );
      expect(failure.reason).toBe('input-changed-during-run');
      expect(failure.kind).toBe('build');
      expect(await readFile(output)).toEqual(before);
      expect((await readdir(dir)).filter((name) => name.endsWith('.tmp'))).toEqual([]);
    }));

  it('writes contents over the streaming threshold correctly', { timeout: 120_000 }, () =>
    withTempDir(async (dir) => {
      const big = Buffer.from(PY_SOURCE.repeat(1700)); // ~17.6 MB
      const file = join(dir, 'big.py');
      await writeFile(file, big);
      const manifest = await buildTree({
        ...installArgs(dir),
        wheels: [],
        files: [{ zipPath: 'big.py', file }],
        hashFile: makeHashFile().hashFile,
      });
      const output = join(dir, 'big.zip');
      const result = await writeZip(manifest, { output, cacheDir: join(dir, 'cache') });
      expect(big.length).toBeGreaterThan(16 * 1024 * 1024);
      expect(result.compressedEntries).toBe(1);
      const report = pythonZipReport(output);
      expect(report.bad).toBeNull();
      expect(report.entries[0]).toMatchObject({
        name: 'big.py',
        compress_type: 8,
        sha256: sha256(big),
      });
    }),
  );

  it('writes an empty zip for an empty manifest', () =>
    withTempDir(async (dir) => {
      const output = join(dir, 'empty.zip');
      const result = await writeZip(
        { version: 1, entries: [] },
        { output, cacheDir: join(dir, 'cache') },
      );
      expect(result.size).toBe(22);
      expect(pythonZipReport(output)).toEqual({ bad: null, entries: [] });
    }));

  it(
    'uses Zip64 end records for 65,535 entries or more, readable by Python',
    { timeout: 120_000 },
    () =>
      withTempDir(async (dir) => {
        const count = 65_536;
        const entries = Array.from({ length: count }, (_, i) => ({
          name: `many/f${String(i).padStart(5, '0')}.py`,
          data: '',
        }));
        const wheel = makeWheel(join(dir, 'many-1.0-py3-none-any.whl'), [
          ...entries,
          ...distInfo('many'),
        ]);
        const manifest = await buildTree({
          ...installArgs(dir),
          wheels: [wheel],
          files: [],
          hashFile: makeHashFile().hashFile,
        });
        const output = join(dir, 'many.zip');
        const result = await writeZip(manifest, { output, cacheDir: join(dir, 'cache') });
        // METADATA, WHEEL, and the INSTALLER and RECORD the installer writes.
        expect(result.entries).toBe(count + 4);
        const report = pythonZipReport(output);
        expect(report.bad).toBeNull();
        expect(report.entries).toHaveLength(count + 4);
        const tail = (await readFile(output)).subarray(-98);
        expect(tail.readUInt32LE(0)).toBe(0x06064b50); // Zip64 end of central directory record
        expect(tail.readUInt32LE(56)).toBe(0x07064b50); // its locator
        expect(tail.readUInt16LE(76 + 8)).toBe(0xffff);
        if (hasUnzip) expect(unzipTest(output)).toMatch(/No errors detected/);
      }),
  );

  it('names its format', () => {
    expect(ZIP_FORMAT_ID).toBe('lbuild-zip/1 fflate-0.8.3');
  });

  it('computes CRC-32 the same natively and in JavaScript', () => {
    const data = noise(100_003, 5);
    expect(crc32Portable(data)).toBe(crc32(data));
    expect(crc32Portable(data.subarray(50), crc32Portable(data.subarray(0, 50)))).toBe(crc32(data));
    expect(crc32Portable(Buffer.from('123456789'))).toBe(0xcbf43926);
  });

  it('keeps the zip file mode independent of the content (0644 before umask)', () =>
    withTempDir(async (dir) => {
      const output = join(dir, 'x.zip');
      await writeZip({ version: 1, entries: [] }, { output, cacheDir: join(dir, 'cache') });
      expect((await stat(output)).mode & 0o111).toBe(0);
    }));
});
