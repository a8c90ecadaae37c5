// No-op check: how long `lbuild -q` takes to answer "up to date" when nothing changed, run as
// users run it (the `bin` a global install links, started by its #! line: no package-manager
// shim), against the floor (`node -e 0`, starting Node at all) and against make. The baselines
// are measured in the same process, interleaved with lbuild, so machine noise hits all alike.
//
//   node bench/noop/run.mjs            (or: node bench/run.mjs noop; needs `pnpm build` first)
//   RUNS=40 node bench/noop/run.mjs    (samples per case; default 30, 20 at 10,000 files)
//
// The CLI's release package (packages/cli/release) is packed with `npm pack` and installed
// globally with `npm install -g --prefix` into bench/.work/noop/global/; its bin/lbuild is run.
//
// Projects under bench/.work/noop/:
// - seed: a copy of examples/hello-lambda, one bundle (requirements, sources, a settings file;
//   wheelhouse → staging → tree → zip), the shape of the Makefile lbuild replaces;
// - files-100 and files-10000: one target whose inputs glob 100 or 10,000 small .py files in
//   nested directories (src/pkgN/modN/mN.py, 100 per directory) and whose command writes one
//   output, and a Makefile for the same rule as a make user writes it: the prerequisites are
//   `$(shell find src -name '*.py')`, so make, like lbuild, lists the tree on every run and then
//   stats each file. The Makefile turns off make's built-in rules (`MAKEFLAGS +=
//   --no-builtin-rules` and an empty `.SUFFIXES:`), as a Makefile with many prerequisites
//   should: otherwise make searches implicit rules for each of the 10,000 files, takes seconds,
//   and would flatter lbuild. That untuned figure is printed too, for reference, from a few runs.
//
// Aims: seed ≤ 1.3 × `node -e 0`; 10,000 files ≤ 1.5 × (`node -e 0` + `make -q`).
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { interleaved } from '../timing.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const repo = join(here, '..', '..');
const work = join(repo, 'bench', '.work', 'noop');
const release = join(repo, 'packages', 'cli', 'release');

if (!existsSync(join(release, 'bundle', 'lbuild.cjs'))) {
  console.error(
    'bench/noop: the CLI is not built; run `pnpm build` (or `node packages/cli/build.mjs`) first',
  );
  process.exit(2);
}
for (const tool of ['make', 'find', 'npm']) {
  if (spawnSync(tool, ['--version'], { stdio: 'ignore' }).error) {
    console.error(`bench/noop: needs ${tool} on PATH`);
    process.exit(2);
  }
}

function run(command, args, expect, options = {}) {
  const result = spawnSync(command, args, { encoding: 'utf8', ...options });
  if (result.status !== expect) {
    throw new Error(
      `${command} ${args.join(' ')}: exit ${result.status}, expected ${expect}\n${result.stdout}${result.stderr}`,
    );
  }
  return result.stdout;
}

/** Installs the release package as `npm install -g` does, and returns the bin it links. */
function install() {
  const global = join(work, 'global');
  rmSync(global, { recursive: true, force: true });
  mkdirSync(global, { recursive: true });
  run('npm', ['pack', '--silent', '--pack-destination', global, release], 0);
  const tarball = readdirSync(global).find((name) => name.endsWith('.tgz'));
  const prefix = join(global, 'prefix');
  run(
    'npm',
    [
      'install',
      '-g',
      '--prefix',
      prefix,
      '--offline',
      '--no-audit',
      '--no-fund',
      join(global, tarball),
    ],
    0,
  );
  return join(prefix, 'bin', 'lbuild');
}

const COMMAND = "mkdir -p out && find src -name '*.py' | LC_ALL=C sort > out/manifest.txt";
const RULE = `SRCS := $(shell find src -name '*.py')

out/manifest.txt: $(SRCS)
\tmkdir -p out && find src -name '*.py' | LC_ALL=C sort > $@
`;

/** Writes a project with `count` .py files, 100 to a directory, two directory levels deep. */
function generate(count) {
  const dir = join(work, `files-${count}`);
  rmSync(dir, { recursive: true, force: true });
  for (let i = 0; i < count; i++) {
    const leaf = Math.floor(i / 100);
    const file = join(dir, 'src', `pkg${Math.floor(leaf / 10)}`, `mod${leaf % 10}`, `m${i}.py`);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, `def f${i}():\n    return ${i}\n`);
  }
  writeFileSync(
    join(dir, 'lbuild.toml'),
    `[target.manifest]\ncommand = ${JSON.stringify(COMMAND)}\ninputs = ["src/**/*.py"]\noutputs = ["out/manifest.txt"]\n`,
  );
  writeFileSync(join(dir, 'Makefile'), `MAKEFLAGS += --no-builtin-rules\n.SUFFIXES:\n\n${RULE}`);
  writeFileSync(join(dir, 'Makefile.untuned'), RULE);
  return dir;
}

/** A fresh copy of the example project, without what a build left in it. */
function seed() {
  const dir = join(work, 'seed');
  rmSync(dir, { recursive: true, force: true });
  cpSync(join(repo, 'examples', 'hello-lambda'), dir, {
    recursive: true,
    filter: (src) => !/[\\/](dist|\.lbuild)$/.test(src),
  });
  return dir;
}

const lbuild = install();
const node = { name: 'node -e 0', command: process.execPath, args: ['-e', '0'], expectStatus: 0 };
const noop = (dir) => ({
  name: 'lbuild -q',
  command: lbuild,
  args: ['-q', '-C', dir],
  expectStatus: 0,
});
// The #! line finds `node` on PATH: make it this Node, so both sides start the same one.
process.env.PATH = `${dirname(process.execPath)}:${process.env.PATH}`;

const results = {};

const seedDir = seed();
run(lbuild, ['-C', seedDir], 0);
run(lbuild, ['-C', seedDir], 0);
run(lbuild, ['-q', '-C', seedDir], 0);
results.seed = interleaved([noop(seedDir), node], Number(process.env.RUNS ?? 30), { warmup: 3 });

const sizes = [100, 10_000];
let untuned;
for (const count of sizes) {
  const dir = generate(count);
  // Build both once; then lbuild once more, so its stamp holds settled (not racy) stat records,
  // and check that both now answer "up to date".
  run(lbuild, ['-C', dir], 0);
  run('make', ['-s', '-C', dir], 0);
  run(lbuild, ['-C', dir], 0);
  run(lbuild, ['-q', '-C', dir], 0);
  run('make', ['-q', '-C', dir], 0);
  const runs = Number(process.env.RUNS ?? (count > 1000 ? 20 : 30));
  results[count] = interleaved(
    [
      noop(dir),
      node,
      { name: 'make -q', command: 'make', args: ['-q', '-C', dir], expectStatus: 0 },
    ],
    runs,
    { warmup: 3 },
  );
  if (count === 10_000) {
    untuned = interleaved(
      [
        {
          name: 'make -q',
          command: 'make',
          args: ['-q', '-f', 'Makefile.untuned', '-C', dir],
          expectStatus: 0,
        },
      ],
      3,
      { warmup: 0 },
    )['make -q'];
  }
}

const ms = (v) => (v === undefined ? '' : `${v.toFixed(1)} ms`).padStart(11);
const load = loadavg()[0].toFixed(1);
console.log(
  `no-op check (installed bin/lbuild), medians of interleaved runs; node ${process.version}, ${cpus().length} CPUs, load average ${load}`,
);
console.log(
  `${'project'.padEnd(13)}${'lbuild -q'.padStart(11)}${'node -e 0'.padStart(11)}${'make -q'.padStart(11)}`,
);
for (const [name, r] of [
  ['seed', results.seed],
  ['100 files', results[100]],
  ['10,000 files', results[10_000]],
]) {
  console.log(`${name.padEnd(13)}${ms(r['lbuild -q'])}${ms(r['node -e 0'])}${ms(r['make -q'])}`);
}
const ratio = (r) => r['lbuild -q'] / r['node -e 0'];
const large = results[10_000];
const ratioLarge = large['lbuild -q'] / (large['node -e 0'] + large['make -q']);
console.log(
  `seed:         lbuild -q / node -e 0             = ${ratio(results.seed).toFixed(2)}  (aim ≤ 1.30)`,
);
console.log(`100 files:    lbuild -q / node -e 0             = ${ratio(results[100]).toFixed(2)}`);
console.log(
  `10,000 files: lbuild -q / (node -e 0 + make -q) = ${ratioLarge.toFixed(2)}  (aim ≤ 1.50)`,
);
console.log(
  `(make -q with its built-in rules left on, 10,000 files: ${untuned.toFixed(0)} ms, median of 3)`,
);
