// Many functions in one project: 40 bundles that share one requirements file (the seed-like
// project of bench/bundle, each function with its own source folder), against the same project
// with one bundle, in one run:
//
//   cold      no .lbuild, no dist: the one bundle, then all 40 (interleaved); aim: all 40 take
//             ≤ 3 × the one (the identical wheel work is done once, not 40 times)
//   no-op     `lbuild -q` over all 40 right after a build, against `node -e 0` (interleaved);
//             aim ≤ 1.5 × `node -e 0`
//
//   node bench/monorepo/run.mjs [--runs 5] [--bundles 40] [--lbuild PATH]
//                                                             (or: node bench/run.mjs monorepo)
//
// --lbuild runs another build of the CLI (its bin/lbuild.cjs), to compare with an older one.
//
// The project is generated in a new temporary directory and removed at the end. Also reported:
// how many wheelhouse and staging targets each cold build ran, and whether fn01's zip is the
// same bytes built alone and among the 40.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { median, timeOnce } from '../timing.mjs';
import {
  prng,
  writeFile,
  writeFunctionPackage,
  writeSmallWheels,
} from '../bundle/small-project.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const repo = join(here, '..', '..');

const args = process.argv.slice(2);
const option = (name, fallback) => {
  const at = args.indexOf(name);
  return at === -1 ? fallback : args[at + 1];
};
const RUNS = Number(option('--runs', process.env.RUNS ?? '5'));
const BUNDLES = Number(option('--bundles', '40'));
const NOOP_RUNS = Math.max(RUNS * 4, 20);
const LBUILD = resolve(option('--lbuild', join(repo, 'packages', 'cli', 'bin', 'lbuild.cjs')));

if (!existsSync(join(dirname(LBUILD), '..', 'bundle', 'lbuild.cjs'))) {
  console.error('bench/monorepo: the CLI is not built; run `pnpm build` first');
  process.exit(2);
}

/** No PIP_* settings: lbuild ignores them and warns, which is not what is measured here. */
const ENV = Object.fromEntries(
  Object.entries({ ...process.env, NO_COLOR: '1' }).filter(([key]) => !key.startsWith('PIP_')),
);

const name = (i) => `fn${String(i + 1).padStart(2, '0')}`;

function bundleTable(fn) {
  return `[bundle.${fn}]
requirements = "requirements.txt"
sources = ["${fn}"]
files = { "settings.json" = "settings.json" }
python = "3.12"
architecture = "x86_64"
output = "dist/${fn}.zip"
find-links = ["wheels"]
no-index = true
`;
}

/** The project with `count` functions, and a copy of it whose config has only the first. */
function generate(work, count) {
  const all = join(work, 'all');
  const random = prng(1980);
  const requirements = writeSmallWheels(random, join(all, 'wheels'), ENV);
  writeFile(join(all, 'requirements.txt'), requirements.join('\n') + '\n');
  writeFile(
    join(all, 'settings.json'),
    JSON.stringify({ queue: 'https://sqs.example/myqueue', stage: 'prod' }, null, 2) + '\n',
  );
  const names = Array.from({ length: count }, (_, i) => name(i));
  for (const fn of names) writeFunctionPackage(random, join(all, fn));
  writeFile(join(all, 'lbuild.toml'), names.map(bundleTable).join('\n'));
  const one = join(work, 'one');
  cpSync(all, one, { recursive: true });
  writeFileSync(join(one, 'lbuild.toml'), bundleTable(names[0]));
  return { all, one, names };
}

function clean(dir) {
  rmSync(join(dir, '.lbuild'), { recursive: true, force: true });
  rmSync(join(dir, 'dist'), { recursive: true, force: true });
}

/** A cold build with --json: wall time and how many targets of each kind it ran. */
function coldBuild(dir) {
  clean(dir);
  const start = process.hrtime.bigint();
  const result = spawnSync(process.execPath, [LBUILD, '--json', '-C', dir], {
    env: ENV,
    encoding: 'utf8',
    maxBuffer: 1 << 26,
  });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (result.status !== 0)
    throw new Error(`lbuild failed (${result.status}):\n${result.stdout}\n${result.stderr}`);
  const built = {};
  for (const t of JSON.parse(result.stdout).targets)
    if (t.status === 'built') built[t.kind] = (built[t.kind] ?? 0) + 1;
  return { ms, built };
}

const sha = (file) =>
  spawnSync('sha256sum', [file], { encoding: 'utf8' }).stdout.split(' ')[0] ?? '';

const work = mkdtempSync(join(tmpdir(), 'lbuild-bench-monorepo-'));
try {
  const { all, one, names } = generate(work, BUNDLES);
  const cold = { one: [], all: [] };
  let builtOne;
  let builtAll;
  // The first round warms the page cache (and pip's imports) and is not counted.
  for (let round = 0; round <= RUNS; round++) {
    // Alternate who goes first, so neither always runs on a cache the other warmed.
    const order = round % 2 === 0 ? ['one', 'all'] : ['all', 'one'];
    for (const which of order) {
      const r = coldBuild(which === 'one' ? one : all);
      if (round > 0) cold[which].push(r.ms);
      if (which === 'one') builtOne = r.built;
      else builtAll = r.built;
    }
    process.stderr.write(
      `  cold: round ${round + 1}/${RUNS + 1}${round === 0 ? ' (warm-up)' : ''}\n`,
    );
  }
  const sameZip =
    sha(join(one, 'dist', `${names[0]}.zip`)) === sha(join(all, 'dist', `${names[0]}.zip`));

  // A second build settles racy stat records (outputs hashed right after they were written), as
  // a user's next command would find them; then -q must say "up to date".
  for (const argv of [
    ['-C', all],
    ['-q', '-C', all],
  ]) {
    const r = spawnSync(process.execPath, [LBUILD, ...argv], { env: ENV, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`lbuild ${argv.join(' ')}: exit ${r.status}\n${r.stderr}`);
  }
  const noop = { lbuild: [], node: [] };
  for (let i = 0; i < NOOP_RUNS + 3; i++) {
    const q = timeOnce(process.execPath, [LBUILD, '-q', '-C', all], { env: ENV });
    if (q.status !== 0) throw new Error(`lbuild -q: exit ${q.status}, expected 0 (up to date)`);
    const n = timeOnce(process.execPath, ['-e', '0'], { env: ENV });
    if (i >= 3) {
      noop.lbuild.push(q.ms);
      noop.node.push(n.ms);
    }
  }

  const fmt = (ms) => (ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(0)} ms`);
  const kinds = (built) =>
    ['wheelhouse', 'staging', 'tree', 'zip'].map((k) => `${built[k] ?? 0} ${k}`).join(', ');
  const load = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  console.log(
    `many functions: ${BUNDLES} bundles sharing one requirements file — ${availableParallelism()} CPUs (${cpus()[0]?.model ?? 'unknown CPU'}), load average ${load}, Node ${process.version}; medians of ${RUNS} cold rounds (+1 warm-up) and ${NOOP_RUNS} no-op rounds, interleaved\n`,
  );
  const coldOne = median(cold.one);
  const coldAll = median(cold.all);
  const qAll = median(noop.lbuild);
  const nodeFloor = median(noop.node);
  console.log('| case | lbuild | baseline | ratio | aim |');
  console.log('|---|---|---|---|---|');
  console.log(
    `| cold, ${BUNDLES} bundles vs 1 | ${fmt(coldAll)} | ${fmt(coldOne)} | ${(coldAll / coldOne).toFixed(2)} | ≤ 3: ${coldAll / coldOne <= 3 ? 'met' : 'MISSED'} |`,
  );
  console.log(
    `| \`lbuild -q\`, ${BUNDLES} bundles vs \`node -e 0\` | ${fmt(qAll)} | ${fmt(nodeFloor)} | ${(qAll / nodeFloor).toFixed(2)} | ≤ 1.5: ${qAll / nodeFloor <= 1.5 ? 'met' : 'MISSED'} |`,
  );
  console.log(
    `\ntargets run by a cold build: one bundle: ${kinds(builtOne)}; ${BUNDLES} bundles: ${kinds(builtAll)}`,
  );
  console.log(
    `${names[0]}'s zip built alone and among ${BUNDLES}: ${sameZip ? 'the same SHA-256' : 'DIFFERENT SHA-256'}`,
  );
} finally {
  rmSync(work, { recursive: true, force: true });
}
