// Watch-mode benchmark, on a copy of examples/hello-lambda (bench/.work/watch/):
//
//  1. edit → new zip: the time from a saved edit (the write of hello/handler.py) to the new zip
//     on disk, over EDITS edits, each waiting for its own rebuild line. The zip is detected by
//     an fs.watch on dist/ plus a stat poll, and checked against the sha256 the line prints.
//  2. idle CPU: the CPU time (utime + stime from /proc/PID/stat) a watching lbuild uses over
//     IDLE_S seconds with no change, in % of one core.
//
// Each under native events and polling (`--poll 100`, for information). Aims (native events):
// median edit → zip under 300 ms, idle CPU under 1 %.
//
//   node bench/watch/run.mjs           (or: node bench/run.mjs watch)
//   EDITS=30 IDLE_S=20 node bench/watch/run.mjs
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, readFileSync, rmSync, statSync, watch, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const repo = join(here, '..', '..');
const work = join(repo, 'bench', '.work', 'watch');
const example = join(repo, 'examples', 'hello-lambda');
const lbuild = join(repo, 'packages', 'cli', 'bin', 'lbuild.cjs');
const EDITS = Number(process.env.EDITS ?? 15);
const WARMUP = 2;
const IDLE_S = Number(process.env.IDLE_S ?? 10);
const CLK_TCK = 100; // Linux's USER_HZ: /proc/PID/stat counts CPU time in 1/100 s.

if (!existsSync(join(repo, 'packages', 'cli', 'bundle', 'lbuild.cjs'))) {
  console.error('bench/watch: the CLI is not built; run `pnpm build` first');
  process.exit(2);
}
if (!existsSync('/proc/self/stat')) {
  console.error('bench/watch: needs Linux /proc for the CPU figures');
  process.exit(2);
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};
const sha256 = (path) => createHash('sha256').update(readFileSync(path)).digest('hex');

/** A fresh copy of the example, without build state. */
function freshProject(name) {
  const dir = join(work, name);
  rmSync(dir, { recursive: true, force: true });
  cpSync(example, dir, {
    recursive: true,
    filter: (source) =>
      !relative(example, source)
        .split(sep)
        .some((part) => part === '.lbuild' || part === 'dist' || part === '__pycache__'),
  });
  return dir;
}

/** `lbuild --watch ARGS` in `dir`, with its stdout collected. */
function startWatch(dir, args) {
  const child = spawn(process.execPath, [lbuild, '--watch', ...args], {
    cwd: dir,
    env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: undefined },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const session = { child, stdout: '', stderr: '', lineTimes: [] };
  child.stdout.setEncoding('utf8').on('data', (text) => {
    const now = performance.now();
    session.stdout += text;
    for (const line of text.split('\n')) if (line.includes(' → ')) session.lineTimes.push(now);
  });
  child.stderr.setEncoding('utf8').on('data', (text) => (session.stderr += text));
  return session;
}

async function waitFor(condition, what, timeoutMs = 30_000) {
  const deadline = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(1);
  }
}

async function stop(session) {
  const exited = new Promise((resolve) => session.child.once('exit', resolve));
  session.child.kill('SIGINT');
  await exited;
}

/** utime + stime of a process, in clock ticks. */
function cpuTicks(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // Fields 14 and 15 of stat(5); fields[0] here is field 3 (state).
  return Number(fields[11]) + Number(fields[12]);
}

async function measure(mode, args) {
  const dir = freshProject(mode.replace(/\W+/g, '-'));
  const zip = join(dir, 'dist', 'hello.zip');
  const handler = join(dir, 'hello', 'handler.py');
  const original = readFileSync(handler, 'utf8');
  const session = startWatch(dir, args);
  try {
    await waitFor(() => session.stdout.includes('watching '), 'lbuild to start watching');
    await waitFor(() => existsSync(zip), 'the first zip');

    // The zip is written to a temporary file and renamed into place: a new inode.
    let zipSeen = 0;
    let lastIno = statSync(zip).ino;
    const check = () => {
      try {
        const ino = statSync(zip).ino;
        if (ino !== lastIno) {
          lastIno = ino;
          zipSeen = performance.now();
        }
      } catch {
        // Between the unlink and the rename (there is none with rename(2), but be safe).
      }
    };
    const dirWatcher = watch(join(dir, 'dist'), check);
    const poller = setInterval(check, 2);

    const toZip = [];
    const toLine = [];
    for (let i = 0; i < WARMUP + EDITS; i++) {
      const lines = session.lineTimes.length;
      zipSeen = 0;
      const content = `${original}\n# edit ${i}\n`;
      const saved = performance.now();
      writeFileSync(handler, content);
      await waitFor(
        () => session.lineTimes.length > lines && zipSeen > 0,
        `the rebuild of edit ${i} (stdout so far:\n${session.stdout}\n${session.stderr})`,
      );
      const line = session.stdout.trimEnd().split('\n').at(-1);
      const printed = /sha256 ([0-9a-f]{64})/.exec(line)?.[1];
      if (printed !== sha256(zip))
        throw new Error(`edit ${i}: the zip on disk is not the one the line names:\n${line}`);
      if (i >= WARMUP) {
        toZip.push(zipSeen - saved);
        toLine.push(session.lineTimes[lines] - saved);
      }
      // Past chokidar's 50 ms change throttle, so that each edit is a save of its own.
      await sleep(60);
    }
    clearInterval(poller);
    dirWatcher.close();

    // Idle: let everything settle, then count CPU time over IDLE_S seconds with no change.
    await sleep(1000);
    const linesBefore = session.lineTimes.length;
    const before = cpuTicks(session.child.pid);
    const idleStart = performance.now();
    await sleep(IDLE_S * 1000);
    const ticks = cpuTicks(session.child.pid) - before;
    const seconds = (performance.now() - idleStart) / 1000;
    if (session.lineTimes.length !== linesBefore) throw new Error('a rebuild happened while idle');
    const idle = (ticks / CLK_TCK / seconds) * 100;
    return { toZip, toLine, idle, ticks, seconds };
  } finally {
    await stop(session);
  }
}

const fmt = (ms) => `${ms.toFixed(0)} ms`;
console.log(
  `lbuild --watch on examples/hello-lambda: ${EDITS} edits (+${WARMUP} warm-up), ${IDLE_S} s idle; ${availableParallelism()} cores, Node ${process.version}`,
);
const results = [];
for (const [mode, args] of [
  ['native events', []],
  ['polling 100 ms', ['--poll', '100']],
]) {
  const r = await measure(mode, args);
  results.push({ mode, ...r });
  console.log(
    `${mode.padEnd(15)} edit → new zip on disk: median ${fmt(median(r.toZip))} (min ${fmt(Math.min(...r.toZip))}, max ${fmt(Math.max(...r.toZip))}); edit → line: median ${fmt(median(r.toLine))}; idle CPU ${r.idle.toFixed(2)} % of one core (${r.ticks} ticks in ${r.seconds.toFixed(1)} s)`,
  );
}
const native = results[0];
const latencyOk = median(native.toZip) < 300;
const idleOk = native.idle < 1;
console.log(
  `aims (native events): edit → zip under 300 ms: ${latencyOk ? 'met' : 'MISSED'}; idle CPU under 1 %: ${idleOk ? 'met' : 'MISSED'}`,
);
