// No-op check: how long `lbuild -q` takes to answer "up to date" when nothing changed, against
// the floor (`node -e 0`, starting Node at all) and against make.
//
//   node bench/noop/run.mjs            (or: node bench/run.mjs noop; needs `pnpm build` first)
//   RUNS=40 node bench/noop/run.mjs    (samples per case; default 30 at 100 files, 20 at 10,000)
//
// Two equivalent projects under bench/.work/noop/, with 100 and with 10,000 small .py files in
// nested directories (src/pkgN/modN/mN.py, 100 per directory). Each has one target whose inputs
// glob all of them (`src/**/*.py`) and whose command writes one output, and a Makefile for the
// same rule as a make user writes it: the prerequisites are `$(shell find src -name '*.py')`, so
// make, like lbuild, lists the tree on every run and then stats each file. The Makefile turns
// off make's built-in rules (`MAKEFLAGS += --no-builtin-rules` and an empty `.SUFFIXES:`), as a
// Makefile with many prerequisites should: otherwise make searches implicit rules for each of
// the 10,000 files, takes seconds, and would flatter lbuild. That untuned figure is printed too,
// for reference, from a few runs.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { interleaved } from '../timing.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const repo = join(here, '..', '..');
const work = join(repo, 'bench', '.work', 'noop');
const lbuild = join(repo, 'packages', 'cli', 'bin', 'lbuild.cjs');

if (!existsSync(join(repo, 'packages', 'cli', 'bundle', 'lbuild.cjs'))) {
  console.error(
    'bench/noop: the CLI is not built; run `pnpm build` (or `node packages/cli/build.mjs`) first',
  );
  process.exit(2);
}
for (const tool of ['make', 'find']) {
  if (spawnSync(tool, ['--version'], { stdio: 'ignore' }).error) {
    console.error(`bench/noop: needs ${tool} on PATH`);
    process.exit(2);
  }
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

function run(command, args, expect) {
  const result = spawnSync(command, args, { encoding: 'utf8' });
  if (result.status !== expect) {
    throw new Error(
      `${command} ${args.join(' ')}: exit ${result.status}, expected ${expect}\n${result.stdout}${result.stderr}`,
    );
  }
}

const sizes = [100, 10_000];
const results = {};
let untuned;
for (const count of sizes) {
  const dir = generate(count);
  // Build both once; then lbuild once more, so its stamp holds settled (not racy) stat records,
  // and check that both now answer "up to date".
  run('node', [lbuild, '-C', dir], 0);
  run('make', ['-s', '-C', dir], 0);
  run('node', [lbuild, '-C', dir], 0);
  run('node', [lbuild, '-q', '-C', dir], 0);
  run('make', ['-q', '-C', dir], 0);
  const runs = Number(process.env.RUNS ?? (count > 1000 ? 20 : 30));
  results[count] = interleaved(
    [
      { name: 'lbuild -q', command: 'node', args: [lbuild, '-q', '-C', dir], expectStatus: 0 },
      { name: 'node -e 0', command: 'node', args: ['-e', '0'], expectStatus: 0 },
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

const ms = (v) => `${v.toFixed(1)} ms`.padStart(11);
const load = loadavg()[0].toFixed(1);
console.log(
  `no-op check, medians of interleaved runs; node ${process.version}, ${cpus().length} CPUs, load average ${load}`,
);
console.log(
  `${'files'.padEnd(8)}${'lbuild -q'.padStart(11)}${'node -e 0'.padStart(11)}${'make -q'.padStart(11)}`,
);
for (const count of sizes) {
  const r = results[count];
  console.log(
    `${String(count).padEnd(8)}${ms(r['lbuild -q'])}${ms(r['node -e 0'])}${ms(r['make -q'])}`,
  );
}
const small = results[100];
const large = results[10_000];
const ratioSmall = small['lbuild -q'] / small['node -e 0'];
const ratioLarge = large['lbuild -q'] / (large['node -e 0'] + large['make -q']);
console.log(
  `100 files:    lbuild -q / node -e 0             = ${ratioSmall.toFixed(2)}  (aim ≤ 1.30)`,
);
console.log(
  `10,000 files: lbuild -q / (node -e 0 + make -q) = ${ratioLarge.toFixed(2)}  (aim ≤ 1.50)`,
);
console.log(
  `(make -q with its built-in rules left on, 10,000 files: ${untuned.toFixed(0)} ms, median of 3)`,
);
