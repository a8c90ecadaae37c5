import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isRunning, killAll, type RunningLbuild, type TempProject } from '../helpers/project.js';
import { waitFor } from '../helpers/wait.js';
import { InvokeTemplate, NO_PIP_ENV } from './rig.js';

/**
 * `lbuild --watch invoke api --event e.json`: the handler runs after the first build and again
 * after every change to the bundle's inputs or to the event file; stdout is one result per run.
 */

const handler = (version: number) =>
  `def handler(event, context):\n    return {"version": ${String(version)}, "event": event}\n`;

let template: InvokeTemplate;
let project: TempProject;
let running: RunningLbuild | undefined;

beforeAll(async () => {
  template = await InvokeTemplate.create();
  project = template.project({ 'app/main.py': handler(1), 'e.json': '{"n": 1}\n' });
}, 60_000);

afterAll(() => {
  if (running && isRunning(running.pid)) killAll([running.pid]);
  project.dispose();
  template.dispose();
});

/** The results printed so far, one JSON document per line. */
const results = (): unknown[] =>
  (running?.stdout ?? '')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as unknown);

async function nextResult(count: number, what: string): Promise<unknown> {
  await waitFor(() => results().length >= count, {
    what: () =>
      `${what} (result #${String(count)})\n--- stdout ---\n${running?.stdout ?? ''}--- stderr ---\n${running?.stderr ?? ''}`,
    timeoutMs: 40_000,
  });
  return results()[count - 1];
}

describe('lbuild --watch invoke', () => {
  it('runs the handler again after a source edit and after an edit of the event file', async () => {
    running = project.start(['--watch', 'invoke', 'api', '--event', 'e.json'], {
      env: NO_PIP_ENV,
    });
    expect(await nextResult(1, 'the first run')).toEqual({ version: 1, event: { n: 1 } });
    // People's lines (the build, the watch's own) are on stderr: stdout is the results.
    await running.waitForStderr('watching ');
    expect(running.stderr).toContain('api:zip');

    project.write('app/main.py', handler(2));
    expect(await nextResult(2, 'the run after a source edit')).toEqual({
      version: 2,
      event: { n: 1 },
    });

    // A change while the handler runs waits for it, as one during a build does.
    project.write('e.json', '{"n": 2}\n');
    expect(await nextResult(3, 'the run after an event edit')).toEqual({
      version: 2,
      event: { n: 2 },
    });

    running.child.kill('SIGINT');
    const exit = await running.exited;
    expect(exit.code).toBe(0);
    expect(results()).toHaveLength(3);
  });
});
