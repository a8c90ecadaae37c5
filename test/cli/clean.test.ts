import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PYTHON_SOURCES, PYTHON_TARGETS } from '../helpers/fixtures.js';
import { ran, TempProject } from '../helpers/project.js';

let project: TempProject;

/** The fixture project plus a target that writes a directory, and one that is never built. */
const TARGETS = `${PYTHON_TARGETS}
[target.site]
command = "mkdir -p site/pages && cp docs/index.md site/pages/index.html && echo ok > site/status.txt"
inputs = ["docs"]
outputs = ["site"]

[target.release]
command = "echo release > dist/release.txt"
outputs = ["dist/release.txt"]
default = false
`;

beforeEach(async () => {
  project = TempProject.create({ 'lbuild.toml': TARGETS, ...PYTHON_SOURCES });
  expect((await project.run()).code).toBe(0);
});

afterEach(() => {
  project.dispose();
});

describe('lbuild clean', () => {
  it('removes the outputs builds made and their stamps, and nothing else', async () => {
    // Files the user put next to the outputs, and inside an output directory.
    project.write('build/notes.txt', 'mine\n');
    project.write('site/pages/draft.html', 'mine too\n');
    // A declared output the user created, of a target never built: no stamp vouches for it.
    project.write('dist/release.txt', 'hand-made\n');

    const result = await project.run(['clean']);
    expect(result).toMatchObject({ code: 0, stderr: '' });
    expect(
      result.stdout
        .split('\n')
        .filter((l) => l.startsWith('removed '))
        .sort(),
    ).toEqual([
      'removed build/code.txt',
      'removed build/docs.txt',
      'removed build/package.txt',
      'removed site/pages/index.html',
      'removed site/status.txt',
    ]);
    expect(result.stdout).toMatch(/lbuild: cleaned 4 targets\n$/);

    expect(project.files()).toEqual([
      'build/notes.txt',
      'dist/release.txt',
      'docs/index.md',
      'lbuild.toml',
      'runs.log',
      'site/pages/draft.html',
      'src/app/main.py',
      'src/app/util.py',
      'src/lib/helpers.py',
    ]);
    expect(project.read('dist/release.txt')).toBe('hand-made\n');
    for (const key of ['compile', 'package', 'docs', 'site'])
      expect(project.stamp(key)).toBeUndefined();

    // With the stamps gone, everything is stale and the next build remakes it.
    expect((await project.run(['-q'])).code).toBe(1);
    project.take('runs.log');
    const { summary } = await project.json();
    expect(ran(summary)).toEqual(['compile', 'docs', 'package', 'site']);
    expect(project.read('site/status.txt')).toBe('ok\n');
  });

  it('removes directories it emptied, and keeps the ones that still hold user files', async () => {
    project.write('build/notes.txt', 'mine\n');
    await project.run(['clean']);
    expect(project.exists('site')).toBe(false);
    expect(project.exists('build/notes.txt')).toBe(true);
  });

  it('cleans only the named targets', async () => {
    const result = await project.run(['clean', 'docs']);
    expect(result).toMatchObject({
      code: 0,
      stdout: 'removed build/docs.txt\nlbuild: cleaned 1 target\n',
      stderr: '',
    });
    expect(project.exists('build/docs.txt')).toBe(false);
    expect(project.stamp('docs')).toBeUndefined();
    expect(project.stamp('compile')).toBeDefined();
    expect(project.read('build/code.txt')).not.toBe('');
    expect((await project.run(['-q', 'compile', 'package', 'site'])).code).toBe(0);
    expect((await project.run(['-q', 'docs'])).code).toBe(1);
  });

  it('--json lists what it removed', async () => {
    const result = await project.run(['clean', '--json', 'package']);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({
      removed: ['build/package.txt'],
      targets: ['package'],
    });
  });

  it('does nothing a second time', async () => {
    await project.run(['clean']);
    expect(await project.run(['clean'])).toMatchObject({
      code: 0,
      stdout: 'lbuild: cleaned 0 targets\n',
    });
  });
});
