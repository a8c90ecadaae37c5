import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isRunning, killAll, ran, statuses, TempProject } from '../helpers/project.js';
import { waitFor } from '../helpers/wait.js';

/**
 * `first` finishes; `slow` writes a partial output, then — while the file `block` exists — starts
 * a process tree (a shell running a shell running `sleep 300`) and records every pid in `pids`;
 * `after` needs slow's output. The tests interrupt lbuild while slow's tree runs.
 */
const TARGETS = `[target.first]
command = "mkdir -p out && echo first > out/first.txt && echo first >> runs.log"
outputs = ["out/first.txt"]

[target.slow]
command = "echo partial > out/slow.txt; if [ -f block ]; then echo $$ >> pids; sh -c 'echo $$ >> pids; sleep 300 & echo $! >> pids; wait'; fi; echo done > out/slow.txt; echo slow >> runs.log"
deps = ["first"]
outputs = ["out/slow.txt"]

[target.after]
command = "cp out/slow.txt out/after.txt && echo after >> runs.log"
inputs = ["out/slow.txt"]
outputs = ["out/after.txt"]
`;

/** The same, with slow as a Python process (run from an argv list, no shell) that starts `sleep`. */
const PYTHON_TARGETS = TARGETS.replace(
  /\[target\.slow\]\ncommand = .*\n/,
  `[target.slow]
command = ["python3", "-c", """
import os, subprocess
open('out/slow.txt', 'w').write('partial')
if os.path.exists('block'):
    child = subprocess.Popen(['sleep', '300'])
    with open('pids', 'a') as f:
        f.write(f'{os.getpid()}\\\\n{child.pid}\\\\n')
    child.wait()
open('out/slow.txt', 'w').write('done')
open('runs.log', 'a').write('slow\\\\n')
"""]
`,
);

let project: TempProject;
let pids: number[] = [];

/** Starts lbuild and waits until slow's whole process tree is running. */
async function startBlocked(count: number) {
  project.write('block', '');
  const running = project.start();
  await waitFor(() => project.lines('pids').length === count, {
    what: () => `slow to start its ${count} processes (stderr: ${running.stderr})`,
  });
  pids = project.lines('pids').map(Number);
  expect(pids.every(isRunning)).toBe(true);
  expect(project.read('out/slow.txt').trim()).toBe('partial');
  return running;
}

beforeEach(() => {
  pids = [];
});

afterEach(() => {
  killAll(pids);
  project.dispose();
});

describe('Ctrl-C (SIGINT) during a build', () => {
  beforeEach(() => {
    project = TempProject.create({ 'lbuild.toml': TARGETS });
  });

  it('ends the command and its children, removes partial outputs, keeps finished stamps, exits 130', async () => {
    const running = await startBlocked(3);
    running.child.kill('SIGINT');
    // Promptly: long before `sleep 300` would end by itself.
    await waitFor(() => !pids.some(isRunning), {
      what: () => `the processes of slow to end (running: ${pids.filter(isRunning).join(', ')})`,
      timeoutMs: 10_000,
    });
    const result = await running.exited;

    expect(result.code).toBe(130);
    expect(result.stdout).toMatch(/^▶ first\n✓ first \(\d+m?s\)\n▶ slow\n$/);
    expect(result.stderr).toBe(
      '✗ slow interrupted\nlbuild: interrupted; finished targets keep their stamps, the rest will run next time\n',
    );

    expect(project.exists('out/slow.txt')).toBe(false);
    expect(project.read('out/first.txt')).toBe('first\n');
    expect(project.stamp('first')).toBeDefined();
    expect(project.stamp('slow')).toBeUndefined();
    expect(project.stamp('after')).toBeUndefined();
    expect(project.exists('.lbuild/build.lock')).toBe(false);

    // The next run finishes the job, and runs only what did not finish.
    project.remove('block');
    project.take('runs.log');
    expect((await project.run(['-q'])).code).toBe(1);
    const next = await project.json();
    expect(next.result.code).toBe(0);
    expect(statuses(next.summary)).toEqual({ first: 'up-to-date', slow: 'built', after: 'built' });
    expect(project.take('runs.log')).toEqual(['slow', 'after']);
    expect(project.read('out/slow.txt')).toBe('done\n');
    expect(project.read('out/after.txt')).toBe('done\n');
    expect((await project.run(['-q'])).code).toBe(0);
  });

  it('--json still prints the summary, with the interrupted target', async () => {
    project.write('block', '');
    const running = project.start(['--json']);
    await waitFor(() => project.lines('pids').length === 3, { what: 'slow to start' });
    pids = project.lines('pids').map(Number);
    running.child.kill('SIGINT');
    const result = await running.exited;
    expect(result.code).toBe(130);
    const summary = JSON.parse(result.stdout) as {
      status: string;
      exitCode: number;
      targets: { key: string; status: string }[];
    };
    expect(summary).toMatchObject({ status: 'interrupted', exitCode: 130 });
    expect(summary.targets.map((t) => [t.key, t.status])).toEqual([
      ['first', 'built'],
      ['slow', 'interrupted'],
      ['after', 'skipped'],
    ]);
  });
});

describe('Ctrl-C (SIGINT) during a Python command run without a shell', () => {
  beforeEach(() => {
    project = TempProject.create({ 'lbuild.toml': PYTHON_TARGETS });
  });

  it('ends Python and the process it started, and the next run completes', async () => {
    const running = await startBlocked(2);
    running.child.kill('SIGINT');
    await waitFor(() => !pids.some(isRunning), {
      what: () => `python and sleep to end (running: ${pids.filter(isRunning).join(', ')})`,
      timeoutMs: 10_000,
    });
    const result = await running.exited;
    expect(result.code).toBe(130);
    expect(project.exists('out/slow.txt')).toBe(false);
    expect(project.stamp('first')).toBeDefined();
    expect(project.stamp('slow')).toBeUndefined();

    project.remove('block');
    const next = await project.json();
    expect(next.result.code).toBe(0);
    expect(ran(next.summary)).toEqual(['after', 'slow']);
    expect(project.read('out/after.txt')).toBe('done');
  });
});

describe('lbuild killed outright (SIGKILL) during a build', () => {
  beforeEach(() => {
    project = TempProject.create({ 'lbuild.toml': TARGETS });
  });

  it('leaves a project that the next run completes correctly, without waiting for the dead lock holder', async () => {
    const running = await startBlocked(3);
    running.child.kill('SIGKILL');
    const result = await running.exited;
    expect(result.signal).toBe('SIGKILL');
    // Nothing could clean up: the lock and the partial output are still there, and the command,
    // in its own process group, outlives lbuild. End it, as the user would.
    expect(project.exists('.lbuild/build.lock')).toBe(true);
    killAll(pids);
    await waitFor(() => !pids.some(isRunning), { what: 'the orphaned command to end' });
    expect(project.read('out/slow.txt')).toBe('partial\n');

    // slow's stamp was removed before it started, so nothing vouches for the partial output.
    expect(project.stamp('first')).toBeDefined();
    expect(project.stamp('slow')).toBeUndefined();
    expect((await project.run(['-q'])).code).toBe(1);

    project.remove('block');
    project.take('runs.log');
    const next = await project.json();
    expect(next.result.code).toBe(0);
    expect(next.result.stderr).not.toContain('waiting');
    expect(statuses(next.summary)).toEqual({ first: 'up-to-date', slow: 'built', after: 'built' });
    expect(project.take('runs.log')).toEqual(['slow', 'after']);
    expect(project.read('out/slow.txt')).toBe('done\n');
    expect(project.read('out/after.txt')).toBe('done\n');
    expect(project.exists('.lbuild/build.lock')).toBe(false);
    expect((await project.run(['-q'])).code).toBe(0);
  });
});
