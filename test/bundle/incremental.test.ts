import { chmodSync, readdirSync, utimesSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ran, statuses, type JsonSummary, type TempProject } from '../helpers/project.js';
import {
  NO_PIP_ENV,
  Template,
  bundleToml,
  inspectZip,
  sha256,
  zipNames,
  zipText,
  zipValue,
} from './rig.js';

/**
 * What a change reruns, seen through `--json` statuses: nothing for no change or a touch, only
 * the targets a change affects otherwise, and the zip's bytes follow the content.
 */
let template: Template;
let project: TempProject;
let zip: string;
let first: string;

const build = async (args: string[] = []): Promise<JsonSummary> => {
  const { result, summary } = await project.json(args, { env: NO_PIP_ENV });
  expect(result.code, result.stderr).toBe(0);
  return summary;
};
const question = async () => (await project.run(['-q'], { env: NO_PIP_ENV })).code;
const ALL_UP_TO_DATE = {
  'fn:wheelhouse': 'up-to-date',
  'fn:staging': 'up-to-date',
  'fn:tree': 'up-to-date',
  'fn:zip': 'up-to-date',
};

beforeAll(async () => {
  template = await Template.create();
});
afterAll(() => {
  template.dispose();
});

beforeEach(async () => {
  project = template.project();
  const summary = await build();
  expect(ran(summary)).toEqual(['fn:staging', 'fn:tree', 'fn:wheelhouse', 'fn:zip']);
  zip = project.path('dist/fn.zip');
  first = sha256(zip);
});
afterEach(() => {
  project.dispose();
});

describe('no change', () => {
  it('a second build runs nothing and leaves the zip alone', async () => {
    const mtime = project.mtime('dist/fn.zip');
    expect(await question()).toBe(0);
    const summary = await build();
    expect(statuses(summary)).toEqual(ALL_UP_TO_DATE);
    expect(sha256(zip)).toBe(first);
    expect(project.mtime('dist/fn.zip')).toBe(mtime);
  });

  it('touching every file (sources, requirements, wheels, local project, config) runs nothing; -q exits 0', async () => {
    const when = new Date(Date.now() + 3_600_000);
    const touched = project.files().filter((f) => !f.startsWith('dist/'));
    expect(touched).toEqual(
      expect.arrayContaining([
        'requirements.txt',
        'app/handler.py',
        'settings.json',
        'lbuild.toml',
      ]),
    );
    expect(touched.some((f) => f.startsWith('wheels/'))).toBe(true);
    expect(touched.some((f) => f.startsWith('localpkg/'))).toBe(true);
    for (const file of touched) project.touch(file, when);
    // Directories too: a touched directory is not a changed listing.
    for (const dir of ['app', 'wheels', 'localpkg', 'localpkg/localpkg'])
      utimesSync(project.path(dir), when, when);

    expect(await question()).toBe(0);
    const summary = await build();
    expect(statuses(summary)).toEqual(ALL_UP_TO_DATE);
    expect(sha256(zip)).toBe(first);
  });
});

describe('a change', () => {
  it('to a source file reruns tree and zip only; -q exits 1 before', async () => {
    project.write('app/handler.py', project.read('app/handler.py') + '\nVERSION = 2\n');
    expect(await question()).toBe(1);
    const summary = await build();
    expect(statuses(summary)).toEqual({
      'fn:wheelhouse': 'up-to-date',
      'fn:staging': 'up-to-date',
      'fn:tree': 'built',
      'fn:zip': 'built',
    });
    expect(zipText(zip, 'app/handler.py')).toContain('VERSION = 2');
    expect(sha256(zip)).toBe(zipValue(summary).sha256);
    expect(sha256(zip)).not.toBe(first);
    expect(await question()).toBe(0);
  });

  it('that only adds a comment to requirements.txt reruns the wheelhouse, and stops there', async () => {
    const mtime = project.mtime('dist/fn.zip');
    project.write('requirements.txt', '# pinned\n' + project.read('requirements.txt'));
    expect(await question()).toBe(1);
    const summary = await build();
    expect(statuses(summary)).toEqual({
      'fn:wheelhouse': 'built',
      'fn:staging': 'up-to-date',
      'fn:tree': 'up-to-date',
      'fn:zip': 'up-to-date',
    });
    expect(summary.targets.find((t) => t.key === 'fn:wheelhouse')?.unchanged).toBe(true);
    expect(sha256(zip)).toBe(first);
    expect(project.mtime('dist/fn.zip')).toBe(mtime);
    expect(await question()).toBe(0);
  });

  it('removing a requirement removes its files from the zip', async () => {
    // alpha is the top of the chain: beta and gamma stay (pinned), alpha goes.
    const before = zipNames(zip);
    // alpha/__init__.py and the .dist-info's INSTALLER, METADATA, RECORD and WHEEL.
    expect(before.filter((n) => n.startsWith('alpha'))).toHaveLength(5);
    project.write('requirements.txt', project.read('requirements.txt').replace('alpha==1.0\n', ''));
    const summary = await build();
    expect(ran(summary)).toEqual(['fn:staging', 'fn:tree', 'fn:wheelhouse', 'fn:zip']);
    const after = zipNames(zip);
    expect(after.filter((n) => n.startsWith('alpha'))).toEqual([]);
    expect(after).toEqual(before.filter((n) => !n.startsWith('alpha')));
    // The wheel is still in the wheelhouse cache, but not staged.
    expect(
      readdirSync(project.path('.lbuild/targets/fn%3astaging/wheels')).filter((f) =>
        f.startsWith('alpha'),
      ),
    ).toEqual([]);
  });

  it('adding a file to a source directory adds it; deleting it removes it', async () => {
    project.write('app/extra/util.py', 'X = 1\n');
    expect(await question()).toBe(1);
    let summary = await build();
    expect(ran(summary)).toEqual(['fn:tree', 'fn:zip']);
    expect(zipNames(zip)).toContain('app/extra/util.py');
    expect(zipText(zip, 'app/extra/util.py')).toBe('X = 1\n');

    project.remove('app/extra/util.py');
    expect(await question()).toBe(1);
    summary = await build();
    expect(ran(summary)).toEqual(['fn:tree', 'fn:zip']);
    expect(zipNames(zip)).not.toContain('app/extra/util.py');
    // Back to the first zip, byte for byte (an empty directory leaves no entry).
    expect(sha256(zip)).toBe(first);
  });

  it('a new file under an excluded path changes nothing', async () => {
    project.write('app/tests/test_more.py', 'def test_more():\n    pass\n');
    project.write('app/__pycache__/handler.cpython-312.pyc', 'compiled');
    expect(await question()).toBe(0);
    expect(statuses(await build())).toEqual(ALL_UP_TO_DATE);
  });

  it('to an extra file (`files`) reruns tree and zip', async () => {
    project.write('settings.json', '{"greeting": "bonjour"}\n');
    expect(await question()).toBe(1);
    const summary = await build();
    expect(ran(summary)).toEqual(['fn:tree', 'fn:zip']);
    expect(zipText(zip, 'settings.json')).toBe('{"greeting": "bonjour"}\n');
  });

  it('to the local project reruns the wheelhouse and puts the new code in the zip', async () => {
    project.write(
      'localpkg/localpkg/__init__.py',
      'from gamma import gamma\n\n\ndef local():\n    return "LOCAL+" + gamma()\n',
    );
    expect(await question()).toBe(1);
    const summary = await build();
    expect(ran(summary)).toEqual(['fn:staging', 'fn:tree', 'fn:wheelhouse', 'fn:zip']);
    expect(zipText(zip, 'localpkg/__init__.py')).toContain('"LOCAL+"');
  });

  it("of a source file's execute bit (chmod +x, then -x) reruns tree and zip: the mode follows", async () => {
    const mode = () => inspectZip(zip).entries.find((e) => e.name === 'app/handler.py')?.mode;
    expect(mode()).toBe(0o100644);
    chmodSync(project.path('app/handler.py'), 0o755);
    expect(await question()).toBe(1);
    let summary = await build();
    expect(ran(summary)).toEqual(['fn:tree', 'fn:zip']);
    expect(summary.targets.find((t) => t.key === 'fn:tree')?.reasons).toEqual([
      'input mode changed: app/handler.py (now executable)',
    ]);
    expect(mode()).toBe(0o100755);
    chmodSync(project.path('app/handler.py'), 0o644);
    summary = await build();
    expect(ran(summary)).toEqual(['fn:tree', 'fn:zip']);
    expect(mode()).toBe(0o100644);
    expect(sha256(zip)).toBe(first);
  });

  it('deleting the staged wheels by hand reruns staging alone, from the wheelhouse', async () => {
    project.remove('.lbuild/targets/fn%3astaging');
    expect(await question()).toBe(1);
    const summary = await build();
    expect(ran(summary)).toEqual(['fn:staging']);
    expect(summary.targets.find((t) => t.key === 'fn:staging')?.unchanged).toBe(true);
    expect(readdirSync(project.path('.lbuild/targets/fn%3astaging/wheels')).sort()).toEqual([
      'alpha-1.0-py3-none-any.whl',
      'beta-2.0-py3-none-any.whl',
      'gamma-3.0-py3-none-any.whl',
      'localpkg-0.1-py3-none-any.whl',
    ]);
    expect(sha256(zip)).toBe(first);
  });

  it('of compression-level reruns only the zip', async () => {
    project.write(
      'lbuild.toml',
      bundleToml({ python: template.python, extra: 'compression-level = 0\n' }),
    );
    expect(await question()).toBe(1);
    const summary = await build();
    expect(statuses(summary)).toEqual({
      'fn:wheelhouse': 'up-to-date',
      'fn:staging': 'up-to-date',
      'fn:tree': 'up-to-date',
      'fn:zip': 'built',
    });
    // Level 0 stores what lbuild compresses itself (the project's files).
    const handler = inspectZip(zip).entries.find((e) => e.name === 'app/handler.py');
    expect(handler?.compressType).toBe(0);
    expect(sha256(zip)).not.toBe(first);
    expect(await question()).toBe(0);
  });
});
