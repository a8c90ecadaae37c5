/**
 * The randomized torture test of lbuild's central promise: an incremental build equals a clean
 * build of what is on disk. Each round makes random edits to a real bundle project (same-size
 * edits, edits of a local path project while pip may be running, files added and removed,
 * requirement changes), some before and some racing a running `lbuild`, sometimes SIGKILLs that
 * lbuild at a random point, and then checks that one more `lbuild` gives a zip byte-identical to
 * a clean build of the same disk state in a fresh directory, and that a `-q` after it says "up
 * to date".
 *
 * The seed is printed; `LBUILD_TORTURE_SEED=N` replays a run and `LBUILD_TORTURE_ROUNDS=N` sets
 * the number of rounds (default 8, which CI runs; run 50 or more before changing the engine).
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
  watch,
  writeFileSync,
} from 'node:fs';
import { devNull, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { makeWheels } from '../fixtures/python/wheels.js';
import { lbuildBin } from '../helpers/project.js';
import { NO_PIP_ENV, Template, sha256 } from '../bundle/rig.js';

const SEED = Number(process.env.LBUILD_TORTURE_SEED ?? Math.floor(Math.random() * 2 ** 31));
const ROUNDS = Number(process.env.LBUILD_TORTURE_ROUNDS ?? 8);

/** mulberry32: a small seeded generator, so that a printed seed replays a failing run. */
function generator(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const random = generator(SEED);
const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
const chance = (p: number): boolean => random() < p;

let template: Template;
let project: string;
const cleanBuilds = new Map<string, string>();
const scratch: string[] = [];

/**
 * Runs the built CLI in `dir`, in its own process group; resolves on the process's exit (not on
 * its pipes' close: an orphaned pip may hold them). `on(moment, key)` resolves when a target's
 * stamp is removed (the target starts to run) or written (it finished), seen through inotify on
 * `.lbuild/stamps`, so that a race lands in a chosen step within a millisecond or so.
 */
function startLbuild(dir: string, args: string[] = []) {
  const stamps = join(dir, '.lbuild', 'stamps');
  mkdirSync(stamps, { recursive: true });
  const waiters: { file: string; moment: Moment; resolve: () => void }[] = [];
  const watcher = watch(stamps, (_type, name) => {
    if (!name) return;
    const exists = existsSync(join(stamps, name));
    for (const w of waiters) {
      if (w.file === name && exists === (w.moment === 'written')) w.resolve();
    }
  });
  const child = spawn(process.execPath, [lbuildBin(), ...args], {
    cwd: dir,
    env: childEnv(),
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let output = '';
  let exited = false;
  child.stdout.setEncoding('utf8').on('data', (t: string) => (output += t));
  child.stderr.setEncoding('utf8').on('data', (t: string) => (output += t));
  const done = new Promise<{ code: number | null; signal: string | null; output: string }>(
    (resolve) =>
      child.on('exit', (code, signal) => {
        exited = true;
        watcher.close();
        for (const w of waiters) w.resolve();
        resolve({ code, signal, output });
      }),
  );
  /** Resolves at `moment` of target `key`, or when lbuild exits without it. */
  const on = (moment: Moment, key: string): Promise<void> =>
    new Promise((resolve) => {
      if (exited) resolve();
      else waiters.push({ file: `${key.replace(':', '%3a')}.json`, moment, resolve });
    });
  return { child, exited: done, on };
}

type Moment = 'removed' | 'written';

/** The environment lbuild runs with: no colour, and no pip configuration of this machine. */
function childEnv(): Record<string, string> {
  const env: Record<string, string> = { NO_COLOR: '1' };
  for (const [name, value] of Object.entries(process.env)) {
    if (value !== undefined && !(name in NO_PIP_ENV)) env[name] = value;
  }
  env.PIP_CONFIG_FILE = devNull;
  return env;
}

function lbuild(dir: string, args: string[] = []) {
  return startLbuild(dir, args).exited;
}

/** Whether any process of the group `pgid` is still alive. */
function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

async function waitGroupGone(pgid: number): Promise<void> {
  for (let i = 0; i < 600 && groupAlive(pgid); i++) await sleep(50);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The project's files as the build sees them: everything but lbuild's state and the output. */
function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (sub: string) => {
    for (const entry of readdirSync(join(dir, sub), { withFileTypes: true })) {
      const rel = sub ? `${sub}/${entry.name}` : entry.name;
      if (rel === '.lbuild' || rel === 'dist' || entry.name === '__pycache__') continue;
      if (entry.name.endsWith('.egg-info') || rel.startsWith('localpkg/build')) continue;
      if (entry.isDirectory()) walk(rel);
      else out.push(rel);
    }
  };
  walk('');
  return out.sort();
}

/** A digest of the disk state a clean build depends on. */
function stateDigest(dir: string): string {
  const hash = createHash('sha256');
  for (const rel of sourceFiles(dir)) {
    hash
      .update(rel)
      .update('\0')
      .update(readFileSync(join(dir, rel)))
      .update('\0');
    hash.update(String(statSync(join(dir, rel)).mode & 0o111));
  }
  return hash.digest('hex');
}

/** The SHA-256 of the zip a clean build of `dir`'s sources gives, in a fresh directory. */
async function cleanBuild(dir: string): Promise<string> {
  const digest = stateDigest(dir);
  const known = cleanBuilds.get(digest);
  if (known) return known;
  const fresh = mkdtempSync(join(tmpdir(), 'lbuild-torture-clean-'));
  scratch.push(fresh);
  for (const rel of sourceFiles(dir)) cpSync(join(dir, rel), join(fresh, rel));
  const result = await lbuild(fresh);
  expect(result.code, `clean build failed:\n${result.output}`).toBe(0);
  const sum = sha256(join(fresh, 'dist/fn.zip'));
  rmSync(fresh, { recursive: true, force: true });
  cleanBuilds.set(digest, sum);
  return sum;
}

/** Writes a file by a temporary name and a rename, as editors do, or in place. */
function write(rel: string, content: string): void {
  const path = join(project, rel);
  if (chance(0.5)) {
    // rename(2) replaces the file in one step: a build never sees it missing. (Node's cpSync
    // would unlink the target first, and a build racing that gap rightly reports a missing input.)
    writeFileSync(`${path}.swp`, content);
    renameSync(`${path}.swp`, path);
  } else writeFileSync(path, content);
}

/** Flips `MODE = 'AAAA'` and `'BBBB'`: an edit that keeps the file's size. */
function flip(rel: string): string {
  const text = readFileSync(join(project, rel), 'utf8');
  const next = text.includes("'AAAA'")
    ? text.replace("'AAAA'", "'BBBB'")
    : text.replace("'BBBB'", "'AAAA'");
  write(rel, next);
  return `flip ${rel}`;
}

/** The moments a race or a kill is timed by. */
const MOMENTS: ['time' | Moment, string][] = [
  ['time', ''],
  ['removed', 'fn:wheelhouse'],
  ['removed', 'fn:wheelhouse'],
  ['written', 'fn:wheelhouse'],
  ['removed', 'fn:tree'],
  ['written', 'fn:tree'],
  ['written', 'fn:tree'],
  ['removed', 'fn:zip'],
];

const EDITS: (() => string)[] = [
  () => flip('app/mode.py'),
  () => flip('app/mode.py'),
  () => flip('localpkg/localpkg/mode.py'),
  () => flip('localpkg/localpkg/mode.py'),
  () => flip('settings.json'),
  () => {
    const n = Math.floor(random() * 4);
    const rel = `app/extra_${String(n)}.py`;
    if (existsSync(join(project, rel))) {
      rmSync(join(project, rel));
      return `remove ${rel}`;
    }
    write(rel, `VALUE = ${String(n)}\n`);
    return `add ${rel}`;
  },
  () => {
    const lines = readFileSync(join(project, 'requirements.txt'), 'utf8').split('\n');
    const has = lines.includes('delta==1.0');
    const next = has ? lines.filter((l) => l !== 'delta==1.0') : [...lines, 'delta==1.0'];
    write('requirements.txt', next.filter((l) => l !== '').join('\n') + '\n');
    return has ? 'drop delta' : 'add delta';
  },
  () => {
    const rel = 'requirements.txt';
    const text = readFileSync(join(project, rel), 'utf8');
    write(rel, text.includes('# note') ? text.replace('# note\n', '') : `# note\n${text}`);
    return 'comment in requirements';
  },
];

beforeAll(async () => {
  console.log(
    `torture: seed ${String(SEED)}, ${String(ROUNDS)} rounds (LBUILD_TORTURE_SEED=${String(SEED)} replays it)`,
  );
  template = await Template.create();
  await makeWheels(join(template.dir, 'wheels'), [
    { name: 'delta', version: '1.0', files: { 'delta/__init__.py': 'DELTA = 1\n' } },
  ]);
  // Long enough that deflate makes them smaller: they go through the compressed-entry cache.
  const body = Array.from({ length: 40 }, (_, i) => `LINE_${String(i)} = 'padding'\n`).join('');
  writeFileSync(join(template.dir, 'app/mode.py'), `MODE = 'AAAA'\n${body}`);
  writeFileSync(join(template.dir, 'localpkg/localpkg/mode.py'), `MODE = 'AAAA'\n${body}`);
  writeFileSync(join(template.dir, 'settings.json'), '{"greeting": "AAAA"}\n');
  project = mkdtempSync(join(tmpdir(), 'lbuild-torture-'));
  scratch.push(project);
  cpSync(template.dir, project, { recursive: true });
});

afterAll(() => {
  template.dispose();
  for (const dir of scratch) rmSync(dir, { recursive: true, force: true });
});

it(
  'an incremental build equals a clean build of what is on disk, whatever races it',
  async () => {
    const first = await lbuild(project);
    expect(first.code, first.output).toBe(0);
    for (let round = 1; round <= ROUNDS; round++) {
      const log: string[] = [];
      for (let i = Math.floor(random() * 3); i > 0; i--) log.push(pick(EDITS)());
      const running = startLbuild(project);
      const pid = running.child.pid ?? 0;
      /** A moment in the build: a step starting or ending, then a short random delay. */
      const moment = async (): Promise<string> => {
        const [event, key] = pick(MOMENTS);
        // pip takes a second or more to start reading a local project: a wheelhouse race is
        // spread over that; the other steps take milliseconds.
        const spread =
          event === 'time' ? 2500 : key === 'fn:wheelhouse' && event === 'removed' ? 4000 : 30;
        const delay = Math.floor(random() * spread);
        if (event !== 'time') await running.on(event, key);
        await sleep(delay);
        return `${event === 'time' ? 'after' : `${key} stamp ${event} +`} ${String(delay)} ms`;
      };
      const races = Array.from({ length: 1 + Math.floor(random() * 3) }, () =>
        moment().then((when) => log.push(`racing (${when}): ${pick(EDITS)()}`)),
      );
      if (chance(0.3)) {
        void moment().then((when) => {
          log.push(`SIGKILL (${when})`);
          try {
            // lbuild alone, as the OOM killer would: its children are orphaned, not killed.
            process.kill(pid, 'SIGKILL');
          } catch {
            // It had already exited.
          }
        });
      }
      await Promise.all(races);
      const raced = await running.exited;
      await waitGroupGone(pid);
      const context = () =>
        `seed ${String(SEED)}, round ${String(round)}: ${log.join('; ')}\nracing build (exit ${String(raced.code)} ${String(raced.signal)}):\n${raced.output}`;
      expect([0, 1, null], context()).toContain(raced.code);

      const settle = await lbuild(project);
      expect(settle.code, `${context()}\nsettling build:\n${settle.output}`).toBe(0);
      const expected = await cleanBuild(project);
      expect(sha256(join(project, 'dist/fn.zip')), context()).toBe(expected);
      const question = await lbuild(project, ['-q']);
      expect(question.code, `${context()}\n-q after the settling build:\n${question.output}`).toBe(
        0,
      );
      expect(
        readdirSync(join(project, 'dist')).filter((f) => f !== 'fn.zip'),
        context(),
      ).toEqual([]);
    }
  },
  30 * 60_000,
);
