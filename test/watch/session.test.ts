import { afterEach, describe, expect, it } from 'vitest';
import { TempProject } from '../helpers/project.js';
import { waitFor } from '../helpers/wait.js';
import { MODES, WatchSession } from './rig.js';

/**
 * A watch cycle is a build, printed the way a one-shot build prints it (the same renderer, the
 * same options), plus the cycle's line. The failing command prints a text that is not in its
 * command line (it is computed), so only its own output can bring it to the terminal.
 */
const CHECK = `[target.check]
command = "if grep -q bad src/a.txt; then echo \\"check-says-$((6 * 7))\\" >&2; exit 3; fi; mkdir -p out && cp src/a.txt out/a.txt"
inputs = ["src"]
outputs = ["out/a.txt"]
`;

let project: TempProject | undefined;
let session: WatchSession | undefined;

afterEach(() => {
  session?.dispose();
  project?.dispose();
  session = undefined;
  project = undefined;
});

async function watch(args: readonly string[]): Promise<{ p: TempProject; s: WatchSession }> {
  const p = (project = TempProject.create({ 'lbuild.toml': CHECK, 'src/a.txt': 'good\n' }));
  // With --json, stdout carries only JSON: "watching" is on stderr.
  const s = (session = WatchSession.launch(p, args));
  await (args.includes('--json') ? s.waitForStderr('watching ') : s.waitForStdout('watching '));
  return { p, s };
}

describe.each(MODES)('a watch cycle prints as a build does ($name)', (mode) => {
  it("shows a failing command's own stderr", async () => {
    const { p, s } = await watch(mode.args);
    expect(await s.rebuild(0)).toMatchObject({ targets: ['check'], status: 'ok' });
    const failed = await s.change(() => p.write('src/a.txt', 'bad\n'));
    expect(failed).toMatchObject({ changed: ['src/a.txt'], targets: ['check'], status: 'failed' });
    await s.waitForStderr('check-says-42');
    // Its own output comes before the failure that points at it.
    expect(s.stderr.indexOf('check-says-42')).toBeLessThan(
      s.stderr.indexOf('see its output above'),
    );
    // The build's lines, as a one-shot build prints them, then the cycle's line.
    expect(s.stdout).toMatch(/▶ check\n/);
    expect(s.stderr).toMatch(/lbuild: build failed: 1 failed/);
  });

  it('--explain says why each target runs', async () => {
    const { p, s } = await watch([...mode.args, '--explain']);
    await s.rebuild(0);
    expect(s.stdout).toContain('because no stamp');
    await s.change(() => p.write('src/a.txt', 'good again\n'));
    expect(s.stdout).toMatch(/because input changed: src\/a\.txt \(\w+ → \w+\)/);
  });

  it('--log-format json prints pino lines, with one line per cycle', async () => {
    const { p, s } = await watch([...mode.args, '--log-format', 'json']);
    await s.waitForStdout('"event":"watch-cycle"');
    p.write('src/a.txt', 'bad\n');
    await waitFor(() => s.stdout.split('"event":"watch-cycle"').length === 3, {
      what: () => `the failing cycle's line\n${s.stdout}${s.stderr}`,
    });
    const lines = s.stdout.trim().split('\n');
    // Every line on stdout is a pino JSON line.
    const records = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(records.every((r) => typeof r.level === 'number' && typeof r.msg === 'string')).toBe(
      true,
    );
    const output = records.find((r) => r.event === 'target-output' && r.stream === 'stderr');
    expect(output).toMatchObject({ key: 'check', text: 'check-says-42\n' });
    const cycles = records.filter((r) => r.event === 'watch-cycle');
    expect(cycles.map((r) => [r.changed, r.status])).toEqual([
      [['start'], 'ok'],
      [['src/a.txt'], 'failed'],
    ]);
  });

  it('--json prints one JSON summary line per cycle on stdout, and people’s lines on stderr', async () => {
    const { p, s } = await watch([...mode.args, '--json']);
    await s.waitForStdout('"status":"ok"');
    p.write('src/a.txt', 'bad\n');
    await s.waitForStdout('"status":"failed"');
    // The cycle line goes to stderr after the summary went to stdout: two pipes, no order.
    await s.waitForStderr(' → check failed in ');
    const lines = s.stdout.trim().split('\n');
    const summaries = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    // A save may reach a native watcher as two events (truncate, write) in two cycles: the
    // first and the last line are the ones that must be there, every line a summary.
    expect(summaries[0]).toMatchObject({
      changed: ['start'],
      status: 'ok',
      exitCode: 0,
      targets: [{ key: 'check', status: 'built' }],
    });
    expect(summaries.at(-1)).toMatchObject({
      changed: ['src/a.txt'],
      status: 'failed',
      exitCode: 1,
      targets: [
        { key: 'check', status: 'failed', reasons: [expect.stringContaining('src/a.txt')] },
      ],
    });
    for (const summary of summaries.slice(1)) expect(summary.changed).toEqual(['src/a.txt']);
    expect(s.stderr).toContain('check-says-42');
    expect(s.stderr).toMatch(/^\d\d:\d\d:\d\d src\/a\.txt → check failed in /m);
  });
});
