import { spawn, type ChildProcess } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { LbuildError } from '../src/failure.js';
import { acquireProjectLock } from '../src/lock.js';
import { processLiveness, thisProcess, type ProcessRecord } from '../src/process-liveness.js';

const LINUX = process.platform === 'linux';
const LOCK_SOURCE = fileURLToPath(new URL('../src/lock.ts', import.meta.url));

/**
 * A contender in its own process: waits for the file `go` (so that all start at once), takes
 * the lock, notes `enter PID` in the log, and then either holds the lock until killed or notes
 * `exit PID` after a moment and releases it.
 */
const CONTENDER = `
import { appendFileSync, existsSync } from 'node:fs';
import { acquireProjectLock } from ${JSON.stringify(LOCK_SOURCE)};
const [stateDir, log, go, mode] = process.argv.slice(2);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
async function main() {
  process.stdout.write('ready\\n');
  while (!existsSync(go)) await sleep(2);
  // A random pause between judging the killed holder dead and taking over widens the window
  // in which another contender can act on the same judgement.
  const lock = await acquireProjectLock(stateDir, {
    beforeTakeover: () => {
      appendFileSync(log + '.takeovers', process.pid + '\\n');
      return sleep(Math.random() * 30);
    },
  });
  appendFileSync(log, 'enter ' + process.pid + '\\n');
  if (mode === 'hold') {
    process.stdout.write('held\\n');
    setInterval(() => undefined, 60_000);
    return;
  }
  await sleep(Math.random() * 20);
  appendFileSync(log, 'exit ' + process.pid + '\\n');
  await lock.release();
}
main().catch((error) => {
  process.stderr.write(String(error && error.stack || error) + '\\n');
  process.exit(1);
});
`;

let dir: string;
let script: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'lbuild-lock-'));
  script = join(dir, 'contender.cjs');
  // The lock module as it is in the source, bundled for plain node.
  await build({
    stdin: { contents: CONTENDER, resolveDir: dir, loader: 'js' },
    bundle: true,
    platform: 'node',
    format: 'cjs',
    outfile: script,
    logLevel: 'error',
  });
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

interface Contender {
  child: ChildProcess;
  stdout: () => string;
  exited: Promise<{ code: number | null; stderr: string }>;
}

function contender(stateDir: string, log: string, go: string, mode: 'hold' | 'once'): Contender {
  const child = spawn(process.execPath, [script, stateDir, log, go, mode], { stdio: 'pipe' });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (text: string) => (stdout += text));
  child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text));
  const exited = new Promise<{ code: number | null; stderr: string }>((resolve) => {
    child.on('close', (code) => resolve({ code, stderr }));
  });
  return { child, stdout: () => stdout, exited };
}

async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe('the project lock after its holder was killed (SIGKILL)', () => {
  it('lets exactly one of many runs that start at once hold it at a time, round after round', async () => {
    const ROUNDS = 5;
    const takeovers: number[] = [];
    const CONTENDERS = 8;
    const stateDir = join(dir, 'state');
    for (let round = 1; round <= ROUNDS; round++) {
      const log = join(dir, `log-${String(round)}`);
      const go = join(dir, `go-${String(round)}`);
      writeFileSync(go, '');
      const holder = contender(stateDir, log, go, 'hold');
      await until(() => holder.stdout().includes('held'), 'the holder to take the lock');
      holder.child.kill('SIGKILL');
      await holder.exited;

      const start = `${go}-contenders`;
      const runs = Array.from({ length: CONTENDERS }, () =>
        contender(stateDir, log, start, 'once'),
      );
      await until(
        () => runs.every((run) => run.stdout().includes('ready')),
        'every contender to start',
      );
      writeFileSync(start, '');
      const results = await Promise.all(runs.map((run) => run.exited));

      const lines = readFileSync(log, 'utf8').trimEnd().split('\n');
      expect(lines[0]).toBe(`enter ${String(holder.child.pid)}`);
      const pids = runs.map((run) => String(run.child.pid));
      // Holding is never shared: every enter is followed by the same run's exit.
      const expected: string[] = [];
      for (let i = 1; i < lines.length; i += 2) {
        const pid = (lines[i] ?? '').split(' ')[1] ?? '';
        expected.push(`enter ${pid}`, `exit ${pid}`);
      }
      expect(lines.slice(1), `round ${String(round)}`).toEqual(expected);
      for (const result of results) expect(result).toEqual({ code: 0, stderr: '' });
      expect(new Set(expected.map((line) => line.split(' ')[1]))).toEqual(new Set(pids));
      // Released, and nothing left behind: no lock, no owner record, no temporary.
      expect(readdirSync(stateDir)).toEqual([]);
      // The race this guards against happened: several runs judged the same dead holder.
      takeovers.push(new Set(readFileSync(`${log}.takeovers`, 'utf8').split('\n')).size - 1);
    }
    expect(Math.max(...takeovers)).toBeGreaterThan(1);
  }, 180_000);
});

describe('a lock whose owner record', () => {
  let stateDir: string;
  let controller: AbortController;

  beforeEach(() => {
    stateDir = mkdtempSync(join(dir, 'state-'));
    controller = new AbortController();
  });
  afterEach(() => {
    controller.abort();
  });

  /** A lock as a holder described by `record` leaves it. */
  function plantLock(record: object, ageMs = 0): void {
    mkdirSync(join(stateDir, 'build.lock'));
    const file = join(stateDir, 'build.lock', 'owner.planted.json');
    writeFileSync(file, JSON.stringify(record));
    const when = new Date(Date.now() - ageMs);
    utimesSync(file, when, when);
  }

  /** Tries to take the lock for up to 3 s; returns the holder named while waiting, if any. */
  async function acquire(): Promise<{ took: boolean; waitedFor: (string | undefined)[] }> {
    const waitedFor: (string | undefined)[] = [];
    const timer = setTimeout(() => controller.abort(), 3_000);
    try {
      const lock = await acquireProjectLock(stateDir, {
        signal: controller.signal,
        onWait: (holder) => waitedFor.push(holder),
      });
      await lock.release();
      return { took: true, waitedFor };
    } catch (error) {
      // An interruption, not a config error: exit 130, whoever renders it.
      expect((error as LbuildError).failure).toEqual({
        kind: 'interrupted',
        reason: 'interrupted',
        during: 'lock-wait',
      });
      return { took: false, waitedFor };
    } finally {
      clearTimeout(timer);
    }
  }

  it('names a live process keeps it: the run waits and names the holder', async () => {
    plantLock(thisProcess());
    expect(await acquire()).toEqual({ took: false, waitedFor: [`pid ${String(process.pid)}`] });
    expect(existsSync(join(stateDir, 'build.lock', 'owner.planted.json'))).toBe(true);
  });

  it.runIf(LINUX)(
    'names a live pid with another start time (the pid was reused) is taken over at once',
    async () => {
      const me = thisProcess();
      plantLock({ ...me, start: String(Number(me.start) + 1) });
      expect(await acquire()).toEqual({ took: true, waitedFor: [] });
      expect(readdirSync(stateDir)).toEqual([]);
    },
  );

  it.runIf(LINUX)(
    'comes from another boot of this machine is taken over at once, pid alive or not',
    async () => {
      plantLock({ ...thisProcess(), boot: '00000000-0000-4000-8000-000000000000' });
      expect(await acquire()).toEqual({ took: true, waitedFor: [] });
    },
  );

  it('names a process that exited is taken over at once', async () => {
    const child = spawn(process.execPath, ['-e', '0']);
    const pid = child.pid as number;
    await new Promise((resolve) => child.on('close', resolve));
    plantLock({ ...thisProcess(), pid });
    expect(await acquire()).toEqual({ took: true, waitedFor: [] });
  });

  it('names a process on another machine is waited for while its heartbeat is fresh, taken over once it is stale', async () => {
    const elsewhere = {
      pid: process.pid,
      start: '1',
      boot: '00000000-0000-4000-8000-000000000000',
      host: `not-${hostname()}`,
    };
    plantLock(elsewhere);
    expect(await acquire()).toEqual({
      took: false,
      waitedFor: [`pid ${String(process.pid)} on not-${hostname()}`],
    });

    rmSync(join(stateDir, 'build.lock'), { recursive: true });
    controller = new AbortController();
    plantLock(elsewhere, 60_000);
    expect(await acquire()).toEqual({ took: true, waitedFor: [] });
  });
});

describe('process liveness', () => {
  it('knows this process, and a process that exited is dead', async () => {
    expect(processLiveness(thisProcess())).toBe('alive');
    const child = spawn(process.execPath, ['-e', '0']);
    const pid = child.pid as number;
    await new Promise((resolve) => child.on('close', resolve));
    expect(processLiveness({ ...thisProcess(), pid })).toBe('dead');
  });

  it.runIf(LINUX)('judges by pid and start time within one boot and pid namespace', () => {
    const me: ProcessRecord = thisProcess();
    expect(me.start).toMatch(/^\d+$/);
    expect(me.boot).toMatch(/^[0-9a-f-]{36}$/);
    expect(processLiveness({ ...me, start: '1' })).toBe('dead');
    expect(processLiveness({ ...me, boot: 'another-boot' })).toBe('dead');
    // Another machine (another boot under another name) or another pid namespace: not visible.
    expect(processLiveness({ ...me, boot: 'another-boot', host: 'elsewhere' })).toBe('unknown');
    expect(processLiveness({ ...me, pidns: 'pid:[1]' })).toBe('unknown');
  });
});
