import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TreeManifest } from '../../src/tree/index.js';
import { writeZip } from '../../src/zip/index.js';
import type { ZipResult } from '../../src/zip/index.js';
import { makeProject, pythonZipReport, treeOf, zipContent } from './zip-fixtures.js';

const here = dirname(fileURLToPath(import.meta.url));
const packageDir = join(here, '..', '..');

let work: string;
let childScript: string;

/**
 * The writer runs in child processes with the environment under test. tsx is not a dependency,
 * so the child script is bundled with esbuild (a root devDependency) into a temporary directory
 * whose node_modules points at this package's, where fflate and yauzl resolve at run time. As in
 * the CLI's bundle, the deflate worker is bundled beside it, where the writer looks for it.
 */
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'lbuild-repro-'));
  childScript = join(work, 'bin', 'child-write.mjs');
  await build({
    entryPoints: {
      'child-write': join(here, 'child-write.ts'),
      'deflate-worker': join(packageDir, 'src', 'zip', 'deflate-worker.ts'),
    },
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    outdir: dirname(childScript),
    outExtension: { '.js': '.mjs' },
    external: ['fflate', 'yauzl'],
    alias: { '@lbuild/core': join(packageDir, '..', 'core', 'src', 'index.ts') },
    logLevel: 'error',
  });
  await symlink(join(packageDir, 'node_modules'), join(work, 'bin', 'node_modules'), 'dir');
});

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

interface Run {
  TZ: string;
  umask: string;
  LC_ALL?: string;
}

function runChild(
  run: Run,
  cwd: string,
  manifestFile: string,
  output: string,
  cacheDir: string,
): ZipResult {
  const result = spawnSync(
    'sh',
    [
      '-c',
      `umask ${run.umask} && exec "$0" "$@"`,
      process.execPath,
      childScript,
      manifestFile,
      output,
      cacheDir,
    ],
    {
      cwd,
      env: {
        ...process.env,
        TZ: run.TZ,
        ...(run.LC_ALL === undefined ? {} : { LC_ALL: run.LC_ALL }),
      },
      encoding: 'utf8',
    },
  );
  if (result.status !== 0)
    throw new Error(`child failed (${String(result.status)}): ${result.stderr}`);
  return JSON.parse(result.stdout) as ZipResult;
}

describe('reproducibility', () => {
  it('gives identical bytes from checkouts in different directories, under any TZ, umask and locale, cold or warm', async () => {
    const manifests: { dir: string; file: string; manifest: TreeManifest }[] = [];
    for (const sub of ['checkout-a', 'elsewhere/checkout-b']) {
      const dir = join(work, sub);
      await mkdir(dir, { recursive: true });
      const manifest = await treeOf(await makeProject(dir));
      const file = join(dir, 'manifest.json');
      await writeFile(file, JSON.stringify(manifest));
      manifests.push({ dir, file, manifest });
    }
    const [a, b] = manifests as [(typeof manifests)[0], (typeof manifests)[0]];
    expect(zipContent(a.manifest)).toEqual(zipContent(b.manifest));
    expect(a.manifest.entries[0]!.source).not.toEqual(b.manifest.entries[0]!.source); // really two places

    const runs: [Run, (typeof manifests)[0]][] = [
      [{ TZ: 'UTC', umask: '022' }, a],
      [{ TZ: 'Asia/Kolkata', umask: '077' }, b],
      [{ TZ: 'America/New_York', umask: '022', LC_ALL: 'C' }, a],
      [{ TZ: 'Pacific/Chatham', umask: '002' }, b],
    ];
    const results: ZipResult[] = [];
    for (const [index, [run, source]] of runs.entries()) {
      const output = join(source.dir, `out-${String(index)}.zip`);
      // Cold: a cache of its own. Warm: the same cache again.
      const cache = join(work, `cache-${String(index)}`);
      results.push(runChild(run, source.dir, source.file, output, cache));
      results.push(
        runChild(run, work, source.file, join(work, `warm-${String(index)}.zip`), cache),
      );
    }
    const inProcess = await writeZip(a.manifest, {
      output: join(work, 'in-process.zip'),
      cacheDir: join(work, 'cache-here'),
    });

    const digests = new Set([...results, inProcess].map((result) => result.sha256Hex));
    expect(digests.size).toBe(1);
    expect(results[0]!.compressedEntries).toBeGreaterThan(0);
    expect(results[1]!.compressedEntries).toBe(0);
    expect(results[1]!.reusedEntries).toBe(results[0]!.compressedEntries);

    const zipUnderUmask077 = join(b.dir, 'out-1.zip');
    expect((await stat(zipUnderUmask077)).mode & 0o777).toBe(0o600); // the file's mode follows umask; its bytes do not
    expect(pythonZipReport(zipUnderUmask077).bad).toBeNull();
    expect(await readFile(zipUnderUmask077)).toEqual(await readFile(join(work, 'in-process.zip')));
  });
});
