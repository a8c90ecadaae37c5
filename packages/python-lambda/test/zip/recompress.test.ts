import { createHash } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { chmod, mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { LbuildError, type DescribedFailure } from '@lbuild/core';
import { buildTree } from '../../src/tree/index.js';
import type { TreeManifest } from '../../src/tree/index.js';
import { writeZip } from '../../src/zip/index.js';
import type { ZipResult } from '../../src/zip/index.js';
import { DeflatePool } from '../../src/zip/deflate.js';
import type { WheelSpecEntry } from '../tree/fixtures.js';
import {
  distInfo,
  installArgs,
  makeHashFile,
  makeWheel,
  noise,
  wheelEntriesOnly,
  withTempDir,
} from '../tree/fixtures.js';
import { PY_SOURCE, hasUnzip, pythonZipReport, unzipTest } from './zip-fixtures.js';

/*
 * A wheel that lbuild builds from a local project is deflated by the build machine's zlib, so on
 * another machine the same content may come in other deflate bytes. Here the "machines" are
 * Python's zlib at levels 0, 1 and 9: the same entries, different deflate streams (level 0 even
 * turns every entry into one the wheel deflated without gain).
 */

const WHEEL = 'loc-1.0-py3-none-any.whl';

const sha256 = (data: Uint8Array | string): string =>
  createHash('sha256').update(data).digest('hex');

function localEntries(): WheelSpecEntry[] {
  return [
    { name: 'loc/__init__.py', data: PY_SOURCE },
    // Over the writer's worker threshold (64 KiB): deflated in a worker.
    { name: 'loc/big.py', data: PY_SOURCE.repeat(30) },
    // Incompressible: deflated without gain by any level, stored by fflate too.
    { name: 'loc/_native.so', data: noise(100_000, 7) },
    { name: 'loc/stored.py', data: `${PY_SOURCE}# stored\n`, store: true },
    { name: 'loc/empty.py', data: '' },
    { name: 'loc/tool.sh', data: '#!/bin/sh\necho hi\n', mode: 0o100755 },
    // Many small misses, deflated on the main thread beside big.py's worker.
    ...Array.from({ length: 12 }, (_, i) => ({
      name: `loc/mod_${String(i).padStart(2, '0')}.py`,
      data: `${PY_SOURCE.slice(0, 2000 + 300 * i)}\nVALUE = ${String(i)}\n`,
    })),
    { name: 'loc-1.0.data/purelib/loc_extra.py', data: 'EXTRA = 1\n'.repeat(50) },
    ...distInfo('loc'),
  ];
}

/** The local wheel as the "machine" whose zlib deflates at `level` built it. */
function machineWheel(dir: string, level: number, entries: WheelSpecEntry[]): string {
  const machine = join(dir, `machine-${String(level)}`);
  mkdirSync(machine, { recursive: true });
  return makeWheel(join(machine, WHEEL), entries, { compressLevel: level });
}

/** Where each entry of `entries` lands in the bundle, with its content. */
function bundleContents(entries: WheelSpecEntry[]): Map<string, Buffer> {
  return new Map(
    // RECORD is the installer's (see wheelEntriesOnly).
    entries
      .filter((entry) => !entry.name.endsWith('.dist-info/RECORD'))
      .map((entry) => [
        entry.name.replace(/^loc-1\.0\.data\/purelib\//, ''),
        Buffer.from(entry.data ?? ''),
      ]),
  );
}

async function tree(wheels: string[], recompress: string[]): Promise<TreeManifest> {
  return wheelEntriesOnly(
    await buildTree({
      ...installArgs(dirname(wheels[0] ?? '.')),
      wheels,
      files: [],
      hashFile: makeHashFile().hashFile,
      recompressWheels: new Set(recompress),
    }),
  );
}

function nonEmpty(manifest: TreeManifest, wheel: string): number {
  return manifest.entries.filter(
    (entry) => entry.source.kind === 'wheel' && entry.source.wheel === wheel && entry.size > 0,
  ).length;
}

/** Flips a bit of an entry's CRC-32 in a zip's central directory and local header. */
async function corruptCrc(zip: string, entryName: string): Promise<void> {
  const bytes = await readFile(zip);
  const end = bytes.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  const count = bytes.readUInt16LE(end + 10);
  let at = bytes.readUInt32LE(end + 16);
  for (let i = 0; i < count; i++) {
    expect(bytes.readUInt32LE(at)).toBe(0x02014b50);
    const nameLength = bytes.readUInt16LE(at + 28);
    const name = bytes.subarray(at + 46, at + 46 + nameLength).toString('utf8');
    if (name === entryName) {
      const local = bytes.readUInt32LE(at + 42);
      bytes.writeUInt32LE((bytes.readUInt32LE(at + 16) ^ 1) >>> 0, at + 16);
      bytes.writeUInt32LE((bytes.readUInt32LE(local + 14) ^ 1) >>> 0, local + 14);
      await writeFile(zip, bytes);
      return;
    }
    at += 46 + nameLength + bytes.readUInt16LE(at + 30) + bytes.readUInt16LE(at + 32);
  }
  throw new Error(`no entry ${entryName} in ${zip}`);
}

/** The same entries as project files (same zip paths, same modes). */
async function asProjectFiles(
  dir: string,
  entries: WheelSpecEntry[],
): Promise<{ zipPath: string; file: string }[]> {
  const files: { zipPath: string; file: string }[] = [];
  for (const [zipPath, data] of bundleContents(entries)) {
    const file = join(dir, zipPath);
    await mkdir(dirname(file), { recursive: true });
    await writeFile(file, data);
    const spec = entries.find((entry) => entry.name.endsWith(zipPath));
    await chmod(file, (spec?.mode ?? 0o100644) & 0o777);
    files.push({ zipPath, file });
  }
  return files;
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('recompressed wheels', () => {
  it('give byte-identical zips whatever deflate bytes the wheel came with', () =>
    withTempDir(async (dir) => {
      const entries = localEntries();
      // A wheel from an index: the same file on every machine, never recompressed.
      const index = makeWheel(join(dir, 'idx-1.0-py3-none-any.whl'), [
        { name: 'idx/__init__.py', data: PY_SOURCE.replaceAll('value', 'item') },
        { name: 'idx/_speed.so', data: noise(20_000, 3) },
        ...distInfo('idx'),
      ]);
      const levels = [1, 9, 0];
      const wheels = levels.map((level) => machineWheel(dir, level, entries));
      // The premise: the same content in different deflate bytes.
      const wheelBytes = await Promise.all(wheels.map((wheel) => readFile(wheel)));
      expect(new Set(wheelBytes.map((bytes) => sha256(bytes))).size).toBe(3);

      const runPool = vi.spyOn(DeflatePool.prototype, 'run');
      const marked: ZipResult[] = [];
      const plain: ZipResult[] = [];
      for (const [i, wheel] of wheels.entries()) {
        const manifest = await tree([wheel, index], [wheel]);
        const withoutFlag = await tree([wheel, index], []);
        const sizes = (m: TreeManifest): number[] =>
          m.entries.flatMap((e) => (e.source.kind === 'wheel' ? [e.source.compressedSize] : []));
        expect(sizes(manifest)).toEqual(sizes(withoutFlag));
        const cacheDir = join(dir, `cache-${String(i)}`);
        const output = join(dir, `marked-${String(i)}.zip`);
        runPool.mockClear();
        const result = await writeZip(manifest, { output, cacheDir });
        marked.push(result);
        const recompressed = nonEmpty(manifest, wheel);
        // The index wheel's entries are written as before: copied when the wheel deflated them
        // with gain, else inflated and stored.
        const fromIndex = manifest.entries.flatMap((e) =>
          e.source.kind === 'wheel' && e.source.wheel === index && e.size > 0
            ? [{ size: e.size, ...e.source }]
            : [],
        );
        const copied = fromIndex.filter((e) => e.method === 8 && e.compressedSize < e.size);
        expect(copied.length).toBeGreaterThan(0);
        expect(copied.length).toBeLessThan(fromIndex.length); // idx/_speed.so
        expect(result).toMatchObject({
          recompressedEntries: recompressed,
          compressedEntries: recompressed,
          reusedEntries: 0,
          copiedEntries: copied.length,
          inflatedEntries: fromIndex.length - copied.length,
        });
        // Both paths ran: the large entry and the later small ones in workers, the first few
        // small ones on the main thread. (loc/stored.py, which the wheel stored, is not inflated.)
        const inWorkers = runPool.mock.calls.filter(([job]) => job.deflatedSize !== undefined);
        expect(inWorkers.length).toBeGreaterThan(1);
        expect(inWorkers.length).toBeLessThan(recompressed - 1);
        expect(inWorkers.some(([job]) => job.size > 64 * 1024)).toBe(true);

        const report = pythonZipReport(output);
        expect(report.bad).toBeNull();
        const contents = bundleContents(entries);
        for (const entry of report.entries) {
          if (entry.name.startsWith('idx')) continue;
          expect(entry.sha256, entry.name).toBe(sha256(contents.get(entry.name)!));
          expect(entry.mode.toString(8), entry.name).toBe(
            entry.name === 'loc/tool.sh' ? '100755' : '100644',
          );
        }
        expect(report.entries.filter((e) => e.name.startsWith('loc')).length).toBe(contents.size);
        if (hasUnzip) expect(unzipTest(output)).toMatch(/No errors detected/);

        // Warm: every recompressed entry from the cache, the same bytes.
        const warm = await writeZip(manifest, { output: join(dir, 'warm.zip'), cacheDir });
        expect(warm).toMatchObject({
          sha256Hex: result.sha256Hex,
          compressedEntries: 0,
          reusedEntries: recompressed,
        });

        plain.push(
          await writeZip(withoutFlag, {
            output: join(dir, `plain-${String(i)}.zip`),
            cacheDir: join(dir, `plain-cache-${String(i)}`),
          }),
        );
      }
      expect(new Set(marked.map((result) => result.sha256Hex)).size).toBe(1);
      // Without the flag the wheels' deflate bytes reach the zip: it differs per "machine".
      expect(new Set(plain.map((result) => result.sha256Hex)).size).toBe(3);
      expect(plain.map((result) => result.sha256Hex)).not.toContain(marked[0]!.sha256Hex);

      // The bytes are those of the same content given as project files.
      const files = await asProjectFiles(join(dir, 'project'), entries);
      const fromFiles = await writeZip(
        wheelEntriesOnly(
          await buildTree({
            ...installArgs(dir),
            wheels: [index],
            files,
            hashFile: makeHashFile().hashFile,
          }),
        ),
        { output: join(dir, 'files.zip'), cacheDir: join(dir, 'files-cache') },
      );
      expect(fromFiles.sha256Hex).toBe(marked[0]!.sha256Hex);
    }));

  it(
    'give byte-identical zips for entries over the streaming threshold',
    { timeout: 180_000 },
    () =>
      withTempDir(async (dir) => {
        const entries: WheelSpecEntry[] = [
          // ~17.6 MB of text: inflated as a stream, deflated in STREAM_CHUNK pieces.
          { name: 'loc/huge.py', data: PY_SOURCE.repeat(1700) },
          // ~9 MB of noise: over the writer's sync-inflate limit, stored by fflate.
          { name: 'loc/blob.bin', data: noise(9_000_000, 5) },
          ...distInfo('loc'),
        ];
        const hashes: string[] = [];
        const plain: string[] = [];
        for (const level of [1, 9]) {
          const wheel = machineWheel(dir, level, entries);
          const output = join(dir, `marked-${String(level)}.zip`);
          const result = await writeZip(await tree([wheel], [wheel]), {
            output,
            cacheDir: join(dir, `cache-${String(level)}`),
          });
          expect(result).toMatchObject({ copiedEntries: 0, recompressedEntries: 4 });
          hashes.push(result.sha256Hex);
          const report = pythonZipReport(output);
          expect(report.bad).toBeNull();
          const contents = bundleContents(entries);
          for (const entry of report.entries)
            expect(entry.sha256, entry.name).toBe(sha256(contents.get(entry.name)!));
          expect(
            Object.fromEntries(report.entries.map((entry) => [entry.name, entry.compress_type])),
          ).toMatchObject({ 'loc/huge.py': 8, 'loc/blob.bin': 0 });
          if (hasUnzip) expect(unzipTest(output)).toMatch(/No errors detected/);
          plain.push(
            (
              await writeZip(await tree([wheel], []), {
                output: join(dir, `plain-${String(level)}.zip`),
                cacheDir: join(dir, `plain-cache-${String(level)}`),
              })
            ).sha256Hex,
          );
        }
        expect(hashes[0]).toBe(hashes[1]);
        expect(plain[0]).not.toBe(plain[1]);
        const files = await asProjectFiles(join(dir, 'project'), entries);
        const fromFiles = await writeZip(
          await buildTree({
            ...installArgs(dir),
            wheels: [],
            files,
            hashFile: makeHashFile().hashFile,
          }),
          { output: join(dir, 'files.zip'), cacheDir: join(dir, 'files-cache') },
        );
        expect(fromFiles.sha256Hex).toBe(hashes[0]);
      }),
  );

  describe('fail with source-changed, keeping the previous zip, on a CRC-32 that does not match', () => {
    for (const [entryName, where] of [
      ['loc/__init__.py', 'on the main thread'],
      ['loc/big.py', 'in a worker'],
    ] as const) {
      it(`${entryName} (${where})`, () =>
        withTempDir(async (dir) => {
          const wheel = makeWheel(join(dir, WHEEL), localEntries(), { compressLevel: 1 });
          const output = join(dir, 'bundle.zip');
          await writeZip(await tree([wheel], [wheel]), { output, cacheDir: join(dir, 'c0') });
          const before = await readFile(output);
          await corruptCrc(wheel, entryName);
          const manifest = await tree([wheel], [wheel]);
          const runPool = vi.spyOn(DeflatePool.prototype, 'run');
          let failure: LbuildError | undefined;
          try {
            await writeZip(manifest, { output, cacheDir: join(dir, 'c1') });
          } catch (error) {
            failure = error as LbuildError;
          }
          expect(failure).toBeInstanceOf(LbuildError);
          expect(failure!.failure.reason).toBe('source-changed');
          expect((failure!.failure as DescribedFailure).message).toBe(
            `The content of "${entryName}" in ${WHEEL} (entry "${entryName}") changed after the tree was built: its CRC-32 does not match the wheel's central directory.`,
          );
          const sentToWorkers = runPool.mock.calls.some(
            ([job]) =>
              job.expectedCrc === manifest.entries.find((e) => e.path === entryName)!.crc32,
          );
          expect(sentToWorkers).toBe(where === 'in a worker');
          expect(await readFile(output)).toEqual(before);
          expect((await readdir(dir)).filter((name) => name.endsWith('.tmp'))).toEqual([]);
        }));
    }
  });
});
