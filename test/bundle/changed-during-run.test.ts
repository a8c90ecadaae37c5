import { appendFileSync, cpSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { killAll, TempProject, type JsonSummary, type RunningLbuild } from '../helpers/project.js';
import { waitFor } from '../helpers/wait.js';
import { NO_PIP_ENV, Template, sha256, zipText } from './rig.js';

/**
 * An edit of a local path project while pip builds it: the wheel holds the code from before the
 * edit, so the run must not be stamped, and the next build must make what a clean build makes.
 */
let template: Template;
const cleanup: (() => void)[] = [];
const running: RunningLbuild[] = [];

const OLD_CODE = 'from gamma import gamma\n\n\ndef local():\n    return "local+" + gamma()\n';
const NEW_CODE = 'from gamma import gamma\n\n\ndef local():\n    return "LOCAL+" + gamma()\n';

/**
 * Added to the local project's in-tree build backend: the first wheel build (of pip's copy of
 * the project) says so with a file `building` and waits until the test writes `go`.
 */
const gatedBackend = (dir: string) => `
_ungated_build_wheel = build_wheel


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    import time
    gate = ${JSON.stringify(dir)}
    if not os.path.exists(os.path.join(gate, "go")):
        open(os.path.join(gate, "building"), "w").close()
        deadline = time.time() + 60
        while not os.path.exists(os.path.join(gate, "go")) and time.time() < deadline:
            time.sleep(0.02)
    return _ungated_build_wheel(wheel_directory, config_settings, metadata_directory)
`;

beforeAll(async () => {
  template = await Template.create();
});
afterAll(() => {
  template.dispose();
});
afterEach(() => {
  const alive = running.filter((r) => r.child.exitCode === null && r.child.signalCode === null);
  killAll(alive.map((r) => r.pid));
  running.length = 0;
  for (const undo of cleanup.splice(0)) undo();
});

/** A copy of the template whose local project's first wheel build waits for the test. */
function gatedProject(): { p: TempProject; gate: string } {
  const p = template.project();
  const gate = mkdtempSync(join(tmpdir(), 'lbuild-pip-gate-'));
  cleanup.push(() => {
    p.dispose();
    rmSync(gate, { recursive: true, force: true });
  });
  expect(p.read('localpkg/localpkg/__init__.py')).toBe(OLD_CODE);
  expect(NEW_CODE.length).toBe(OLD_CODE.length);
  appendFileSync(p.path('localpkg/_lbuild_fixture_backend.py'), gatedBackend(gate));
  return { p, gate };
}

/** Starts lbuild ARGS and, while pip builds its copy of the local project, edits the original. */
async function startAndEditDuringPip(
  p: TempProject,
  gate: string,
  args: string[],
): Promise<RunningLbuild> {
  const lbuild = p.start(args, { env: NO_PIP_ENV });
  running.push(lbuild);
  await waitFor(() => existsSync(join(gate, 'building')), {
    what: () => `pip to build the local project (lbuild so far: ${lbuild.stderr})`,
    timeoutMs: 60_000,
  });
  p.write('localpkg/localpkg/__init__.py', NEW_CODE);
  writeFileSync(join(gate, 'go'), '');
  return lbuild;
}

const LINE =
  'lbuild: fn:wheelhouse: localpkg/localpkg/__init__.py changed while the target ran; not stamped, the next build runs it again';

it('an edit of a local project while pip builds it is not stamped: -q then exits 1, and the next build equals a clean build', async () => {
  const { p, gate } = gatedProject();
  const first = await startAndEditDuringPip(p, gate, ['--json']);
  const result = await first.exited;
  expect(result.code, result.stderr).toBe(0);
  // The race happened: this zip holds the code from before the edit.
  expect(zipText(p.path('dist/fn.zip'), 'localpkg/__init__.py')).toContain('"local+"');

  // Not "up to date": the wheelhouse has no stamp.
  expect((await p.run(['-q'], { env: NO_PIP_ENV })).code).toBe(1);

  // Said once, in one line, and in the --json summary.
  expect(result.stderr.split('\n').filter((l) => l.includes('changed while'))).toEqual([LINE]);
  const summary = JSON.parse(result.stdout) as JsonSummary;
  const wheelhouse = summary.targets.find((t) => t.key === 'fn:wheelhouse');
  expect(wheelhouse?.status).toBe('built');
  expect(wheelhouse?.changedDuringRun).toEqual(['localpkg/localpkg/__init__.py']);
  expect(summary.status).toBe('ok');

  const second = await p.run([], { env: NO_PIP_ENV });
  expect(second.code, second.stderr).toBe(0);
  expect(second.stderr).not.toContain('changed while');
  expect(zipText(p.path('dist/fn.zip'), 'localpkg/__init__.py')).toContain('"LOCAL+"');
  expect((await p.run(['-q'], { env: NO_PIP_ENV })).code).toBe(0);

  // A clean build of the same files in a fresh directory gives the same bytes.
  const fresh = TempProject.create();
  cleanup.push(() => fresh.dispose());
  cpSync(p.dir, fresh.dir, {
    recursive: true,
    filter: (from) =>
      !['.lbuild', 'dist'].includes(from.slice(p.dir.length + 1).split('/')[0] ?? ''),
  });
  expect(fresh.files()).toEqual(p.files().filter((f) => !f.startsWith('dist/')));
  const clean = await fresh.run([], { env: NO_PIP_ENV });
  expect(clean.code, clean.stderr).toBe(0);
  expect(sha256(p.path('dist/fn.zip'))).toBe(sha256(fresh.path('dist/fn.zip')));
}, 240_000);

it('--watch builds again by itself when a local project was edited while pip built it', async () => {
  const { p, gate } = gatedProject();
  // The first build of a watch session: no stamp has named the local project's files yet.
  const watch = await startAndEditDuringPip(p, gate, ['--watch']);
  const rebuilds = () => watch.stdout.split('\n').filter((l) => / → .* in \S+/.test(l));
  await waitFor(() => rebuilds().length >= 2, {
    what: () => `a second build (so far:\n${watch.stdout}\n${watch.stderr})`,
    timeoutMs: 120_000,
  });
  const [first = '', second = ''] = rebuilds();
  expect(first).toMatch(/ start → fn:wheelhouse, .* ok in /);
  expect(second).toMatch(
    / localpkg\/localpkg\/__init__\.py → fn:wheelhouse, fn:staging, fn:tree, fn:zip ok in /,
  );
  expect(watch.stderr.split('\n').filter((l) => l.includes('changed while'))).toEqual([LINE]);
  expect(zipText(p.path('dist/fn.zip'), 'localpkg/__init__.py')).toContain('"LOCAL+"');
  watch.child.kill('SIGINT');
  expect((await watch.exited).code).toBe(0);
  expect((await p.run(['-q'], { env: NO_PIP_ENV })).code).toBe(0);
}, 240_000);
