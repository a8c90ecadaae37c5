import { renameSync, writeFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { TempProject } from '../helpers/project.js';
import {
  HANDLER,
  helloProject,
  MODES,
  sha256,
  waitUntilChecked,
  WatchSession,
  ZIP,
  zipContents,
} from './rig.js';

/** Lets an editor's writes of one save be a few milliseconds apart, as real editors' are. */
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const ALL_TARGETS = ['hello:wheelhouse', 'hello:staging', 'hello:tree', 'hello:zip'];
const SOURCES = ['hello:tree', 'hello:zip'];

describe.each(MODES)('lbuild --watch on examples/hello-lambda ($name)', (mode) => {
  let project: TempProject;
  let session: WatchSession;

  beforeEach(async () => {
    project = helloProject();
    session = await WatchSession.start(project, mode.args);
    const first = await session.rebuild(0, 'the first build');
    expect(first).toMatchObject({ changed: ['start'], targets: ALL_TARGETS, status: 'ok' });
    expect(first.summaries).toContain(`sha256 ${sha256(project, ZIP)}`);
  });

  afterEach(() => {
    session.dispose();
    project.dispose();
  });

  it('rebuilds the zip on a source edit; the line says what changed, what ran, how long, the new hash', async () => {
    const before = sha256(project, ZIP);
    const edit = await session.change(() => {
      project.write(HANDLER, `${project.read(HANDLER)}\n# edited while watching\n`);
    });
    const after = sha256(project, ZIP);
    expect(after).not.toBe(before);
    expect(edit).toMatchObject({ changed: [HANDLER], targets: SOURCES, status: 'ok' });
    expect(edit.duration).toMatch(/^\d+ms$|^\d+\.\d\ds$/);
    expect(edit.summaries).toContain(`dist/hello.zip: `);
    expect(edit.summaries).toContain(`sha256 ${after}`);
    expect(zipContents(project)[HANDLER]).toContain('# edited while watching');
    // The time stamp is the wall clock's.
    expect(edit.line.slice(0, 8)).toMatch(/^([01]\d|2[0-3]):[0-5]\d:[0-5]\d$/);
  });

  it('rebuilds nothing on a touch or a save without changes', async () => {
    const zip = { hash: sha256(project, ZIP), mtime: project.mtime(ZIP) };
    const lines = session.lines.length;

    project.touch(HANDLER);
    await waitUntilChecked(session, 'hello:tree', HANDLER);
    const settings = project.read('settings.json');
    project.write('settings.json', settings);
    await waitUntilChecked(session, 'hello:tree', 'settings.json');

    // Both were seen and checked, and nothing ran: no line, the zip untouched.
    expect(session.lines.length).toBe(lines);
    expect({ hash: sha256(project, ZIP), mtime: project.mtime(ZIP) }).toEqual(zip);
    // The next line is a later real edit's.
    const edit = await session.change(() => project.write(HANDLER, `${project.read(HANDLER)}#\n`));
    expect(edit).toMatchObject({ changed: [HANDLER], targets: SOURCES, status: 'ok' });
    expect(session.lines.length).toBe(lines + 1);
  });

  it('rebuilds once for a save made of several writes', async () => {
    const path = project.path(HANDLER);
    const text = project.read(HANDLER);
    // The first build printed what a one-shot build prints (pip's warnings among it); no more.
    const stderr = session.stderr.length;
    // An editor that writes the file five times (each a truncate and a write) 12 ms apart.
    const save = await session.change(() => {
      void (async () => {
        for (let i = 1; i <= 5; i++) {
          if (i > 1) await pause(12);
          writeFileSync(path, `${text}# write ${i} of 5\n`);
        }
      })();
    }, 'the rebuild of a save in several writes');
    expect(save).toMatchObject({ changed: [HANDLER], targets: SOURCES, status: 'ok' });
    expect(zipContents(project)[HANDLER]).toBe(`${text}# write 5 of 5\n`);

    // One rebuild: the next line is the next edit's.
    const next = await session.change(() =>
      project.write('settings.json', '{"greeting": "Hi", "default_name": "you"}\n'),
    );
    expect(next).toMatchObject({ changed: ['settings.json'], targets: SOURCES, status: 'ok' });
    expect(session.stderr.slice(stderr)).toBe('');
  });

  it('rebuilds once for a save by rename (a temp file renamed over the source), and keeps watching it', async () => {
    const text = project.read(HANDLER);
    const save = await session.change(() => {
      writeFileSync(project.path(`${HANDLER}___jb_tmp___`), `${text}# saved by rename\n`);
      renameSync(project.path(`${HANDLER}___jb_tmp___`), project.path(HANDLER));
    }, 'the rebuild of a save by rename');
    expect(save.changed).toContain(HANDLER);
    expect(save).toMatchObject({ targets: SOURCES, status: 'ok' });
    const contents = zipContents(project);
    expect(contents[HANDLER]).toBe(`${text}# saved by rename\n`);
    expect(Object.keys(contents).filter((name) => name.includes('tmp'))).toEqual([]);

    // The renamed-over file is still watched: a plain write to it rebuilds, as the next line.
    const next = await session.change(() =>
      project.write(HANDLER, `${text}# then written in place\n`),
    );
    expect(next).toMatchObject({ changed: [HANDLER], targets: SOURCES, status: 'ok' });
    expect(zipContents(project)[HANDLER]).toBe(`${text}# then written in place\n`);
  });

  it('puts a new source file (also in a new directory) into the zip, and takes a deleted one out', async () => {
    const added = await session.change(() => project.write('hello/extra.py', 'EXTRA = 1\n'));
    expect(added).toMatchObject({ changed: ['hello/extra.py'], targets: SOURCES, status: 'ok' });
    expect(zipContents(project)['hello/extra.py']).toBe('EXTRA = 1\n');

    const deep = await session.change(() => project.write('hello/sub/deep.py', 'DEEP = 2\n'));
    expect(deep.changed).toContain('hello/sub/deep.py');
    expect(deep).toMatchObject({ targets: SOURCES, status: 'ok' });
    expect(zipContents(project)['hello/sub/deep.py']).toBe('DEEP = 2\n');

    const removed = await session.change(() => project.remove('hello/extra.py'));
    expect(removed).toMatchObject({ changed: ['hello/extra.py'], targets: SOURCES, status: 'ok' });
    expect(Object.keys(zipContents(project))).not.toContain('hello/extra.py');

    const dir = await session.change(() => project.remove('hello/sub'));
    expect(dir.changed.some((path) => path.startsWith('hello/sub'))).toBe(true);
    expect(Object.keys(zipContents(project)).filter((n) => n.startsWith('hello/sub'))).toEqual([]);
    expect(Object.keys(zipContents(project))).toContain(HANDLER);
  });

  it('reruns the wheelhouse on a requirements change, and the zip follows the pins', async () => {
    const requirements = project.read('requirements.txt');
    const hash = sha256(project, ZIP);
    const comment = await session.change(() =>
      project.write('requirements.txt', `${requirements}# a comment\n`),
    );
    // The wheelhouse reruns; the same wheels come out, so the tree and the zip do not.
    expect(comment).toMatchObject({ changed: ['requirements.txt'], status: 'ok' });
    expect(comment.targets[0]).toBe('hello:wheelhouse');
    expect(comment.targets).not.toContain('hello:zip');
    expect(sha256(project, ZIP)).toBe(hash);

    // Only lbuild-example-text pinned: greet leaves the zip.
    const unpinned = await session.change(() =>
      project.write('requirements.txt', 'lbuild-example-text==0.2.0\n'),
    );
    expect(unpinned).toMatchObject({ changed: ['requirements.txt'], targets: ALL_TARGETS });
    const names = Object.keys(zipContents(project));
    expect(names.some((n) => n.startsWith('lbuild_example_text/'))).toBe(true);
    expect(names.some((n) => n.startsWith('lbuild_example_greet'))).toBe(false);

    // Pinned again: greet is back, and the zip is the first build's, byte for byte.
    const repinned = await session.change(() => project.write('requirements.txt', requirements));
    expect(repinned).toMatchObject({ changed: ['requirements.txt'], status: 'ok' });
    expect(repinned.targets).toContain('hello:zip');
    expect(sha256(project, ZIP)).toBe(hash);
  });

  it('reports a failed build and goes on watching; fixing the input makes the next line ok', async () => {
    const requirements = project.read('requirements.txt');
    const failed = await session.change(() =>
      project.write('requirements.txt', 'lbuild-example-greet==9.9.9\n'),
    );
    expect(failed).toMatchObject({
      changed: ['requirements.txt'],
      targets: ['hello:wheelhouse'],
      status: 'failed',
    });
    await session.waitForStderr('9.9.9');
    const fixed = await session.change(() => project.write('requirements.txt', requirements));
    expect(fixed).toMatchObject({ changed: ['requirements.txt'], status: 'ok' });
    expect(fixed.targets).toContain('hello:wheelhouse');

    // A file the bundle needs, deleted (as by a checkout) and then put back.
    const hash = sha256(project, ZIP);
    const settings = project.read('settings.json');
    const missing = await session.change(() => project.remove('settings.json'));
    expect(missing).toMatchObject({ changed: ['settings.json'], status: 'failed' });
    expect(missing.targets).toContain('hello:tree');
    // Put back as it was: the last good build's zip is current, nothing runs, and the line says
    // the build is ok again.
    const restored = await session.change(() => project.write('settings.json', settings));
    expect(restored).toMatchObject({ changed: ['settings.json'], targets: [], status: 'ok' });
    expect(sha256(project, ZIP)).toBe(hash);
    const edited = await session.change(() => project.write('settings.json', `${settings}\n`));
    expect(edited).toMatchObject({ changed: ['settings.json'], targets: SOURCES, status: 'ok' });
  });

  it('reloads the graph on a config edit: a changed exclude and a new target take effect', async () => {
    const toml = project.read('lbuild.toml');
    const excluded = toml.replace(
      'exclude      = ["**/tests/**"]',
      'exclude      = ["**/tests/**", "hello/__init__.py"]',
    );
    expect(excluded).not.toBe(toml);
    let lines = session.lines.length;
    project.write('lbuild.toml', excluded);
    const exclude = await session.rebuild(session.rebuilds.length, 'the rebuild after the reload');
    expect(session.lines[lines]).toMatch(/^\d\d:\d\d:\d\d configuration reloaded$/);
    expect(exclude).toMatchObject({ changed: ['lbuild.toml'], targets: SOURCES, status: 'ok' });
    expect(Object.keys(zipContents(project))).not.toContain('hello/__init__.py');

    lines = session.lines.length;
    project.write(
      'lbuild.toml',
      `${excluded}\n[target.extra]\ncommand = "echo made > extra.txt"\noutputs = ["extra.txt"]\n`,
    );
    const extra = await session.rebuild(session.rebuilds.length, 'the new target to be built');
    expect(session.lines[lines]).toMatch(/configuration reloaded$/);
    expect(extra).toMatchObject({ changed: ['lbuild.toml'], targets: ['extra'], status: 'ok' });
    expect(project.read('extra.txt')).toBe('made\n');
  });

  it('reports a broken config, keeps building with the last good graph, and recovers when fixed', async () => {
    const toml = project.read('lbuild.toml');
    const lines = session.lines.length;
    project.write('lbuild.toml', toml.replace('output       = "dist/hello.zip"', 'output = '));
    project.touch(HANDLER);
    await session.waitForStderr('still watching with the last good configuration');
    expect(session.stderr).toMatch(/config error: .*\n\s+--> lbuild\.toml:\d+/);
    // The build that found the config broken went on with the old graph: it checked the touched
    // handler (and ran nothing).
    await waitUntilChecked(session, 'hello:tree', HANDLER);
    expect(session.lines.length).toBe(lines);

    // The old graph still builds.
    const edit = await session.change(() => project.write(HANDLER, `${project.read(HANDLER)}#\n`));
    expect(edit).toMatchObject({ changed: [HANDLER], targets: SOURCES, status: 'ok' });

    // Fixed: reloaded, and a new setting (an extra file in the zip) takes effect.
    project.write(
      'lbuild.toml',
      toml.replace(
        'files        = { "settings.json" = "settings.json" }',
        'files        = { "settings.json" = "settings.json", "extra/settings.json" = "settings.json" }',
      ),
    );
    const fixed = await session.rebuild(session.rebuilds.length, 'the rebuild after the fix');
    expect(session.lines).toContainEqual(expect.stringMatching(/configuration reloaded$/));
    expect(fixed).toMatchObject({ changed: ['lbuild.toml'], targets: SOURCES, status: 'ok' });
    expect(Object.keys(zipContents(project))).toContain('extra/settings.json');
  });
});
