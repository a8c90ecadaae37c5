import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runBuild, type BuildOptions } from '../src/build.js';
import type { BuildEvent, TargetReport } from '../src/events.js';
import { buildError } from '../src/failure.js';
import { TargetGraph } from '../src/graph.js';
import type { RunContext, RunOutcome, TargetDefinition } from '../src/target.js';

let root: string;

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'lbuild-build-'));
});

afterEach(() => {
  rmSync(root, { recursive: true, force: true });
});

function write(rel: string, content: string): void {
  mkdirSync(dirname(join(root, rel)), { recursive: true });
  writeFileSync(join(root, rel), content);
}

const read = (rel: string) => readFileSync(join(root, rel), 'utf8');

/** An in-memory target; `runs` counts how often its run was called. */
interface TestTarget extends TargetDefinition {
  runs: number;
}

function target(
  key: string,
  options: {
    deps?: string[];
    inputs?: string[];
    outputs?: string[];
    recipe?: () => Record<string, string>;
    run?: (ctx: RunContext) => Promise<RunOutcome | undefined>;
  } = {},
): TestTarget {
  const def: TestTarget = {
    key,
    kind: 'test',
    deps: options.deps ?? [],
    inputs: options.inputs ? [{ patterns: options.inputs }] : [],
    outputs: options.outputs ?? [],
    recipe: options.recipe ?? (() => ({ command: key })),
    runs: 0,
    run: async (ctx) => {
      def.runs++;
      return options.run ? options.run(ctx) : undefined;
    },
  };
  return def;
}

async function build(targets: TargetDefinition[], options: Partial<BuildOptions> = {}) {
  const graph = new TargetGraph(targets);
  const summary = await runBuild({
    root,
    graph,
    targets: [...graph.targets.keys()],
    jobs: 4,
    ...options,
  });
  const status = Object.fromEntries(summary.targets.map((t) => [t.key, t.status]));
  const report = (key: string) => summary.targets.find((t) => t.key === key) as TargetReport;
  return { summary, status, report };
}

describe('runBuild: early cutoff', () => {
  /** `normalise` strips blank lines from src.txt into out/norm.txt; `use` copies it. */
  function project() {
    const normalise = target('normalise', {
      inputs: ['src.txt'],
      outputs: ['out/norm.txt'],
      run: () => {
        write('out/norm.txt', read('src.txt').replace(/^\s*\n/gm, ''));
        return Promise.resolve(undefined);
      },
    });
    const use = target('use', {
      deps: ['normalise'],
      outputs: ['out/use.txt'],
      run: () => {
        write('out/use.txt', read('out/norm.txt').toUpperCase());
        return Promise.resolve(undefined);
      },
    });
    return { normalise, use };
  }

  it('a target that reruns and produces the same output does not rerun its dependent', async () => {
    write('src.txt', 'a\nb\n');
    const { normalise, use } = project();
    expect((await build([normalise, use])).status).toEqual({ normalise: 'built', use: 'built' });

    write('src.txt', 'a\n\n\nb\n');
    const second = await build([normalise, use]);
    expect(second.status).toEqual({ normalise: 'built', use: 'up-to-date' });
    expect(second.report('normalise').unchanged).toBe(true);
    expect([normalise.runs, use.runs]).toEqual([2, 1]);

    write('src.txt', 'a\nc\n');
    const third = await build([normalise, use]);
    expect(third.status).toEqual({ normalise: 'built', use: 'built' });
    expect(third.report('normalise').unchanged).toBe(false);
    expect(third.report('use').reasons).toEqual([
      {
        kind: 'dependency-changed',
        dep: 'normalise',
        from: second.report('normalise').outputHash,
        to: third.report('normalise').outputHash,
      },
    ]);
    expect(read('out/use.txt')).toBe('A\nC\n');
  });

  it('a value a run returns is part of what dependents see', async () => {
    let version = '1.0';
    const probe = target('probe', {
      recipe: () => ({ tick: String(Math.random()) }),
      run: () => Promise.resolve({ value: { version } }),
    });
    const seen: unknown[] = [];
    const consumer = target('consumer', {
      deps: ['probe'],
      run: (ctx) => {
        seen.push(ctx.deps.get('probe')?.value);
        return Promise.resolve(undefined);
      },
    });
    await build([probe, consumer]);
    expect((await build([probe, consumer])).status).toEqual({
      probe: 'built',
      consumer: 'up-to-date',
    });
    version = '2.0';
    expect((await build([probe, consumer])).status).toEqual({ probe: 'built', consumer: 'built' });
    expect(seen).toEqual([{ version: '1.0' }, { version: '2.0' }]);
  });
});

describe('runBuild: failures', () => {
  /**
   * `fails` fails once `gate` is running; `dependent` needs `fails`; `later` needs `gate`, which
   * finishes only after `fails` has failed. So `later` is decided after the failure, every time.
   */
  function project() {
    let gateStarted!: () => void;
    const started = new Promise<void>((resolve) => (gateStarted = resolve));
    let failsFinished!: () => void;
    const finished = new Promise<void>((resolve) => (failsFinished = resolve));
    const fails = target('fails', {
      run: async () => {
        await started;
        throw buildError('exit-non-zero', '`false` exited with status 1');
      },
    });
    const dependent = target('dependent', { deps: ['fails'] });
    const gate = target('gate', {
      run: async () => {
        gateStarted();
        await finished;
        return undefined;
      },
    });
    const later = target('later', { deps: ['gate'] });
    const onEvent = (event: BuildEvent) => {
      if (event.type === 'target-finish' && event.report.key === 'fails') failsFinished();
    };
    return { targets: [fails, dependent, gate, later], later, onEvent };
  }

  it('without -k, stops at the first failure: running targets finish, nothing new starts', async () => {
    const { targets, later, onEvent } = project();
    const { summary, status, report } = await build(targets, { onEvent });
    expect(status).toEqual({
      fails: 'failed',
      dependent: 'skipped',
      gate: 'built',
      later: 'skipped',
    });
    expect(later.runs).toBe(0);
    expect(summary.status).toBe('failed');
    expect(report('fails').failure).toEqual({
      reason: 'exit-non-zero',
      kind: 'build',
      message: '`false` exited with status 1',
    });
  });

  it('with -k, goes on with every target that does not depend on the failure', async () => {
    const { targets, later, onEvent } = project();
    const { summary, status } = await build(targets, { onEvent, keepGoing: true });
    expect(status).toEqual({
      fails: 'failed',
      dependent: 'skipped',
      gate: 'built',
      later: 'built',
    });
    expect(later.runs).toBe(1);
    expect(summary.status).toBe('failed');
  });

  it('a failure before the run (a missing input) stops the build too, unless -k', async () => {
    // `missing` is checked only after `pre`, which waits until `gate` runs; `gate` finishes once
    // `missing` has failed, so `later` is decided after the failure.
    const make = () => {
      let gateStarted!: () => void;
      const started = new Promise<void>((resolve) => (gateStarted = resolve));
      let release!: () => void;
      const released = new Promise<void>((resolve) => (release = resolve));
      const targets = [
        target('pre', { run: () => started.then(() => undefined) }),
        target('missing', { deps: ['pre'], inputs: ['nope.txt'] }),
        target('gate', {
          run: () => {
            gateStarted();
            return released.then(() => undefined);
          },
        }),
        target('later', { deps: ['gate'] }),
      ];
      const onEvent = (event: BuildEvent) => {
        if (event.type === 'target-finish' && event.report.key === 'missing') release();
      };
      return { targets, onEvent };
    };
    const one = make();
    const stopped = await build(one.targets, { onEvent: one.onEvent });
    expect(stopped.status).toEqual({
      pre: 'built',
      missing: 'failed',
      gate: 'built',
      later: 'skipped',
    });
    expect(stopped.report('missing').failure).toMatchObject({
      reason: 'missing-input',
      kind: 'config',
    });

    const two = make();
    const going = await build(two.targets, {
      onEvent: two.onEvent,
      keepGoing: true,
      stateDir: join(root, '.lbuild-again'),
    });
    expect(going.status).toEqual({
      pre: 'built',
      missing: 'failed',
      gate: 'built',
      later: 'built',
    });
  });

  it('a failed target has no stamp, even one from an earlier success, and runs again next time', async () => {
    let fail = false;
    const flaky = target('flaky', {
      outputs: ['out.txt'],
      run: () => {
        write('out.txt', 'x');
        if (fail) throw buildError('exit-non-zero', 'failed');
        return Promise.resolve(undefined);
      },
    });
    await build([flaky]);
    expect(existsSync(join(root, '.lbuild/stamps/flaky.json'))).toBe(true);
    fail = true;
    expect((await build([flaky], { force: true })).status).toEqual({ flaky: 'failed' });
    expect(existsSync(join(root, '.lbuild/stamps/flaky.json'))).toBe(false);
    fail = false;
    const retried = await build([flaky]);
    expect(retried.status).toEqual({ flaky: 'built' });
    expect(retried.report('flaky').reasons).toEqual([{ kind: 'no-stamp' }]);
  });

  it('a declared output that was not produced is a failure', async () => {
    const lazy = target('lazy', { outputs: ['never.txt'] });
    const { report } = await build([lazy]);
    expect(report('lazy').failure).toMatchObject({
      reason: 'output-not-produced',
      kind: 'build',
      message: 'target lazy did not produce its declared output `never.txt`',
    });
    expect(existsSync(join(root, '.lbuild/stamps/lazy.json'))).toBe(false);
  });
});

describe('runBuild: -j', () => {
  /** Opens when `size` runs are inside it at once: a run that waits here proves they overlap. */
  function barrier(size: number) {
    let arrived = 0;
    let open!: () => void;
    const opened = new Promise<void>((resolve) => (open = resolve));
    return async () => {
      if (++arrived === size) open();
      await opened;
    };
  }

  function tracked(count: number, body: () => Promise<void>) {
    const state = { active: 0, max: 0 };
    const targets = Array.from({ length: count }, (_, i) =>
      target(`t${String(i)}`, {
        run: async () => {
          state.active++;
          state.max = Math.max(state.max, state.active);
          await body();
          state.active--;
          return undefined;
        },
      }),
    );
    return { state, targets };
  }

  it('-j 2 runs two targets at once', async () => {
    // Neither run can leave the barrier until the other has entered it.
    const { state, targets } = tracked(2, barrier(2));
    const { status } = await build(targets, { jobs: 2 });
    expect(status).toEqual({ t0: 'built', t1: 'built' });
    expect(state.max).toBe(2);
  });

  it('-j 2 never runs more than two', async () => {
    const pairs = [barrier(2), barrier(2), barrier(2)];
    let entered = 0;
    const { state, targets } = tracked(6, () => (pairs[Math.floor(entered++ / 2)] ?? barrier(1))());
    await build(targets, { jobs: 2 });
    expect(targets.every((t) => t.runs === 1)).toBe(true);
    expect(state.max).toBe(2);
  });

  it('-j 1 runs one at a time', async () => {
    const yieldSome = async () => {
      for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
    };
    const { state, targets } = tracked(4, yieldSome);
    await build(targets, { jobs: 1 });
    expect(targets.every((t) => t.runs === 1)).toBe(true);
    expect(state.max).toBe(1);
  });
});

describe('runBuild: modes and signals', () => {
  it('-q and -n run nothing; -q stops at the first stale target', async () => {
    const a = target('a');
    const b = target('b', { deps: ['a'] });
    const query = await build([a, b], { mode: 'query' });
    expect(query.summary.status).toBe('stale');
    expect(query.status.a).toBe('stale');
    const dry = await build([a, b], { mode: 'dry-run' });
    expect(dry.status).toEqual({ a: 'would-run', b: 'would-run' });
    expect(dry.report('b').reasons).toEqual([{ kind: 'dependency-will-run', dep: 'a' }]);
    expect([a.runs, b.runs]).toEqual([0, 0]);
    await build([a, b]);
    expect((await build([a, b], { mode: 'query' })).summary.status).toBe('ok');
  });

  it('-B runs every target, saying so', async () => {
    const a = target('a');
    await build([a]);
    const forced = await build([a], { force: true });
    expect(forced.report('a')).toMatchObject({ status: 'built', reasons: [{ kind: 'forced' }] });
    expect(a.runs).toBe(2);
  });

  it('an abort ends the running target, removes its partial outputs, and keeps finished stamps', async () => {
    const controller = new AbortController();
    const first = target('first', {
      outputs: ['first.txt'],
      run: () => {
        write('first.txt', 'done');
        return Promise.resolve(undefined);
      },
    });
    const slow = target('slow', {
      deps: ['first'],
      outputs: ['slow.txt'],
      run: (ctx) => {
        write('slow.txt', 'partial');
        const ended = new Promise<undefined>((_, reject) => {
          ctx.signal.addEventListener('abort', () => {
            reject(Object.assign(new Error('aborted'), { name: 'AbortError' }));
          });
        });
        // Ctrl-C while the command runs.
        controller.abort();
        return ended;
      },
    });
    const after = target('after', { deps: ['slow'] });
    const { summary, status } = await build([first, slow, after], { signal: controller.signal });
    expect(summary.status).toBe('interrupted');
    expect(status).toEqual({ first: 'built', slow: 'interrupted', after: 'skipped' });
    expect(existsSync(join(root, 'slow.txt'))).toBe(false);
    expect(read('first.txt')).toBe('done');
    expect(existsSync(join(root, '.lbuild/stamps/first.json'))).toBe(true);
    expect(existsSync(join(root, '.lbuild/stamps/slow.json'))).toBe(false);
  });

  it('a file the run snapshots is part of the trace', async () => {
    write('config.ini', 'a=1');
    const reader = target('reader', {
      run: async (ctx) => {
        expect(await ctx.snapshot([join(root, 'config.ini'), 'absent.ini'])).toEqual([
          expect.stringMatching(/^[0-9a-f]{16}$/),
          undefined,
        ]);
        return undefined;
      },
    });
    await build([reader]);
    expect((await build([reader])).status).toEqual({ reader: 'up-to-date' });
    write('config.ini', 'a=2');
    const again = await build([reader]);
    expect(again.status).toEqual({ reader: 'built' });
    expect(again.report('reader').reasons).toMatchObject([
      { kind: 'input-changed', path: 'config.ini' },
    ]);
  });
});

describe('runBuild: what a target depends on changes while it runs', () => {
  /**
   * Writes `content` over `rel` (the same size as before) and puts its mtime back: only the
   * content and ctime tell the edit apart, as for an edit within one timestamp tick.
   */
  function editInPlace(rel: string, content: string): void {
    const before = statSync(join(root, rel));
    expect(Buffer.byteLength(content)).toBe(before.size);
    writeFileSync(join(root, rel), content);
    utimesSync(join(root, rel), before.atime, before.mtime);
  }

  it('an edit (same size) of a declared input and of a snapshotted file while the run works: built, not stamped, said once, and run again next time', async () => {
    write('src.txt', 'AAAA');
    write('config.ini', 'a=1');
    let editWhileRunning = true;
    const make = target('make', {
      inputs: ['src.txt'],
      outputs: ['out.txt'],
      run: async (ctx) => {
        await ctx.snapshot(['config.ini']);
        write('out.txt', `${read('src.txt')} ${read('config.ini')}`);
        if (editWhileRunning) {
          editInPlace('src.txt', 'BBBB');
          editInPlace('config.ini', 'a=2');
        }
        return undefined;
      },
    });
    const use = target('use', {
      deps: ['make'],
      outputs: ['used.txt'],
      run: () => {
        write('used.txt', read('out.txt'));
        return Promise.resolve(undefined);
      },
    });
    const events: BuildEvent[] = [];
    const first = await build([make, use], { onEvent: (e) => events.push(e) });
    expect(first.summary.status).toBe('ok');
    expect(first.status).toEqual({ make: 'built', use: 'built' });
    expect(first.report('make').changedDuringRun).toEqual(['config.ini', 'src.txt']);
    expect(events.filter((e) => e.type === 'target-changed-during-run')).toEqual([
      { type: 'target-changed-during-run', key: 'make', changed: ['config.ini', 'src.txt'] },
    ]);
    // Dependents ran on what was produced; the target itself has no stamp.
    expect(read('used.txt')).toBe('AAAA a=1');
    expect(existsSync(join(root, '.lbuild/stamps/make.json'))).toBe(false);
    expect((await build([make, use], { mode: 'query' })).status.make).toBe('stale');

    editWhileRunning = false;
    const second = await build([make, use]);
    expect(second.status).toEqual({ make: 'built', use: 'built' });
    expect(second.report('make').reasons).toEqual([{ kind: 'no-stamp' }]);
    expect(second.report('make').changedDuringRun).toBeUndefined();
    expect(read('used.txt')).toBe('BBBB a=2');
    expect((await build([make, use])).status).toEqual({ make: 'up-to-date', use: 'up-to-date' });
  });

  it('a file the run snapshotted as absent that appears, and a new match of an input glob, are changes', async () => {
    write('src/a.txt', 'a');
    let once = true;
    const make = target('make', {
      inputs: ['src/*.txt'],
      run: async (ctx) => {
        expect(await ctx.snapshot(['extra.txt'])).toEqual([undefined]);
        if (once) {
          write('extra.txt', 'x');
          write('src/b.txt', 'b');
          once = false;
        }
        return undefined;
      },
    });
    const first = await build([make]);
    expect(first.report('make').changedDuringRun).toEqual(['extra.txt', 'src/b.txt']);
    expect(existsSync(join(root, '.lbuild/stamps/make.json'))).toBe(false);
    rmSync(join(root, 'extra.txt'));
    expect((await build([make])).report('make').changedDuringRun).toBeUndefined();
    expect((await build([make])).status).toEqual({ make: 'up-to-date' });
  });

  it('a snapshotted file deleted by the time the run ends, or a recipe field that changed, is a change', async () => {
    write('data.txt', 'd');
    let setting = 'one';
    const make = target('make', {
      recipe: () => ({ setting }),
      run: async (ctx) => {
        await ctx.snapshot(['data.txt']);
        rmSync(join(root, 'data.txt'));
        setting = 'two';
        return undefined;
      },
    });
    expect((await build([make])).report('make').changedDuringRun).toEqual([
      'data.txt',
      'recipe field setting',
    ]);
  });

  it('a run that fails because an input vanished under it fails as the race (exit 1), not as an internal error', async () => {
    write('src/a.txt', 'a');
    write('src/b.txt', 'b');
    let race = true;
    const make = target('make', {
      inputs: ['src/*.txt'],
      run: (ctx) => {
        if (race) rmSync(join(root, 'src/b.txt'));
        // What a step that lists, then stats, gives: a raw ENOENT from node:fs.
        for (const file of ctx.inputs) statSync(file);
        return Promise.resolve(undefined);
      },
    });
    const raced = await build([make]);
    expect(raced.summary.status).toBe('failed');
    expect(raced.report('make').failure).toMatchObject({
      kind: 'build',
      reason: 'input-changed-during-run',
    });
    expect(raced.report('make').failure?.message).toContain('src/b.txt');
    expect(raced.report('make').failure?.message).toContain('ENOENT');

    // The same raw error with nothing changed stays what it is: lbuild's own fault.
    write('src/b.txt', 'b');
    race = false;
    rmSync(join(root, 'src/b.txt'));
    const missing = target('missing', {
      inputs: ['src/a.txt'],
      run: () => Promise.reject(new Error('ENOENT: no such file or directory, stat x')),
    });
    expect((await build([missing])).report('missing').failure).toMatchObject({
      kind: 'internal',
      reason: 'internal-error',
    });
    expect((await build([make])).status).toEqual({ make: 'built' });
  });

  it('a file written while the run works is a change even when its content is back as it was', async () => {
    write('config.ini', 'a=1');
    const make = target('make', {
      run: async (ctx) => {
        await ctx.snapshot(['config.ini']);
        // Another value, then back, in a later timestamp tick (a write within the same tick
        // as the snapshot is judged by content, as in the test above): the run may have read
        // either.
        await new Promise((resolve) => setTimeout(resolve, 30));
        write('config.ini', 'a=2');
        write('config.ini', 'a=1');
        return undefined;
      },
    });
    const report = (await build([make])).report('make');
    expect(report.changedDuringRun).toEqual(['config.ini']);
  });
});

describe('runBuild: an output directory that stays empty', () => {
  it('is up to date on the next build, and missing once removed', async () => {
    const make = target('make', {
      outputs: ['out/empty'],
      run: () => {
        mkdirSync(join(root, 'out/empty'), { recursive: true });
        return Promise.resolve(undefined);
      },
    });
    expect((await build([make])).status).toEqual({ make: 'built' });
    expect((await build([make])).status).toEqual({ make: 'up-to-date' });
    rmSync(join(root, 'out/empty'), { recursive: true });
    const again = await build([make]);
    expect(again.status).toEqual({ make: 'built' });
    expect(again.report('make').reasons).toEqual([{ kind: 'output-missing', path: 'out/empty' }]);
  });
});

describe('runBuild: inputs that cover the whole project', () => {
  it('never counts the state directory or outputs of targets it does not depend on', async () => {
    write('src/a.py', 'a = 1\n');
    let counter = 0;
    const stamp = target('stamp', {
      outputs: ['out/stamp.txt'],
      recipe: () => ({ command: 'stamp' }),
      run: () => {
        write('out/stamp.txt', String(++counter));
        return Promise.resolve(undefined);
      },
    });
    const listing = target('listing', {
      outputs: ['listing.txt'],
      run: (ctx) => {
        write('listing.txt', ctx.inputs.map((f) => f.slice(root.length + 1)).join('\n'));
        return Promise.resolve(undefined);
      },
    });
    listing.inputs = [{ patterns: ['.'], excludeOutputs: true }];
    const options = { stateDir: join(root, 'var/state') };
    const first = await build([stamp, listing], options);
    expect(first.status).toEqual({ stamp: 'built', listing: 'built' });
    expect(read('listing.txt')).toBe('src/a.py');
    expect(existsSync(join(root, 'var/state/stamps'))).toBe(true);
    stamp.recipe = () => ({ command: 'stamp again' });
    const second = await build([stamp, listing], options);
    expect(second.status).toEqual({ stamp: 'built', listing: 'up-to-date' });
  });
});
