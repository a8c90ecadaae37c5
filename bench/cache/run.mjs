// The shared cache on S3, measured as CI meets it: the large bundle (~170 MB unzipped) built cold
// in one clone, then in a fresh clone (another directory, another HOME, an empty .lbuild and
// local cache) with the cache the first build filled.
//
//   node bench/cache/run.mjs [--runs 3]          (or: node bench/run.mjs cache)
//
// A local --find-links folder makes pip unrealistically fast, so the wheels are served the way
// a remote index serves them: a PEP 503 simple index over HTTP on 127.0.0.1 that answers each
// request after ~30 ms and sends bodies at ~20 MB/s in all (one link shared by every download),
// with no pip cache (each build gets a fresh HOME). The cache is s3rver on 127.0.0.1 (a real S3
// API over HTTP, not throttled, but slow itself: it serves each object from its own disk through
// Node, and restoring the 91 MB zip from it takes seconds, so it does not flatter the warm case).
//
// Cases, each run on a fresh cache prefix:
//   cold, no cache    LBUILD_CACHE_MODE=off: the build without the cache (the baseline)
//   cold              cache read-write, nothing in it yet: the build plus its uploads
//   warm, fresh clone another copy and HOME, the cache filled by "cold"
// Also reported: the index requests the warm build made (aim: 0, pip never runs), whether its
// zip is byte-identical to the cold one, and `lbuild -q` afterwards (aim: exit 0).
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  createReadStream,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  cpSync,
} from 'node:fs';
import { createServer } from 'node:http';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import S3rver from 's3rver';
import { writeLargeProject, LARGE_SOURCES } from '../bundle/large-project.mjs';
import { writeFile } from '../bundle/small-project.mjs';
import { median } from '../timing.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const repo = join(here, '..', '..');
const work = join(repo, 'bench', '.work', 'cache');
const LBUILD = join(repo, 'packages', 'cli', 'bin', 'lbuild.cjs');

const args = process.argv.slice(2);
const option = (name, fallback) => {
  const at = args.indexOf(name);
  return at === -1 ? fallback : args[at + 1];
};
const RUNS = Number(option('--runs', process.env.RUNS ?? '3'));
const RATE = 20 * 1024 * 1024; // bytes per second, shared by all downloads
const LATENCY_MS = 30;
const BUCKET = 'lbuild-bench';

if (!existsSync(join(repo, 'packages', 'cli', 'bundle', 'lbuild.cjs'))) {
  console.error('bench/cache: the CLI is not built; run `pnpm build` first');
  process.exit(2);
}

// ---------------------------------------------------------------------------------------------
// The project and the index

const source = join(work, 'project');
if (!existsSync(join(source, 'requirements.txt'))) {
  rmSync(source, { recursive: true, force: true });
  writeLargeProject(source, join(repo, 'bench', '.work', 'bundle', 'large-fixture'));
}
const wheelsDir = join(source, 'wheels');
const wheels = readdirSync(wheelsDir).filter((f) => f.endsWith('.whl'));

/** PEP 503 names: lower case, runs of -_. as one -. */
const normalise = (name) => name.toLowerCase().replace(/[-_.]+/g, '-');
const byProject = new Map();
for (const file of wheels) {
  const project = normalise(file.split('-')[0]);
  const sha = createHash('sha256')
    .update(readFileSync(join(wheelsDir, file)))
    .digest('hex');
  byProject.set(project, [...(byProject.get(project) ?? []), { file, sha }]);
}

/** The next moment the shared link is free, in ms (performance.now()). */
let linkFreeAt = 0;
let requests = 0;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));

async function sendThrottled(response, path) {
  const stream = createReadStream(path, { highWaterMark: 64 * 1024 });
  for await (const chunk of stream) {
    const start = Math.max(performance.now(), linkFreeAt);
    linkFreeAt = start + (chunk.length / RATE) * 1000;
    await sleep(linkFreeAt - performance.now());
    if (!response.write(chunk)) await new Promise((resolve) => response.once('drain', resolve));
  }
  response.end();
}

const index = createServer((request, response) => {
  requests++;
  const url = new URL(request.url ?? '/', 'http://index');
  setTimeout(() => {
    const html = (body) => {
      response.writeHead(200, { 'content-type': 'text/html' });
      response.end(`<!DOCTYPE html><html><body>\n${body}</body></html>\n`);
    };
    const project = /^\/simple\/([^/]+)\/$/.exec(url.pathname)?.[1];
    const file = /^\/files\/([^/]+\.whl)$/.exec(url.pathname)?.[1];
    if (url.pathname === '/simple/') {
      html([...byProject.keys()].map((p) => `<a href="/simple/${p}/">${p}</a>\n`).join(''));
    } else if (project && byProject.has(normalise(project))) {
      html(
        byProject
          .get(normalise(project))
          .map((w) => `<a href="/files/${w.file}#sha256=${w.sha}">${w.file}</a>\n`)
          .join(''),
      );
    } else if (file && wheels.includes(file)) {
      response.writeHead(200, { 'content-type': 'application/octet-stream' });
      void sendThrottled(response, join(wheelsDir, file));
    } else {
      response.writeHead(404);
      response.end('not found\n');
    }
  }, LATENCY_MS);
});
await new Promise((resolve) => index.listen(0, '127.0.0.1', resolve));
const indexUrl = `http://127.0.0.1:${index.address().port}/simple/`;

const s3Dir = join(work, 's3rver');
rmSync(s3Dir, { recursive: true, force: true });
mkdirSync(s3Dir, { recursive: true });
const s3 = new S3rver({
  address: '127.0.0.1',
  port: 0,
  silent: true,
  directory: s3Dir,
  configureBuckets: [{ name: BUCKET }],
});
const s3Address = await s3.run();
const s3Endpoint = `http://127.0.0.1:${s3Address.port}`;

// ---------------------------------------------------------------------------------------------
// Clones and builds

const CONFIG = `[bundle.big]
requirements = "requirements.txt"
sources = ${JSON.stringify(LARGE_SOURCES)}
python = "3.11"
architecture = "x86_64"
output = "dist/big.zip"
index-url = "${indexUrl}"
pip-config = "ignore"
compression-level = 9
`;

/** A fresh clone: the project without its wheels folder (they come from the index). */
function clone(name) {
  const dir = join(work, 'clones', name);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  for (const entry of readdirSync(source)) {
    if (entry !== 'wheels') cpSync(join(source, entry), join(dir, entry), { recursive: true });
  }
  writeFile(join(dir, 'lbuild.toml'), CONFIG);
  return dir;
}

/** An environment as on a fresh CI machine: its own HOME (no pip cache, no local lbuild cache). */
function environment(name, prefix, mode) {
  const home = join(work, 'homes', name);
  rmSync(home, { recursive: true, force: true });
  mkdirSync(home, { recursive: true });
  const env = Object.fromEntries(
    Object.entries(process.env).filter(
      ([key]) => !key.startsWith('PIP_') && !key.startsWith('AWS_') && !key.startsWith('LBUILD_'),
    ),
  );
  return {
    ...env,
    HOME: home,
    XDG_CACHE_HOME: join(home, '.cache'),
    PIP_CONFIG_FILE: '/dev/null',
    NO_COLOR: '1',
    // s3rver's own fixed key pair; nothing here reaches AWS.
    AWS_ACCESS_KEY_ID: 'S3RVER',
    AWS_SECRET_ACCESS_KEY: 'S3RVER',
    AWS_REGION: 'us-east-1',
    AWS_ENDPOINT_URL_S3: s3Endpoint,
    LBUILD_CACHE_URL: `s3://${BUCKET}/${prefix}`,
    LBUILD_CACHE_MODE: mode,
  };
}

/**
 * Runs lbuild without blocking this process: the index and s3rver answer from its event loop.
 */
function build(dir, env, extra = []) {
  const start = process.hrtime.bigint();
  const child = spawn(process.execPath, [LBUILD, ...extra], { cwd: dir, env });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (text) => (stdout += text));
  child.stderr.setEncoding('utf8').on('data', (text) => (stderr += text));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (status) => {
      const ms = Number(process.hrtime.bigint() - start) / 1e6;
      resolve({ ms, status, stdout, stderr });
    });
  });
}

const sha256 = (path) => createHash('sha256').update(readFileSync(path)).digest('hex');

function mustSucceed(what, result) {
  if (result.status !== 0) {
    console.error(`bench/cache: ${what} failed (exit ${result.status})\n${result.stderr}`);
    throw new Error(`${what} failed`);
  }
}

const samples = { off: [], cold: [], warm: [] };
const checks = [];
try {
  for (let run = 0; run < RUNS; run++) {
    const prefix = `run-${process.pid}-${run}`;

    const base = clone('baseline');
    const off = await build(base, environment('baseline', prefix, 'off'));
    mustSucceed('cold build without the cache', off);
    samples.off.push(off.ms);

    const first = clone('first');
    const cold = await build(first, environment('first', prefix, 'read-write'));
    mustSucceed('cold build', cold);
    samples.cold.push(cold.ms);

    const fresh = clone('fresh');
    const env = environment('fresh', prefix, 'read-write');
    const before = requests;
    const warm = await build(fresh, env, ['--json']);
    mustSucceed('warm build in a fresh clone', warm);
    samples.warm.push(warm.ms);
    const query = await build(fresh, env, ['-q']);
    const statuses = {};
    try {
      for (const target of JSON.parse(warm.stdout).targets ?? [])
        statuses[target.status] = (statuses[target.status] ?? 0) + 1;
    } catch {
      statuses.unparsed = 1;
    }
    checks.push({
      indexRequests: requests - before,
      identical: sha256(join(first, 'dist/big.zip')) === sha256(join(fresh, 'dist/big.zip')),
      sameAsNoCache: sha256(join(base, 'dist/big.zip')) === sha256(join(fresh, 'dist/big.zip')),
      queryExit: query.status,
      statuses,
    });
    console.log(
      `run ${run + 1}/${RUNS}: cold (no cache) ${(off.ms / 1000).toFixed(2)} s, cold ${(cold.ms / 1000).toFixed(2)} s, warm fresh clone ${(warm.ms / 1000).toFixed(2)} s`,
    );
  }
} finally {
  index.close();
  index.closeAllConnections();
  const closing = s3.close();
  s3.httpServer?.closeAllConnections();
  await closing;
  rmSync(join(work, 'clones'), { recursive: true, force: true });
  rmSync(join(work, 'homes'), { recursive: true, force: true });
  rmSync(s3Dir, { recursive: true, force: true });
}

const cold = median(samples.cold);
const off = median(samples.off);
const warm = median(samples.warm);
console.log(`\nbench/cache: the large bundle (${wheels.length} wheels), medians of ${RUNS} runs`);
console.log(
  `index: ~${RATE / 1024 / 1024} MB/s shared, ${LATENCY_MS} ms per request; cache: s3rver`,
);
console.log(`  cold, no cache         ${(off / 1000).toFixed(2)} s`);
console.log(
  `  cold, cache filled     ${(cold / 1000).toFixed(2)} s   (${(cold / off).toFixed(2)} × no cache)`,
);
console.log(
  `  warm, fresh clone      ${(warm / 1000).toFixed(2)} s   (${(warm / cold).toFixed(3)} × cold; aim ≤ 0.15)`,
);
for (const [i, c] of checks.entries()) {
  console.log(
    `  run ${i + 1}: index requests in the warm build ${c.indexRequests} (aim 0), zip identical to cold ${c.identical} and to no-cache ${c.sameAsNoCache}, -q after it exit ${c.queryExit} (aim 0), targets ${JSON.stringify(c.statuses)}`,
  );
}
const ok = checks.every((c) => c.identical && c.sameAsNoCache && c.queryExit === 0);
process.exit(ok ? 0 : 1);
