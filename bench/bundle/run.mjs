// lbuild's [bundle.NAME] against the Makefile of the write-up lbuild grew from (pip
// wheel → staging → unzip + touch → zip -q -X -9 -r), adapted only to use local wheels (pip
// --no-index --find-links), on the same project, in one run. Each case runs lbuild and make
// alternately (interleaved, so machine noise hits both alike) and reports medians:
//
//   cold          no .lbuild, no .make, no dist: every wheel fetched (from ./wheels), staged,
//                 unpacked and zipped
//   no-op         nothing changed
//   touch-only    every source file (and the extra file settings.json) touched, content unchanged
//   one edit      one source file edited
//
// Two projects: "small" (like the seed's: seven pure wheels, ~2.5 MB unzipped, a package of a
// dozen modules, settings.json) and "large" (~170 MB unzipped, ~2,840 files: bench/zip's synthetic wheels of
// compressible .py text and incompressible .so-like bytes, made from a seeded PRNG, plus 40
// project files). Fixtures are cached under bench/.work/bundle/ (gitignored).
//
//   node bench/bundle/run.mjs [--runs 5] [--only small|large]      (or: node bench/run.mjs bundle)
//
// Also reported: the targets lbuild ran for no-op and touch-only (aim: 0), whether make thought
// it had work (make -q), and peak RSS (/usr/bin/time -f %M: the process's maximum resident set,
// worker threads included, since they share the process).
import { spawnSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { availableParallelism, cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { median } from '../timing.mjs';
import { LARGE_PARAMS, writeLargeProject } from './large-project.mjs';
import { prng, writeFile, writeFunctionPackage, writeSmallWheels } from './small-project.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const repo = join(here, '..', '..');
const work = join(repo, 'bench', '.work', 'bundle');
const LBUILD = join(repo, 'packages', 'cli', 'bin', 'lbuild.cjs');
const TIME = '/usr/bin/time';

const args = process.argv.slice(2);
const option = (name, fallback) => {
  const at = args.indexOf(name);
  return at === -1 ? fallback : args[at + 1];
};
const RUNS = Number(option('--runs', process.env.RUNS ?? '5'));
const ONLY = option('--only', undefined);

if (!existsSync(join(repo, 'packages', 'cli', 'bundle', 'lbuild.cjs'))) {
  console.error('bench/bundle: the CLI is not built; run `pnpm build` first');
  process.exit(2);
}
if (!existsSync(TIME)) {
  console.error(
    `bench/bundle: ${TIME} is missing (Debian: apt-get install time); it measures peak RSS`,
  );
  process.exit(2);
}

/** One environment for both: no PIP_* settings (lbuild ignores them; make's pip must too). */
const ENV = Object.fromEntries(
  Object.entries({ ...process.env, PIP_CONFIG_FILE: '/dev/null', NO_COLOR: '1' }).filter(
    ([key]) => !key.startsWith('PIP_') || key === 'PIP_CONFIG_FILE',
  ),
);

// ---------------------------------------------------------------------------------------------
// Fixtures

/** The seed's Makefile, adapted only to local wheels; `sources` and `extra` are what it copies. */
function makefile({ sources, extra }) {
  return `# The seed's Makefile (lambda-zips.txt), adapted only to take wheels from ./wheels
# (pip --no-index --find-links) and, as the seed's "cp" variant, to copy the sources in.
src_dir := $(CURDIR)
build_date := @315532800
wheel_dir := $(src_dir)/.make/wheelhouse
output_wheel_dir := $(src_dir)/.make/staging
output_tree_dir := $(src_dir)/.make/tree
wheelhouse_stamp := $(src_dir)/.make/wheelhouse-stamp
staging_stamp := $(src_dir)/.make/staging-stamp
staging_tree_stamp := $(src_dir)/.make/tree-stamp
output_zip := $(src_dir)/dist/make.zip
sources := ${sources}
extra_files := ${extra}
project_files := $(shell find $(sources) -type f -name '*.py')
pip := python3 -m pip --disable-pip-version-check

all: $(output_zip)
.PHONY: all clean

$(wheelhouse_stamp): $(src_dir)/requirements.txt
\t@mkdir -p $(dir $@)
\t$(pip) wheel -q --no-index --find-links=$(src_dir)/wheels -r requirements.txt --wheel-dir=$(wheel_dir) --find-links=$(wheel_dir)
\ttouch $@

$(staging_stamp): $(src_dir)/requirements.txt $(wheelhouse_stamp)
\trm -rf $(output_wheel_dir)
\t$(pip) wheel -q --no-index -r requirements.txt --wheel-dir=$(output_wheel_dir) --find-links=$(wheel_dir)
\ttouch $@

$(staging_tree_stamp): $(staging_stamp) $(project_files) $(extra_files)
\trm -rf $(output_tree_dir)
\tunzip -q "$(output_wheel_dir)/*.whl" -d $(output_tree_dir)
\tcp -a $(sources) $(extra_files) $(output_tree_dir)/
\tfind "$(output_tree_dir)" -newermt "$(build_date)" -print0 | xargs -0r touch --no-dereference --date="$(build_date)"
\ttouch $@

$(output_zip): $(staging_tree_stamp)
\t@mkdir -p $(dir $@)
\trm -f $(output_zip)
\tcd $(output_tree_dir) && zip -q -X -9 -r $(output_zip) *

clean:
\trm -f $(staging_tree_stamp) $(staging_stamp) $(wheelhouse_stamp)
\trm -f $(output_zip)
\trm -rf $(output_tree_dir)
`;
}

const SMALL_VERSION = 2;

/**
 * The small project, sized like a typical function of the seed's kind (an HTTP client and its
 * dependencies, a date library): five pure wheels, ~160 files, ~2.5 MB unzipped, with a chain of
 * dependencies among them; myproject/ (a handler and a dozen modules) and settings.json.
 */
function smallProject() {
  const dir = join(work, 'small-src');
  const marker = join(dir, '.params');
  if (existsSync(marker) && readFileSync(marker, 'utf8') === String(SMALL_VERSION)) return dir;
  rmSync(dir, { recursive: true, force: true });
  const random = prng(1980);
  const requirements = writeSmallWheels(random, join(dir, 'wheels'), ENV);
  writeFile(join(dir, 'requirements.txt'), requirements.join('\n') + '\n');
  writeFunctionPackage(random, join(dir, 'myproject'));
  writeFile(
    join(dir, 'settings.json'),
    JSON.stringify({ queue: 'https://sqs.example/myqueue', stage: 'prod' }, null, 2) + '\n',
  );
  writeFile(
    join(dir, 'lbuild.toml'),
    `[bundle.app]
requirements = "requirements.txt"
sources = ["myproject"]
files = { "settings.json" = "settings.json" }
python = "3.12"
architecture = "x86_64"
output = "dist/app.zip"
find-links = ["wheels"]
no-index = true
compression-level = 9   # as zip -9
`,
  );
  writeFile(join(dir, 'Makefile'), makefile({ sources: 'myproject', extra: 'settings.json' }));
  writeFileSync(marker, String(SMALL_VERSION));
  return dir;
}

const LARGE_VERSION = 1;

/**
 * The large project: bench/zip's fixture (20 wheels of generated .py text and random .so bytes,
 * 40 project files), its wheels renamed to a manylinux tag that pip downloads for the runtime
 * (python3.11 x86_64) and that pip wheel accepts on this machine.
 */
function largeProject() {
  const dir = join(work, 'large-src');
  const marker = join(dir, '.params');
  const params = JSON.stringify({ LARGE_VERSION, LARGE_PARAMS });
  if (existsSync(marker) && readFileSync(marker, 'utf8') === params) return dir;
  rmSync(dir, { recursive: true, force: true });
  writeLargeProject(dir, join(work, 'large-fixture'));
  writeFile(
    join(dir, 'lbuild.toml'),
    `[bundle.big]
requirements = "requirements.txt"
sources = ["handler.py", "app"]
python = "3.11"
architecture = "x86_64"
output = "dist/big.zip"
find-links = ["wheels"]
no-index = true
compression-level = 9   # as zip -9
`,
  );
  writeFile(join(dir, 'Makefile'), makefile({ sources: 'handler.py app', extra: '' }));
  writeFileSync(marker, params);
  return dir;
}

// ---------------------------------------------------------------------------------------------
// Running

/** Every file below `dir`, relative. */
function filesBelow(dir, rel = '') {
  const out = [];
  for (const entry of readdirSync(join(dir, rel), { withFileTypes: true })) {
    const path = rel ? `${rel}/${entry.name}` : entry.name;
    if (entry.isDirectory()) out.push(...filesBelow(dir, path));
    else out.push(path);
  }
  return out;
}

/** Runs a command under /usr/bin/time; returns wall ms, exit status, stdout, peak RSS (MB). */
function timed(command, argv, cwd) {
  const rssFile = join(work, `rss-${process.pid}.txt`);
  const start = process.hrtime.bigint();
  const result = spawnSync(TIME, ['-f', '%M', '-o', rssFile, command, ...argv], {
    cwd,
    env: ENV,
    encoding: 'utf8',
    maxBuffer: 1 << 26,
  });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  const kb = Number(readFileSync(rssFile, 'utf8').trim().split('\n').at(-1));
  rmSync(rssFile, { force: true });
  return {
    ms,
    status: result.status,
    stdout: result.stdout,
    stderr: result.stderr,
    rssMB: kb / 1024,
  };
}

const tools = {
  lbuild: {
    clean: (dir) => {
      rmSync(join(dir, '.lbuild'), { recursive: true, force: true });
      rmSync(join(dir, 'dist'), { recursive: true, force: true });
    },
    run: (dir) => {
      const r = timed(process.execPath, [LBUILD, '--json', '-C', dir], dir);
      if (r.status !== 0) throw new Error(`lbuild failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
      const summary = JSON.parse(r.stdout);
      const zip = summary.targets.find((t) => t.kind === 'zip');
      return {
        ...r,
        ran: summary.targets.filter((t) => t.status === 'built').length,
        sha256: zip?.value?.sha256,
        unzippedSize: zip?.value?.unzippedSize,
      };
    },
    zip: (dir, name) => join(dir, 'dist', `${name}.zip`),
  },
  make: {
    clean: (dir) => {
      rmSync(join(dir, '.make'), { recursive: true, force: true });
      rmSync(join(dir, 'dist'), { recursive: true, force: true });
    },
    run: (dir) => {
      const q = spawnSync('make', ['-q', '-C', dir], { env: ENV });
      const r = timed('make', ['-s', '-C', dir], dir);
      if (r.status !== 0) throw new Error(`make failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
      return { ...r, ran: q.status === 0 ? 0 : 1 };
    },
    zip: (dir) => join(dir, 'dist', 'make.zip'),
  },
};

/** The cases, in the order one round runs them; `before` prepares the project dir of a tool. */
function cases(project, original) {
  return [
    {
      name: 'cold',
      before: (tool, dir) => {
        tools[tool].clean(dir);
        // Undo the last round's edit: every cold build sees the same sources.
        writeFileSync(join(dir, project.edited), original);
      },
    },
    { name: 'no-op', before: () => {} },
    {
      name: 'touch-only',
      before: (tool, dir, round) => {
        // Now (not a future time, which would leave make's later stamps older than the sources).
        const when = new Date();
        for (const file of project.sourceFiles(dir)) utimesSync(join(dir, file), when, when);
      },
    },
    {
      name: 'one edit',
      before: (tool, dir, round) => {
        const file = join(dir, project.edited);
        writeFileSync(file, `${readFileSync(file, 'utf8')}\n# edit ${round}\n`);
      },
    },
  ];
}

const AIMS = {
  cold: { ratio: 1.0, text: '≤ 1.0 × make' },
  'no-op': { ran: 0, text: '0 targets run' },
  'touch-only': { ran: 0, text: '0 targets run' },
  'one edit': {
    small: 0.25,
    large: 0.1,
    text: (p) => `≤ ${p === 'small' ? '0.25' : '0.1'} × make`,
  },
};

function bench(project) {
  const src = project.make();
  const copies = {};
  for (const tool of Object.keys(tools)) {
    copies[tool] = join(work, `${project.name}-${tool}`);
    rmSync(copies[tool], { recursive: true, force: true });
    cpSync(src, copies[tool], { recursive: true });
  }
  const list = cases(project, readFileSync(join(src, project.edited), 'utf8'));
  const samples = {};
  for (const c of list) for (const tool of Object.keys(tools)) samples[`${c.name}|${tool}`] = [];
  const rounds = RUNS + 1; // the first round warms the page cache and is not counted
  for (let round = 0; round < rounds; round++) {
    // Alternate which tool goes first, so neither always runs on a cache the other warmed.
    const order = round % 2 === 0 ? ['lbuild', 'make'] : ['make', 'lbuild'];
    for (const c of list) {
      for (const tool of order) {
        c.before(tool, copies[tool], round);
        const result = tools[tool].run(copies[tool]);
        if (round > 0) samples[`${c.name}|${tool}`].push(result);
      }
    }
    process.stderr.write(
      `  ${project.name}: round ${round + 1}/${rounds}${round === 0 ? ' (warm-up)' : ''} done\n`,
    );
  }
  const lbuildZip = tools.lbuild.zip(copies.lbuild, project.bundle);
  const makeZip = tools.make.zip(copies.make);
  const unzipTest = spawnSync('unzip', ['-tq', lbuildZip], { encoding: 'utf8' });
  const entries = Number(
    /(\d+) files?/.exec(
      spawnSync('unzip', ['-l', lbuildZip], { encoding: 'utf8' }).stdout.trim().split('\n').at(-1),
    )?.[1],
  );
  const coldDigests = new Set(samples['cold|lbuild'].map((s) => s.sha256));
  const sizes = { lbuild: statSync(lbuildZip).size, make: statSync(makeZip).size };
  for (const tool of Object.keys(tools)) rmSync(copies[tool], { recursive: true, force: true });
  return {
    project,
    list,
    samples,
    sizes,
    unzipOk: unzipTest.status === 0,
    entries,
    coldIdentical: coldDigests.size === 1,
    unzippedSize: samples['cold|lbuild'][0].unzippedSize,
  };
}

// ---------------------------------------------------------------------------------------------
// Report

const PROJECTS = [
  {
    name: 'small',
    bundle: 'app',
    make: smallProject,
    sourceFiles: (dir) => [...filesBelow(dir, 'myproject'), 'settings.json'],
    edited: 'myproject/core/m2.py',
  },
  {
    name: 'large',
    bundle: 'big',
    make: largeProject,
    sourceFiles: (dir) => ['handler.py', ...filesBelow(dir, 'app')],
    edited: 'app/part2/m7.py',
  },
].filter((p) => ONLY === undefined || p.name === ONLY);

const fmt = (ms) => (ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(0)} ms`);
const mb = (bytes) => `${(bytes / 1e6).toFixed(1)} MB`;

mkdirSync(work, { recursive: true });
const cpu = cpus()[0]?.model ?? 'unknown CPU';
// The floor under any lbuild run: starting Node at all.
const floor = median(
  Array.from({ length: 15 }, () => timed(process.execPath, ['-e', '0'], work).ms),
);
const load = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
console.log(
  `lbuild [bundle] vs the seed Makefile — ${availableParallelism()} CPUs (${cpu}), load average ${load}, Node ${process.version}; ${RUNS} interleaved runs per case (+1 warm-up round), medians; \`node -e 0\` alone: ${fmt(floor)}\n`,
);
const results = [];
for (const project of PROJECTS) {
  const r = bench(project);
  results.push(r);
  console.log(
    `## ${project.name}: ${r.entries} files, ${mb(r.unzippedSize)} unzipped; lbuild zip ${mb(r.sizes.lbuild)} (unzip -t ${r.unzipOk ? 'ok' : 'FAILED'}, ${r.coldIdentical ? 'same SHA-256 on every cold run' : 'DIFFERENT SHA-256 across cold runs'}), make zip ${mb(r.sizes.make)}\n`,
  );
  console.log(
    '| case | lbuild | make | lbuild/make | aim | targets lbuild ran | make -q said | lbuild peak RSS | make peak RSS |',
  );
  console.log('|---|---|---|---|---|---|---|---|---|');
  for (const c of r.list) {
    const l = r.samples[`${c.name}|lbuild`];
    const m = r.samples[`${c.name}|make`];
    const lm = median(l.map((s) => s.ms));
    const mm = median(m.map((s) => s.ms));
    const ratio = lm / mm;
    const aim = AIMS[c.name];
    const ranSet = [...new Set(l.map((s) => s.ran))].join('/');
    let met;
    if (c.name === 'cold') met = ratio <= aim.ratio;
    else if (c.name === 'one edit') met = ratio <= aim[project.name];
    else met = l.every((s) => s.ran === 0);
    const aimText = typeof aim.text === 'function' ? aim.text(project.name) : aim.text;
    const makeQ = [...new Set(m.map((s) => (s.ran ? 'stale' : 'up to date')))].join('/');
    console.log(
      `| ${c.name} | ${fmt(lm)} | ${fmt(mm)} | ${ratio.toFixed(3)} | ${aimText}: ${met ? 'met' : 'MISSED'} | ${ranSet} | ${makeQ} | ${Math.max(...l.map((s) => s.rssMB)).toFixed(0)} MB | ${Math.max(...m.map((s) => s.rssMB)).toFixed(0)} MB |`,
    );
  }
  console.log('');
}
writeFileSync(
  join(work, 'last-result.json'),
  JSON.stringify(
    results.map((r) => ({
      project: r.project.name,
      sizes: r.sizes,
      entries: r.entries,
      samples: Object.fromEntries(
        Object.entries(r.samples).map(([k, v]) => [
          k,
          v.map((s) => ({ ms: s.ms, ran: s.ran, rssMB: s.rssMB })),
        ]),
      ),
    })),
    null,
    2,
  ),
);
