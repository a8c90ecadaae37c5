import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { statuses, TempProject, type RunningLbuild } from '../helpers/project.js';
import { waitFor } from '../helpers/wait.js';

/**
 * One target whose command notes its start and end in `order.log` and, in between, waits for
 * the test to create `go`. RUN is a declared env var, so each run with a new value must rerun it.
 */
const TARGETS = `[target.step]
command = "echo \\"start $RUN\\" >> order.log; while [ ! -f go ]; do sleep 0.01; done; echo \\"end $RUN\\" >> order.log; echo $RUN > out.txt"
env = ["RUN"]
outputs = ["out.txt"]
`;

let project: TempProject;
let started: RunningLbuild[];

/** Starts lbuild; a test that fails half-way still has its runs released and awaited. */
function start(args: string[], run: string): RunningLbuild {
  const running = project.start(args, { env: { RUN: run } });
  started.push(running);
  return running;
}

beforeEach(() => {
  project = TempProject.create({ 'lbuild.toml': TARGETS });
  started = [];
});

afterEach(async () => {
  project.write('go', '');
  await Promise.all(started.map((r) => r.exited));
  project.dispose();
});

describe('two lbuild runs on one project at once', () => {
  it('are serialised: the second says it waits, then runs after the first finished', async () => {
    const first = start([], '1');
    await waitFor(() => project.lines('order.log').includes('start 1'), {
      what: 'the first run to start its command',
    });

    const second = start(['--json'], '2');
    await second.waitForStderr(
      `waiting for another lbuild (pid ${first.pid}) to finish building this project…\n`,
    );
    // It is waiting, not running: the first command is still the only one started.
    expect(project.lines('order.log')).toEqual(['start 1']);

    project.write('go', '');
    const [one, two] = await Promise.all([first.exited, second.exited]);
    expect(one).toMatchObject({ code: 0, stderr: '' });
    expect(one.stdout).toMatch(
      /^▶ step\n✓ step \(\d+(\.\d+)?m?s\)\nlbuild: built 1 target, 0 up to date, in /,
    );
    expect(two.code).toBe(0);
    const summary = JSON.parse(two.stdout) as {
      targets: { key: string; status: string; reasons: string[] }[];
    };
    expect(summary.targets).toMatchObject([
      { key: 'step', status: 'built', reasons: ['environment variable RUN changed'] },
    ]);

    expect(project.lines('order.log')).toEqual(['start 1', 'end 1', 'start 2', 'end 2']);
    expect(project.read('out.txt')).toBe('2\n');
    expect(await project.run(['-q'], { env: { RUN: '2' } })).toMatchObject({
      code: 0,
      stdout: '',
      stderr: '',
    });
    expect(project.exists('.lbuild/build.lock')).toBe(false);
  });

  it('the second finds the target the first just built up to date', async () => {
    const first = start([], 'same');
    await waitFor(() => project.lines('order.log').includes('start same'), {
      what: 'the first run to start its command',
    });
    const second = start(['--json'], 'same');
    await second.waitForStderr('waiting for another lbuild');

    project.write('go', '');
    const [one, two] = await Promise.all([first.exited, second.exited]);
    expect(one.code).toBe(0);
    expect(two.code).toBe(0);
    expect(statuses(JSON.parse(two.stdout) as never)).toEqual({ step: 'up-to-date' });
    expect(project.lines('order.log')).toEqual(['start same', 'end same']);
  });

  it('Ctrl-C on the waiting one ends it with exit 130 and leaves the first undisturbed', async () => {
    const first = start([], '1');
    await waitFor(() => project.lines('order.log').includes('start 1'), {
      what: 'the first run to start its command',
    });
    const second = start([], '2');
    await second.waitForStderr('waiting for another lbuild');
    second.child.kill('SIGINT');
    expect(await second.exited).toMatchObject({
      code: 130,
      stdout: '',
      stderr: `waiting for another lbuild (pid ${first.pid}) to finish building this project…\nlbuild: error: interrupted while waiting for another lbuild to finish\n`,
    });

    project.write('go', '');
    expect((await first.exited).code).toBe(0);
    expect(project.lines('order.log')).toEqual(['start 1', 'end 1']);
    expect((await project.run(['-q'], { env: { RUN: '1' } })).code).toBe(0);
  });

  it('--json: Ctrl-C while waiting is an interruption (exit 130), not a config error', async () => {
    const first = start([], '1');
    await waitFor(() => project.lines('order.log').includes('start 1'), {
      what: 'the first run to start its command',
    });
    const second = start(['--json'], '2');
    await second.waitForStderr('waiting for another lbuild');
    second.child.kill('SIGINT');
    const { code, stdout, stderr } = await second.exited;
    expect(code, stderr).toBe(130);
    expect(JSON.parse(stdout)).toEqual({
      status: 'error',
      exitCode: 130,
      errors: [
        {
          kind: 'interrupted',
          reason: 'interrupted',
          during: 'lock-wait',
          message: 'interrupted while waiting for another lbuild to finish',
        },
      ],
    });
    project.write('go', '');
    expect((await first.exited).code).toBe(0);
  });

  it('Ctrl-C on a clean waiting for the lock: the same interruption, exit 130, nothing cleaned', async () => {
    const first = start([], '1');
    await waitFor(() => project.lines('order.log').includes('start 1'), {
      what: 'the first run to start its command',
    });
    const cleaning = start(['clean'], '1');
    await cleaning.waitForStderr('waiting for another lbuild');
    cleaning.child.kill('SIGINT');
    expect(await cleaning.exited).toMatchObject({
      code: 130,
      stdout: '',
      stderr:
        'waiting for another lbuild to finish building this project…\nlbuild: error: interrupted while waiting for another lbuild to finish\n',
    });
    project.write('go', '');
    expect((await first.exited).code).toBe(0);
    expect(project.exists('out.txt')).toBe(true);
  });

  it('-q does not wait for a running build', async () => {
    const first = start([], '1');
    await waitFor(() => project.lines('order.log').includes('start 1'), {
      what: 'the first run to start its command',
    });
    // No stamp yet: the running build has not finished.
    expect(await project.run(['-q'], { env: { RUN: '1' } })).toMatchObject({ code: 1, stderr: '' });
    project.write('go', '');
    expect((await first.exited).code).toBe(0);
    expect((await project.run(['-q'], { env: { RUN: '1' } })).code).toBe(0);
  });
});
