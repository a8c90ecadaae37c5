// Benchmark of the python-lambda tree + zip layers against the Makefile approach
// (`unzip -q` every wheel, then `zip -q -X -9 -r`), on a synthetic ~170 MB / ~2,800-file bundle.
//
//   node bench/zip/run.mjs [--runs 5] [--level 6] [--no-baseline] [--stored]
//
// --stored uses wheels whose entries are stored, not deflated (same content): then every byte is
// deflated by lbuild (fflate, in worker threads) on a cold build, the worst case for the writer.
// Prints median wall times and peak RSS, each build measured in a fresh process.
import { spawnSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { PARAMS, ensureFixture } from './fixture.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const repo = join(here, '..', '..');
const work = join(repo, 'bench', '.work', 'zip');
const args = process.argv.slice(2);
const option = (name, fallback) => {
  const at = args.indexOf(name);
  return at === -1 ? fallback : args[at + 1];
};
const runs = Number(option('--runs', '5'));
const level = Number(option('--level', '6'));
const baseline = !args.includes('--no-baseline');
const stored = args.includes('--stored');

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};
const ms = (value) => `${value.toFixed(0)} ms`;
const mb = (bytes) => `${(bytes / 1e6).toFixed(1)} MB`;

// 1. The fixture.
let t = performance.now();
const layout = ensureFixture(join(work, stored ? 'fixture-stored' : 'fixture'), { stored });
const fixtureMs = performance.now() - t;

// 2. The library, bundled from the TypeScript sources (no build step, no tsx).
const libDir = join(work, 'lib');
const lib = join(libDir, 'lbuild-zip.mjs');
await build({
  stdin: {
    contents: `export { buildTree } from './src/tree/index.ts';\nexport { writeZip } from './src/zip/index.ts';\nexport { contentHashOf, loadContentHash } from './src/zip/content-hash.ts';\n`,
    resolveDir: join(repo, 'packages', 'python-lambda'),
    loader: 'ts',
  },
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  outfile: lib,
  external: ['fflate', 'yauzl'],
  // The parts of core the tree and zip layers use, without the engine and its dependencies.
  plugins: [
    {
      name: 'core-parts',
      setup(b) {
        b.onResolve({ filter: /^@lbuild\/core$/ }, () => ({ path: 'core', namespace: 'core' }));
        b.onLoad({ filter: /.*/, namespace: 'core' }, () => ({
          contents: ['failure.ts', 'atomic.ts']
            .map(
              (f) => `export * from ${JSON.stringify(join(repo, 'packages', 'core', 'src', f))};`,
            )
            .join('\n'),
          loader: 'ts',
          resolveDir: repo,
        }));
      },
    },
  ],
  logLevel: 'error',
});
if (!existsSync(join(libDir, 'node_modules'))) {
  symlinkSync(
    join(repo, 'packages', 'python-lambda', 'node_modules'),
    join(libDir, 'node_modules'),
    'dir',
  );
}

function child(config) {
  const result = spawnSync(process.execPath, [join(here, 'child.mjs'), JSON.stringify(config)], {
    encoding: 'utf8',
    maxBuffer: 1 << 26,
  });
  if (result.status !== 0) throw new Error(`child failed: ${result.stderr}`);
  return JSON.parse(result.stdout);
}

const out = join(work, stored ? 'out-stored' : 'out');
mkdirSync(out, { recursive: true });
const cacheDir = join(out, 'cache');
const hashCache = join(out, 'hash-cache.json');
const output = join(out, 'bundle.zip');
const writtenDir = join(out, 'written');
const base = { lib: pathToFileURL(lib).href, layout, output, cacheDir, writtenDir, level };

// 3. Cold: empty cache, nothing hashed before.
const cold = [];
for (let i = 0; i < runs; i++) {
  rmSync(cacheDir, { recursive: true, force: true });
  rmSync(hashCache, { force: true });
  rmSync(output, { force: true });
  cold.push(child({ ...base, hashCache }));
}
const coldDigests = new Set(cold.map((run) => run.result.sha256Hex));

// 4. Rewrite after editing one project file (warm cache, engine's stat cache for hashes).
const handler = layout.files.find((file) => file.zipPath === 'handler.py').file;
const original = readFileSync(handler, 'utf8');
const edits = [];
for (let i = 0; i < runs; i++) {
  writeFileSync(handler, `${original}\n# edit ${String(i)} ${String(Date.now())}\n`);
  edits.push(child({ ...base, hashCache }));
}
// 5. No change at all.
const unchanged = [];
for (let i = 0; i < runs; i++) unchanged.push(child({ ...base, hashCache }));
writeFileSync(handler, original);
const check = spawnSync('unzip', ['-tq', output], { encoding: 'utf8' });

// 6. The Makefile approach on the same content.
let makefile;
if (baseline) {
  const unzipTimes = [];
  const zipTimes = [];
  const rss = [];
  let zipSize = 0;
  const tree = join(out, 'make-tree');
  const makeZip = join(out, 'make-bundle.zip');
  const timed = (command, argv, cwd) => {
    const r = spawnSync('/usr/bin/time', ['-f', '%e %M', command, ...argv], {
      cwd,
      encoding: 'utf8',
    });
    if (r.status !== 0) throw new Error(`${command} failed: ${r.stderr}`);
    const [seconds, kb] = r.stderr.trim().split('\n').at(-1).split(' ').map(Number);
    return { ms: seconds * 1000, rssMB: kb / 1024 };
  };
  const makeRuns = Math.min(runs, 3);
  for (let i = 0; i < makeRuns; i++) {
    rmSync(tree, { recursive: true, force: true });
    rmSync(makeZip, { force: true });
    mkdirSync(tree);
    const unzip = timed(
      'sh',
      ['-c', `for w in "$@"; do unzip -q -o "$w" -d "${tree}"; done`, 'sh', ...layout.wheels],
      out,
    );
    cpSync(layout.projectDir, tree, { recursive: true });
    const zip = timed('zip', ['-q', '-X', '-9', '-r', makeZip, '.'], tree);
    unzipTimes.push(unzip.ms);
    zipTimes.push(zip.ms);
    rss.push(Math.max(unzip.rssMB, zip.rssMB));
    zipSize = statSync(makeZip).size;
  }
  makefile = {
    unzipMs: median(unzipTimes),
    zipMs: median(zipTimes),
    rssMB: Math.max(...rss),
    size: zipSize,
    runs: makeRuns,
  };
  rmSync(tree, { recursive: true, force: true });
}

// 7. Report.
const first = cold[0].result;
const lines = [
  `lbuild zip benchmark: ${String(first.entries)} entries, ${mb(first.unzippedSize)} unzipped, ${String(PARAMS.wheels)} ${stored ? 'stored' : 'deflated'} wheels + ${String(PARAMS.projectFiles)} project files; level ${String(level)}; ${String(availableParallelism())} CPUs; Node ${process.version}; ${String(runs)} runs, medians`,
  fixtureMs > 1000
    ? `(fixture made in ${ms(fixtureMs)}; reused on later runs)`
    : '(fixture reused)',
  '',
  `| case | tree | zip | total | peak RSS | deflated | reused | copied | inflated |`,
  `|---|---|---|---|---|---|---|---|---|`,
];
for (const [name, set] of [
  ['cold (empty cache, hashes everything)', cold],
  ['one project file edited', edits],
  ['nothing changed', unchanged],
]) {
  const r = set[0].result;
  lines.push(
    `| ${name} | ${ms(median(set.map((x) => x.treeMs)))} | ${ms(median(set.map((x) => x.zipMs)))} | ${ms(median(set.map((x) => x.totalMs)))} | ${Math.max(...set.map((x) => x.maxRssMB)).toFixed(0)} MB | ${String(r.compressedEntries)} | ${String(r.reusedEntries)} | ${String(r.copiedEntries)} | ${String(r.inflatedEntries)} |`,
  );
}
lines.push(
  '',
  `lbuild zip: ${mb(first.size)}, sha256 ${first.sha256Hex.slice(0, 16)}… (${coldDigests.size === 1 ? 'identical' : 'DIFFERENT'} over ${String(runs)} cold runs); unzip -tq: ${check.status === 0 ? 'ok' : `FAILED ${check.stdout}${check.stderr}`}`,
);
if (makefile) {
  lines.push(
    `Makefile approach (${String(makefile.runs)} runs): unzip -q ${ms(makefile.unzipMs)} + zip -q -X -9 -r ${ms(makefile.zipMs)} = ${ms(makefile.unzipMs + makefile.zipMs)}, peak RSS ${makefile.rssMB.toFixed(0)} MB, zip ${mb(makefile.size)}`,
  );
  const coldTotal = median(cold.map((x) => x.totalMs));
  const editTotal = median(edits.map((x) => x.totalMs));
  lines.push(
    `Speed-up: cold ${(makefile.unzipMs + makefile.zipMs) / coldTotal > 0 ? ((makefile.unzipMs + makefile.zipMs) / coldTotal).toFixed(1) : '?'}x; one-file edit ${(makefile.zipMs / editTotal).toFixed(1)}x against zip alone, ${((makefile.unzipMs + makefile.zipMs) / editTotal).toFixed(1)}x against unzip + zip`,
  );
}
console.log(lines.join('\n'));
writeFileSync(
  join(work, stored ? 'last-result-stored.json' : 'last-result.json'),
  JSON.stringify({ params: PARAMS, level, runs, cold, edits, unchanged, makefile }, null, 2),
);
