import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import {
  cp,
  mkdir,
  mkdtemp,
  readFile,
  readdir,
  rm,
  stat,
  truncate,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LbuildError, type DescribedFailure } from '@lbuild/core';
import { buildTree } from '../../src/tree/index.js';
import type { TreeManifest } from '../../src/tree/index.js';
import { DEFAULT_ZIP_LEVEL, writeZip } from '../../src/zip/index.js';
import { EntryCache } from '../../src/zip/cache.js';
import {
  installArgs,
  makeHashFile,
  noise,
  wheelEntriesOnly,
  withTempDir,
} from '../tree/fixtures.js';
import { PY_SOURCE, makeProject, pythonZipReport, treeOf } from './zip-fixtures.js';

/**
 * The compressed-entry cache never puts into a zip other bytes than those the tree named: what
 * is deflated is checked against the tree's content hash before it is cached, and a cache file
 * is used only when it checks out. Every zip is compared with a clean build of the same files
 * in a fresh directory with an empty cache, and read back with Python's zipfile.
 */

type Files = { zipPath: string; file: string }[];

const AAAA = "MODE = 'AAAA'";
const BBBB = "MODE = 'BBBB'";

/** Project files whose MODE line can be flipped without changing their size, one per writer path. */
const CASES = [
  { zipPath: 'handler.py', path: 'a small file, deflated on the main thread' },
  { zipPath: 'app/big.py', path: 'a large file, deflated in a worker' },
  { zipPath: 'app/blob.bin', path: 'an incompressible file, stored' },
] as const;

async function makeSources(dir: string): Promise<Files> {
  const src = join(dir, 'src');
  await mkdir(join(src, 'app'), { recursive: true });
  const contents: Record<string, Buffer> = {
    'handler.py': Buffer.from(`${AAAA}\n\ndef handler(event, context):\n    return MODE\n`),
    'app/big.py': Buffer.from(`${AAAA}\n${PY_SOURCE.repeat(12)}`), // over 64 kB: a worker
    'app/blob.bin': Buffer.concat([Buffer.from(`${AAAA}\n`), noise(100_000, 5)]),
    'app/other.py': Buffer.from(PY_SOURCE),
  };
  const files: Files = [];
  for (const [zipPath, data] of Object.entries(contents)) {
    await writeFile(join(src, zipPath), data);
    files.push({ zipPath, file: join(src, zipPath) });
  }
  return files;
}

function fileOf(files: Files, zipPath: string): string {
  return files.find((entry) => entry.zipPath === zipPath)!.file;
}

/** Rewrites the MODE line in place: same size, other bytes. */
async function setMode(file: string, from: string, to: string): Promise<void> {
  const data = await readFile(file);
  const at = data.indexOf(from);
  expect(at).toBeGreaterThanOrEqual(0);
  data.write(to, at, 'latin1');
  await writeFile(file, data);
}

async function treeOfFiles(files: Files): Promise<TreeManifest> {
  // Beside the files, in the test's temporary directory, so it goes when that does.
  const first = files[0];
  const written =
    first === undefined
      ? await mkdtemp(join(tmpdir(), 'lbuild-written-'))
      : join(dirname(first.file), '.written');
  return buildTree({
    ...installArgs(written),
    wheels: [],
    files,
    hashFile: makeHashFile().hashFile,
  });
}

/**
 * The SHA-256 of the zip of the same files copied to a fresh directory and built with an empty
 * cache. (Zips are compared by digest: vitest compares large buffers byte by byte, slowly.)
 */
async function cleanZip(files: Files, wheels: string[] = []): Promise<string> {
  const fresh = await mkdtemp(join(tmpdir(), 'lbuild-clean-'));
  try {
    const copied: Files = [];
    for (const [index, { zipPath, file }] of files.entries()) {
      const to = join(fresh, 'src', String(index));
      await cp(file, to);
      copied.push({ zipPath, file: to });
    }
    const copiedWheels: string[] = [];
    for (const wheel of wheels) {
      const to = join(fresh, 'wheels', basename(wheel));
      await cp(wheel, to);
      copiedWheels.push(to);
    }
    // As treeOf builds the tree the tests zip: the wheels' own entries, no installer files.
    const manifest = wheelEntriesOnly(
      await buildTree({
        ...installArgs(fresh),
        wheels: copiedWheels,
        files: copied,
        hashFile: makeHashFile().hashFile,
      }),
    );
    const output = join(fresh, 'clean.zip');
    await writeZip(manifest, { output, cacheDir: join(fresh, 'cache') });
    return await sha256Of(output);
  } finally {
    await rm(fresh, { recursive: true, force: true });
  }
}

/** What Python's zipfile reads from a zip: every CRC checks out, and the content of `name`. */
function zipContent(zip: string, name: string): string {
  const report = pythonZipReport(zip);
  expect(report.bad).toBeNull();
  const entry = report.entries.find((e) => e.name === name);
  expect(entry).toBeDefined();
  return entry!.sha256;
}

const sha256 = (data: Uint8Array): string => createHash('sha256').update(data).digest('hex');

async function sha256Of(file: string): Promise<string> {
  return sha256(await readFile(file));
}

/** Every cache file (not temporary ones), with its bytes. */
async function cacheFiles(cacheDir: string): Promise<{ file: string; bytes: Buffer }[]> {
  const out: { file: string; bytes: Buffer }[] = [];
  for (const name of await readdir(cacheDir, { recursive: true })) {
    const file = join(cacheDir, name);
    if (name.endsWith('.tmp') || !(await stat(file)).isFile()) continue;
    out.push({ file, bytes: await readFile(file) });
  }
  return out;
}

/** Cache files that hold deflated bytes (method 8 at byte 4, in every layout so far). */
async function deflatedCacheFiles(cacheDir: string): Promise<{ file: string; bytes: Buffer }[]> {
  return (await cacheFiles(cacheDir)).filter(({ bytes }) => bytes[4] === 8);
}

async function failureOf(promise: Promise<unknown>): Promise<DescribedFailure> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(LbuildError);
    return (error as LbuildError).failure as DescribedFailure;
  }
  throw new Error('expected a failure');
}

async function tempFilesIn(dir: string): Promise<string[]> {
  return (await readdir(dir, { recursive: true })).filter((name) => name.endsWith('.tmp'));
}

describe('an edit between the tree and the zip', () => {
  for (const { zipPath, path } of CASES) {
    it(`poisons no later build: the undone edit is what the zip holds (${path})`, () =>
      withTempDir(async (dir) => {
        const files = await makeSources(dir);
        const file = fileOf(files, zipPath);
        const cacheDir = join(dir, 'cache');
        const output = join(dir, 'bundle.zip');
        const original = await readFile(file);

        // The tree hashes AAAA; the file says BBBB by the time the zip step reads it.
        const tree = await treeOfFiles(files);
        await setMode(file, AAAA, BBBB);
        await writeZip(tree, { output, cacheDir }).catch(() => undefined);

        // The edit is undone: every later build must zip AAAA again, from the same cache.
        await setMode(file, BBBB, AAAA);
        expect((await readFile(file)).equals(original)).toBe(true);
        for (let build = 0; build < 2; build++) {
          await writeZip(await treeOfFiles(files), { output, cacheDir });
          expect(zipContent(output, zipPath)).toBe(await sha256Of(file));
          expect(await sha256Of(output)).toBe(await cleanZip(files));
        }
      }));

    it(`fails the zip with input-changed-during-run, leaving the previous zip and no cache file (${path})`, () =>
      withTempDir(async (dir) => {
        const files = await makeSources(dir);
        const file = fileOf(files, zipPath);
        const output = join(dir, 'out', 'bundle.zip');
        await mkdir(join(dir, 'out'));
        // A previous zip, built from other content, which a failed build must leave alone.
        await setMode(fileOf(files, 'app/other.py'), 'function_0', 'function_X');
        await writeZip(await treeOfFiles(files), { output, cacheDir: join(dir, 'old-cache') });
        const before = await sha256Of(output);

        const tree = await treeOfFiles(files);
        await setMode(file, AAAA, BBBB);
        const cacheDir = join(dir, 'cache');
        const failure = await failureOf(writeZip(tree, { output, cacheDir }));
        expect(failure).toMatchObject({ reason: 'input-changed-during-run', kind: 'build' });
        expect(failure.message).toBe(
          `${file} changed while the zip was being written (it goes into the zip as "${zipPath}"); run lbuild again.`,
        );
        expect(await sha256Of(output)).toBe(before);
        expect(await tempFilesIn(join(dir, 'out'))).toEqual([]);
        expect(await tempFilesIn(cacheDir)).toEqual([]);
        // Nothing was cached under the hash the tree took.
        const entry = tree.entries.find((e) => e.path === zipPath)!;
        expect(
          existsSync(new EntryCache(cacheDir, DEFAULT_ZIP_LEVEL).fileFor(entry.contentKey)),
        ).toBe(false);

        // Run again: the zip holds BBBB, as a clean build does.
        await writeZip(await treeOfFiles(files), { output, cacheDir });
        expect(zipContent(output, zipPath)).toBe(await sha256Of(file));
        expect(await sha256Of(output)).toBe(await cleanZip(files));
      }));
  }

  it('fails a stored entry found in the cache too: its bytes are read, and checked, when the zip is written', () =>
    withTempDir(async (dir) => {
      const files = await makeSources(dir);
      const file = fileOf(files, 'app/blob.bin');
      const cacheDir = join(dir, 'cache');
      const output = join(dir, 'bundle.zip');
      const tree = await treeOfFiles(files);
      await writeZip(tree, { output, cacheDir });
      const before = await sha256Of(output);
      await setMode(file, AAAA, BBBB);
      const failure = await failureOf(writeZip(tree, { output, cacheDir }));
      expect(failure.reason).toBe('input-changed-during-run');
      expect(failure.message).toContain(`${file} changed while the zip was being written`);
      expect(await sha256Of(output)).toBe(before);
    }));

  it('zips the bytes the tree named when they come deflated from the cache, whatever the file says now', () =>
    withTempDir(async (dir) => {
      const files = await makeSources(dir);
      const cacheDir = join(dir, 'cache');
      const output = join(dir, 'bundle.zip');
      const tree = await treeOfFiles(files);
      await writeZip(tree, { output, cacheDir });
      const clean = await cleanZip(files);
      expect(await sha256Of(output)).toBe(clean);
      await setMode(fileOf(files, 'handler.py'), AAAA, BBBB);
      // The file is not read again: the zip holds the content the tree hashed (and the next
      // build, whose tree sees BBBB, zips BBBB).
      await writeZip(tree, { output, cacheDir });
      expect(await sha256Of(output)).toBe(clean);
      await writeZip(await treeOfFiles(files), { output, cacheDir });
      expect(await sha256Of(output)).toBe(await cleanZip(files));
    }));
});

describe('a cache file that does not check out is never used', () => {
  /** A project with every kind of entry (wheel entries too), built once into `cacheDir`. */
  async function builtProject(dir: string) {
    const project = await makeProject(dir);
    const manifest = await treeOf(project);
    const cacheDir = join(dir, 'cache');
    const output = join(dir, 'bundle.zip');
    await writeZip(manifest, { output, cacheDir });
    const clean = await cleanZip(project.files, project.wheels);
    expect(await sha256Of(output)).toBe(clean);
    return { project, manifest, cacheDir, output, clean };
  }

  /** Builds again from the damaged cache: a clean build's zip, and the cache healed. */
  async function expectClean(
    built: Awaited<ReturnType<typeof builtProject>>,
    damaged: number,
  ): Promise<void> {
    const { project, manifest, cacheDir, output, clean } = built;
    const result = await writeZip(manifest, { output, cacheDir });
    expect(await sha256Of(output)).toBe(clean);
    const report = pythonZipReport(output);
    expect(report.bad).toBeNull();
    for (const entry of report.entries)
      expect(entry.sha256, entry.name).toBe(sha256(project.contents.get(entry.name)!));
    expect(result.compressedEntries).toBe(damaged);
    // The damaged files were replaced: the next build deflates nothing.
    const again = await writeZip(manifest, { output, cacheDir });
    expect(again.compressedEntries).toBe(0);
    expect(await sha256Of(output)).toBe(clean);
    expect(await tempFilesIn(cacheDir)).toEqual([]);
  }

  it('tampered deflated bytes (same size, bytes flipped)', () =>
    withTempDir(async (dir) => {
      const built = await builtProject(dir);
      const files = await deflatedCacheFiles(built.cacheDir);
      expect(files.length).toBeGreaterThanOrEqual(3);
      for (const { file, bytes } of files) {
        bytes[bytes.length - 2]! ^= 0x55; // inside the deflated bytes, in any header layout
        await writeFile(file, bytes);
      }
      await expectClean(built, files.length);
    }));

  it("a tampered CRC-32 in a file's header", () =>
    withTempDir(async (dir) => {
      const built = await builtProject(dir);
      const files = await deflatedCacheFiles(built.cacheDir);
      for (const { file, bytes } of files) {
        bytes.writeUInt32LE((bytes.readUInt32LE(8) ^ 1) >>> 0, 8);
        await writeFile(file, bytes);
      }
      await expectClean(built, files.length);
    }));

  it('a truncated file: cut short, cut short with a header that agrees, cut inside the header', () =>
    withTempDir(async (dir) => {
      const built = await builtProject(dir);
      const files = await deflatedCacheFiles(built.cacheDir);
      expect(files.length).toBeGreaterThanOrEqual(3);
      const [plain, consistent, ...inHeader] = files;
      // Half the deflated bytes gone.
      await truncate(plain!.file, plain!.bytes.length - 100);
      // The same, with the header's compressed size (bytes 24–31) saying so.
      const cut = consistent!.bytes.subarray(0, consistent!.bytes.length - 100);
      cut.writeBigUInt64LE(cut.readBigUInt64LE(24) - 100n, 24);
      await writeFile(consistent!.file, cut);
      for (const { file } of inHeader) await truncate(file, 10);
      await expectClean(built, files.length);
    }));

  it('a file copied under the key of another content of the same size', () =>
    withTempDir(async (dir) => {
      const src = join(dir, 'src');
      await mkdir(src);
      const files: Files = [];
      for (const [zipPath, mode] of [
        ['a.py', AAAA],
        ['b.py', BBBB],
      ] as const) {
        await writeFile(join(src, zipPath), `${mode}\n${PY_SOURCE}`);
        files.push({ zipPath, file: join(src, zipPath) });
      }
      const cacheDir = join(dir, 'cache');
      const output = join(dir, 'bundle.zip');
      const tree = await treeOfFiles(files);
      await writeZip(tree, { output, cacheDir });
      const clean = await cleanZip(files);
      expect(await sha256Of(output)).toBe(clean);
      // b.py's file now holds a.py's deflated content, header and all.
      const cache = new EntryCache(cacheDir, DEFAULT_ZIP_LEVEL);
      const [a, b] = tree.entries.map((entry) => cache.fileFor(entry.contentKey));
      await cp(a!, b!);
      const result = await writeZip(tree, { output, cacheDir });
      expect(result.compressedEntries).toBe(1);
      expect(await sha256Of(output)).toBe(clean);
      expect(zipContent(output, 'b.py')).toBe(await sha256Of(fileOf(files, 'b.py')));
    }));

  it('a large file, checked in pieces', { timeout: 300_000 }, () =>
    withTempDir(async (dir) => {
      // Three parts noise to one part text: its deflated form is over the 8 MiB that are
      // checked in memory, so it is checked in pieces.
      const parts: Buffer[] = [];
      for (let i = 0; i < 3 * 1024; i++)
        parts.push(noise(3 * 1024, i + 1), Buffer.from(PY_SOURCE.slice(0, 1024)));
      const content = Buffer.concat(parts);
      const source = join(dir, 'src', 'mixed.bin');
      await mkdir(join(dir, 'src'));
      await writeFile(source, content);
      const files: Files = [{ zipPath: 'mixed.bin', file: source }];
      const cacheDir = join(dir, 'cache');
      const output = join(dir, 'bundle.zip');
      const tree = await treeOfFiles(files);
      await writeZip(tree, { output, cacheDir });
      const clean = await sha256Of(output);
      const [entry] = await deflatedCacheFiles(cacheDir);
      expect(entry!.bytes.length).toBeGreaterThan(8 * 1024 * 1024 + 64);
      entry!.bytes[entry!.bytes.length >> 1]! ^= 0x01;
      await writeFile(entry!.file, entry!.bytes);
      const result = await writeZip(tree, { output, cacheDir });
      expect(result.compressedEntries).toBe(1);
      expect(await sha256Of(output)).toBe(clean);
      expect(pythonZipReport(output).bad).toBeNull();
    }),
  );
});
