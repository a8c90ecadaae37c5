// Cold import of a numpy handler from an extracted bundle, with and without `bytecode`: what
// compiling ahead of time saves a Lambda cold start, where /var/task is read-only and Python
// cannot write the pycs it compiles (so without them it compiles every module on every start).
//
//   node bench/bytecode/run.mjs         (or: node bench/run.mjs bytecode; needs `pnpm build`)
//   RUNS=30 node bench/bytecode/run.mjs (fresh processes per case; default 15)
//   PYTHON=python3.12 node bench/bytecode/run.mjs   (the interpreter; default python3.11)
//
// No index is used: numpy is copied from the interpreter's own installation into a project as
// sources (with numpy.libs, its bundled shared libraries), beside handler.py, and bench/.work/
// bytecode/ gets one lbuild.toml with three bundles of it: `none`, `unchecked-hash` and
// `checked-hash`. Each zip is extracted with unzip, as Lambda does, and each case is a fresh
// `PYTHON -B -I -S` (no pyc writing, no site-packages: numpy comes from the extracted bundle,
// which is checked) that imports the handler; the cases run round-robin, so machine noise hits
// them alike. Reported: the median of the import as the process times it (perf_counter around
// `import handler`), the median of the whole process, and the ratios to `none`.
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { median } from '../timing.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const repo = join(here, '..', '..');
const work = join(repo, 'bench', '.work', 'bytecode');
const lbuild = join(repo, 'packages', 'cli', 'bin', 'lbuild.cjs');
const python = process.env.PYTHON ?? 'python3.11';
const runs = Number(process.env.RUNS ?? 15);

if (!existsSync(join(repo, 'packages', 'cli', 'bundle', 'lbuild.cjs'))) {
  console.error('bench/bytecode: the CLI is not built; run `pnpm build` first');
  process.exit(2);
}
let located;
try {
  located = JSON.parse(
    execFileSync(
      python,
      [
        '-c',
        'import json, os, sys, numpy; d = os.path.dirname(numpy.__file__); print(json.dumps({"executable": sys.executable, "numpy": d, "libs": d + ".libs", "version": numpy.__version__, "python": "%d.%d" % sys.version_info[:2]}))',
      ],
      { encoding: 'utf8' },
    ),
  );
} catch {
  console.error(`bench/bytecode: ${python} cannot import numpy (set PYTHON to one that can)`);
  process.exit(2);
}

const project = join(work, 'project');
rmSync(work, { recursive: true, force: true });
mkdirSync(project, { recursive: true });
cpSync(located.numpy, join(project, 'numpy'), { recursive: true });
const sources = ['handler.py', 'numpy'];
if (existsSync(located.libs)) {
  cpSync(located.libs, join(project, 'numpy.libs'), { recursive: true });
  sources.push('numpy.libs');
}
writeFileSync(
  join(project, 'handler.py'),
  'import numpy as np\n\n\ndef handler(event, context):\n    return float(np.arange(10).sum())\n',
);
const modes = ['none', 'unchecked-hash', 'checked-hash'];
writeFileSync(
  join(project, 'lbuild.toml'),
  modes
    .map(
      (mode) => `[bundle.${mode.replace('-hash', '')}]
sources        = ${JSON.stringify(sources)}
python         = "${located.python}"
runtime-python = "${python}"
bytecode       = "${mode}"
`,
    )
    .join('\n'),
);
const built = spawnSync(process.execPath, [lbuild], { cwd: project, encoding: 'utf8' });
if (built.status !== 0) {
  console.error(
    `bench/bytecode: lbuild failed (exit ${built.status})\n${built.stdout}${built.stderr}`,
  );
  process.exit(1);
}

const IMPORT = String.raw`
import sys, time
sys.path.insert(0, sys.argv[1])
start = time.perf_counter()
import handler
took = time.perf_counter() - start
assert handler.np.__file__.startswith(sys.argv[1]), handler.np.__file__
assert handler.handler({}, None) == 45.0
print(took * 1000)
`;

const cases = modes.map((mode) => {
  const dir = join(work, mode);
  mkdirSync(dir);
  execFileSync('unzip', [
    '-q',
    join(project, 'dist', `${mode.replace('-hash', '')}.zip`),
    '-d',
    dir,
  ]);
  return { mode, dir, imports: [], processes: [] };
});

const warmup = 2;
for (let i = 0; i < warmup + runs; i++) {
  for (const c of cases) {
    const start = process.hrtime.bigint();
    // The interpreter itself, not a version manager's shim, whose start would swamp the import.
    const result = spawnSync(located.executable, ['-B', '-I', '-S', '-c', IMPORT, c.dir], {
      encoding: 'utf8',
    });
    const ms = Number(process.hrtime.bigint() - start) / 1e6;
    if (result.status !== 0) {
      console.error(`bench/bytecode: ${c.mode}: ${result.stderr}`);
      process.exit(1);
    }
    if (i < warmup) continue;
    c.imports.push(Number(result.stdout.trim()));
    c.processes.push(ms);
  }
}

const base = cases[0];
console.log(`numpy ${located.version}, ${python}, ${runs} fresh processes per case (medians, ms):`);
for (const c of cases) {
  const imp = median(c.imports);
  const proc = median(c.processes);
  const ratio = (value, of) => (value / of).toFixed(2);
  console.log(
    `  bytecode = ${c.mode.padEnd(15)} import handler ${imp.toFixed(1).padStart(7)}  process ${proc
      .toFixed(1)
      .padStart(7)}  ratio to none: import ${ratio(imp, median(base.imports))}, process ${ratio(
      proc,
      median(base.processes),
    )}`,
  );
}
