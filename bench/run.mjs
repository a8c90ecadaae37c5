// Runs the benchmarks: each directory bench/NAME/ with a run.mjs is one.
//
//   node bench/run.mjs              every benchmark, one after another
//   node bench/run.mjs noop zip     only these
//   node bench/run.mjs --list       their names
//
// Each benchmark prints its own figures; this exits non-zero if any of them failed.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const available = readdirSync(here, { withFileTypes: true })
  .filter((entry) => entry.isDirectory() && existsSync(join(here, entry.name, 'run.mjs')))
  .map((entry) => entry.name)
  .sort();

const args = process.argv.slice(2);
if (args.includes('--list')) {
  console.log(available.join('\n'));
  process.exit(0);
}
const unknown = args.filter((name) => !available.includes(name));
if (unknown.length > 0) {
  console.error(
    `bench: no benchmark named ${unknown.join(', ')} (there are: ${available.join(', ') || 'none'})`,
  );
  process.exit(2);
}

let failed = 0;
for (const name of args.length > 0 ? args : available) {
  console.log(`== ${name}`);
  const result = spawnSync(process.execPath, [join(here, name, 'run.mjs')], { stdio: 'inherit' });
  if (result.status !== 0) {
    console.error(`bench: ${name} failed (exit ${result.status ?? result.signal})`);
    failed++;
  }
}
process.exit(failed > 0 ? 1 : 0);
