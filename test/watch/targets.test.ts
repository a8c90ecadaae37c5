import { afterEach, describe, expect, it } from 'vitest';
import { isRunning, killAll, TempProject } from '../helpers/project.js';
import { waitFor } from '../helpers/wait.js';
import { MODES, processesIn, stampRecord, WatchSession } from './rig.js';

/**
 * `[target]` projects whose commands note each run in `runs.log` and, while the file `hold`
 * exists, block in a process tree (a shell that waits for `hold` to go, and a `sleep 300` it
 * started) whose pids they write to `pids`: the test decides when a build ends. Only `src/` (and
 * the config file) is watched, not these files at the project root.
 */
const BLOCK = `if [ -f hold ]; then sh -c 'echo $$ >> pids; sleep 300 & echo $! >> pids; while [ -f hold ]; do sleep 0.02; done; kill $!'; fi`;

const SLOW = `[target.slow]
command = "echo start >> runs.log; ${BLOCK}; mkdir -p out && cat src/*.txt > out/all.txt; echo end >> runs.log"
inputs = ["src"]
outputs = ["out/all.txt"]
`;

let project: TempProject | undefined;
let session: WatchSession | undefined;

afterEach(() => {
  session?.dispose();
  if (project) {
    killAll(project.lines('pids').map(Number));
    project.dispose();
  }
  session = undefined;
  project = undefined;
});

function create(files: Record<string, string>): TempProject {
  project = TempProject.create(files);
  return project;
}

async function watch(p: TempProject, args: readonly string[]): Promise<WatchSession> {
  session = await WatchSession.start(p, args);
  return session;
}

describe.each(MODES)('lbuild --watch with [target] tables ($name)', (mode) => {
  it('queues exactly one more build for changes made while a build runs', async () => {
    const p = create({ 'lbuild.toml': SLOW, 'src/a.txt': 'a\n' });
    const s = await watch(p, mode.args);
    expect(await s.rebuild(0)).toMatchObject({ changed: ['start'], targets: ['slow'] });
    expect(p.take('runs.log')).toEqual(['start', 'end']);

    p.write('hold', '');
    p.write('src/a.txt', 'a2\n');
    await waitFor(() => p.lines('pids').length === 2, { what: 'the build of src/a.txt to block' });
    // Two changes while it runs.
    p.write('src/a.txt', 'a3\n');
    p.write('src/b.txt', 'b\n');
    p.remove('hold');

    const blocked = await s.rebuild(1, 'the blocked build to end');
    expect(blocked).toMatchObject({ changed: ['src/a.txt'], targets: ['slow'], status: 'ok' });
    const queued = await s.rebuild(2, 'the one queued build');
    expect(queued).toMatchObject({
      changed: ['src/a.txt', 'src/b.txt'],
      targets: ['slow'],
      status: 'ok',
    });
    expect(p.read('out/all.txt')).toBe('a3\nb\n');

    // Exactly one more: the next line is a later edit's, and the command ran three times in all.
    const later = await s.change(() => p.write('src/b.txt', 'b2\n'));
    expect(later).toMatchObject({ changed: ['src/b.txt'], targets: ['slow'], status: 'ok' });
    expect(p.take('runs.log')).toEqual(['start', 'end', 'start', 'end', 'start', 'end']);
  });

  it('reports a failed build (a failing command, a missing input) and recovers on the fix', async () => {
    const p = create({
      'lbuild.toml': `[target.check]
command = "if grep -q bad src/a.txt; then echo 'check: found bad' >&2; exit 3; fi; mkdir -p out && cat VERSION src/a.txt > out/a.txt"
inputs = ["src", "VERSION"]
outputs = ["out/a.txt"]
`,
      'src/a.txt': 'good\n',
      VERSION: '1\n',
    });
    const s = await watch(p, mode.args);
    await s.rebuild(0);

    const failed = await s.change(() => p.write('src/a.txt', 'bad\n'));
    expect(failed).toMatchObject({ changed: ['src/a.txt'], targets: ['check'], status: 'failed' });
    await s.waitForStderr('check: found bad');
    expect(s.stderr).toMatch(/exit(ed)? (with )?(status |code )?3/);
    const fixed = await s.change(() => p.write('src/a.txt', 'good again\n'));
    expect(fixed).toMatchObject({ changed: ['src/a.txt'], targets: ['check'], status: 'ok' });
    expect(p.read('out/a.txt')).toBe('1\ngood again\n');

    const missing = await s.change(() => p.remove('VERSION'));
    expect(missing).toMatchObject({ changed: ['VERSION'], targets: ['check'], status: 'failed' });
    await s.waitForStderr('missing input `VERSION`');
    const back = await s.change(() => p.write('VERSION', '2\n'));
    expect(back).toMatchObject({ changed: ['VERSION'], targets: ['check'], status: 'ok' });
    expect(p.read('out/a.txt')).toBe('2\ngood again\n');
  });

  it('never watches outputs or .lbuild/: the writes of a build do not start another', async () => {
    // `site` reruns on every build (its output is among its inputs), so every build prints a
    // line; its inputs glob at the root, so the root, .lbuild/ and site/ are below a watched
    // directory. Were outputs or .lbuild/ watched, each build would start the next: a loop.
    const p = create({
      'lbuild.toml': `[target.site]
command = "mkdir -p site && echo run >> site/count.txt && cat *.md > site/index.html"
inputs = ["*.md", "site/count*.txt"]
outputs = ["site"]
`,
      'a.md': '# A\n',
      'b.md': '# B\n',
    });
    const s = await watch(p, mode.args);
    await s.rebuild(0);
    const a = await s.change(() => p.write('a.md', '# A2\n'));
    expect(a).toMatchObject({ changed: ['a.md'], targets: ['site'], status: 'ok' });
    const b = await s.change(() => p.write('b.md', '# B2\n'));
    expect(b).toMatchObject({ changed: ['b.md'], targets: ['site'], status: 'ok' });
    const c = await s.change(() => p.write('a.md', '# A3\n'));
    expect(c).toMatchObject({ changed: ['a.md'], targets: ['site'], status: 'ok' });
    expect(s.rebuilds).toHaveLength(4);
    expect(p.lines('site/count.txt')).toHaveLength(4);
    expect(p.read('site/index.html')).toBe('# A3\n# B2\n');
  });

  it('exits 0 on Ctrl-C when idle, leaving no process behind', async () => {
    const p = create({ 'lbuild.toml': SLOW, 'src/a.txt': 'a\n' });
    const s = await watch(p, mode.args);
    await s.rebuild(0);
    const result = await s.interrupt();
    expect(result).toMatchObject({ code: 0, signal: null });
    expect(isRunning(s.running.pid)).toBe(false);
    expect(processesIn(p.dir)).toEqual([]);
  });

  it('exits 0 on Ctrl-C during a build, ending the command and its children', async () => {
    const p = create({ 'lbuild.toml': SLOW, 'src/a.txt': 'a\n' });
    const s = await watch(p, mode.args);
    await s.rebuild(0);
    p.write('hold', '');
    p.write('src/a.txt', 'a2\n');
    await waitFor(() => p.lines('pids').length === 2, { what: 'the build to block' });
    const pids = p.lines('pids').map(Number);
    expect(pids.every(isRunning)).toBe(true);

    const result = await s.interrupt();
    expect(result).toMatchObject({ code: 0, signal: null });
    expect(pids.filter(isRunning)).toEqual([]);
    expect(processesIn(p.dir)).toEqual([]);
    // The last line names the target that was interrupted.
    expect(s.rebuilds.at(-1)).toMatchObject({
      changed: ['src/a.txt'],
      targets: ['slow'],
      status: 'interrupted',
    });
    expect(p.exists('out/all.txt')).toBe(true);
    expect(p.read('out/all.txt')).toBe('a\n'); // the interrupted run changed nothing
  });

  it('exits 0 on Ctrl-C during a build in which another target read a new file', async () => {
    // `fast` records the new src/new.txt in its stamp (a path lbuild had not watched yet) while
    // `slow` blocks; then Ctrl-C.
    const p = create({
      'lbuild.toml': `[target.fast]
command = "mkdir -p out && cat src/*.txt > out/fast.txt"
inputs = ["src"]
outputs = ["out/fast.txt"]

[target.slow]
command = "${BLOCK}; mkdir -p out && cat other/*.txt > out/slow.txt"
inputs = ["other"]
outputs = ["out/slow.txt"]
`,
      'src/a.txt': 'a\n',
      'other/o.txt': 'o\n',
    });
    const s = await watch(p, mode.args);
    await s.rebuild(0);
    p.write('hold', '');
    p.write('src/new.txt', 'new\n');
    p.write('other/o.txt', 'o2\n');
    await waitFor(
      () => p.lines('pids').length === 2 && stampRecord(p, 'fast', 'src/new.txt') !== undefined,
      { what: 'fast to finish and slow to block' },
    );
    const pids = p.lines('pids').map(Number);

    const result = await s.interrupt();
    expect(result).toMatchObject({ code: 0, signal: null });
    expect(pids.filter(isRunning)).toEqual([]);
    expect(processesIn(p.dir)).toEqual([]);
  });

  it('picks up a change made during the first build', async () => {
    const p = create({ 'lbuild.toml': SLOW, 'src/a.txt': 'a\n', hold: '' });
    const s = (session = WatchSession.launch(p, mode.args));
    await waitFor(() => p.lines('pids').length === 2, { what: 'the first build to block' });
    p.write('src/a.txt', 'edited during the first build\n');
    p.remove('hold');
    expect(await s.rebuild(0, 'the first build')).toMatchObject({ changed: ['start'] });
    const again = await s.rebuild(1, 'the rebuild of the edit made during the first build');
    expect(again).toMatchObject({ changed: ['src/a.txt'], targets: ['slow'], status: 'ok' });
    expect(p.read('out/all.txt')).toBe('edited during the first build\n');
  });

  it('waits for a config that is broken at start, through another broken save, then builds', async () => {
    const p = create({ 'lbuild.toml': '[target.t]\ncommand = \n', 'src/a.txt': 'a\n' });
    const s = await watch(p, mode.args);
    expect(s.stderr).toMatch(/config error: .*\n\s+--> lbuild\.toml:2/);
    expect(s.rebuilds).toEqual([]);

    p.write('lbuild.toml', '[target.t]\ncommand = "true"\nouputs = []\n');
    await s.waitForStderr('unknown key `ouputs`');
    p.write(
      'lbuild.toml',
      '[target.t]\ncommand = "mkdir -p out && cp src/a.txt out/a.txt"\ninputs = ["src"]\noutputs = ["out/a.txt"]\n',
    );
    const built = await s.rebuild(0, 'the build once the config is fixed');
    expect(built).toMatchObject({ changed: ['lbuild.toml'], targets: ['t'], status: 'ok' });
    const edit = await s.change(() => p.write('src/a.txt', 'a2\n'));
    expect(edit).toMatchObject({ changed: ['src/a.txt'], targets: ['t'], status: 'ok' });
    expect(p.read('out/a.txt')).toBe('a2\n');
  });
});
