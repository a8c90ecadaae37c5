import { execFileSync } from 'node:child_process';
import {
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runBuild, type BuildOptions } from '../src/build.js';
import { TargetGraph } from '../src/graph.js';
import { StampStore, STAMP_VERSION } from '../src/stamp.js';
import type { TargetDefinition } from '../src/target.js';

let root: string;

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'lbuild-stamp-'));
});

afterEach(() => {
  rmSync(root, { recursive: true, force: true });
});

function write(rel: string, content: string): void {
  mkdirSync(dirname(join(root, rel)), { recursive: true });
  writeFileSync(join(root, rel), content);
}

let runs = 0;
/** One target over `src/**\/*.py` that writes one output. */
const pack: TargetDefinition = {
  key: 'pack',
  kind: 'test',
  deps: [],
  inputs: [{ patterns: ['src/**/*.py'] }, { patterns: ['setup.cfg'] }],
  outputs: ['out/pack.txt'],
  recipe: () => ({ command: 'pack' }),
  run: (ctx) => {
    runs++;
    write('out/pack.txt', ctx.inputs.map((f) => readFileSync(f, 'utf8')).join(''));
    return Promise.resolve(undefined);
  },
};

async function status(mode: BuildOptions['mode']): Promise<string | undefined> {
  const graph = new TargetGraph([pack]);
  const summary = await runBuild({ root, graph, targets: ['pack'], jobs: 1, mode });
  return summary.targets[0]?.status;
}

/**
 * Builds, waits past the racy window, and builds again: the stamp then holds settled records
 * only, so the next check trusts every matching stat and reads nothing (the fast path whose
 * guarantees these tests pin down).
 */
async function settledBuild(): Promise<void> {
  await status('build');
  await sleep(120);
  await status('build');
  expect(await status('query')).toBe('up-to-date');
}

beforeEach(() => {
  runs = 0;
  write('setup.cfg', '[metadata]\n');
  write('src/app/__init__.py', '');
  write('src/app/core/main.py', 'print(1)\n');
  write('src/app/core/util.py', 'X = 1\n');
  write('lib-a/shared.py', 'A = 1\n');
  write('lib-b/shared.py', 'B = 22\n');
});

describe('stamp format', () => {
  it('stores each path once: records in columns, matches as rows of them', async () => {
    await status('build');
    const text = readFileSync(join(root, '.lbuild/stamps/pack.json'), 'utf8');
    const stamp = JSON.parse(text) as Record<string, unknown>;
    expect(stamp.version).toBe(STAMP_VERSION);
    expect(stamp.files).toMatchObject({
      paths: ['setup.cfg', 'src/app/__init__.py', 'src/app/core/main.py', 'src/app/core/util.py'],
    });
    expect(stamp.matches).toEqual({ 'src/**/*.py': [1, 2, 3], 'setup.cfg': [0] });
    expect(stamp.outputs).toMatchObject({ paths: ['out/pack.txt'] });
    expect(text.split('src/app/core/main.py').length - 1).toBe(1);
  });

  it('a stamp of the previous format (records as objects) is no stamp: the target runs again', async () => {
    await status('build');
    const file = join(root, '.lbuild/stamps/pack.json');
    const stamp = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    const v1 = {
      ...stamp,
      version: 1,
      matches: { 'src/**/*.py': ['src/app/core/main.py'] },
      files: { 'src/app/core/main.py': { hash: '0', size: 1, mtimeMs: 1, ctimeMs: 1, ino: 1 } },
      outputs: {},
    };
    writeFileSync(file, JSON.stringify(v1));
    expect(new StampStore(join(root, '.lbuild')).read('pack')).toBeUndefined();
    expect(await status('query')).toBe('stale');
    runs = 0;
    await status('build');
    expect(runs).toBe(1);
  });

  it('a stamp of this version whose matches point past its files is no stamp', async () => {
    await status('build');
    const file = join(root, '.lbuild/stamps/pack.json');
    const stamp = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    writeFileSync(file, JSON.stringify({ ...stamp, matches: { 'src/**/*.py': [0, 99] } }));
    expect(new StampStore(join(root, '.lbuild')).read('pack')).toBeUndefined();
  });
});

describe('a settled no-op check still sees every change', () => {
  beforeEach(settledBuild);

  it('a file added in a subdirectory (only that directory changes)', async () => {
    write('src/app/core/extra.py', 'Y = 2\n');
    expect(await status('query')).toBe('stale');
  });

  it('a file added in a new subdirectory', async () => {
    write('src/app/core/deep/er/extra.py', 'Y = 2\n');
    expect(await status('query')).toBe('stale');
  });

  it('a file removed', async () => {
    rmSync(join(root, 'src/app/core/util.py'));
    expect(await status('query')).toBe('stale');
  });

  it('a file renamed (same content, new name)', async () => {
    renameSync(join(root, 'src/app/core/util.py'), join(root, 'src/app/core/utils.py'));
    expect(await status('query')).toBe('stale');
  });

  it('a file renamed out of the match and back in, with its old times', async () => {
    const path = join(root, 'src/app/core/util.py');
    execFileSync('touch', ['-r', path, join(root, 'times')]);
    renameSync(path, join(root, 'src/app/core/util.txt'));
    writeFileSync(join(root, 'src/app/core/util.txt'), 'X = 2\n');
    execFileSync('touch', ['-r', join(root, 'times'), join(root, 'src/app/core/util.txt')]);
    renameSync(join(root, 'src/app/core/util.txt'), path);
    expect(await status('query')).toBe('stale');
  });

  it('a same-size edit with the mtime put back', async () => {
    const path = join(root, 'src/app/core/util.py');
    const before = statSync(path);
    // touch -r copies the times to the nanosecond (utimes from JavaScript rounds them).
    execFileSync('touch', ['-r', path, join(root, 'times')]);
    writeFileSync(path, 'X = 2\n');
    execFileSync('touch', ['-r', join(root, 'times'), path]);
    expect(statSync(path)).toMatchObject({ size: before.size, mtimeMs: before.mtimeMs });
    expect(await status('query')).toBe('stale');
    await status('build');
    expect(readFileSync(join(root, 'out/pack.txt'), 'utf8')).toContain('X = 2');
  });

  it('a same-size edit of a file in a directory linked in, and the link pointed elsewhere', async () => {
    symlinkSync('../../lib-a', join(root, 'src/app/lib'));
    await settledBuild();
    // The linked directory's file changes; the directories of the tree do not.
    writeFileSync(join(root, 'lib-a/shared.py'), 'A = 2\n');
    expect(await status('query')).toBe('stale');
    await settledBuild();
    // The link now names another directory.
    rmSync(join(root, 'src/app/lib'));
    symlinkSync('../../lib-b', join(root, 'src/app/lib'));
    expect(await status('query')).toBe('stale');
    await settledBuild();
    // The linked-to directory itself is replaced by another one under the same name.
    renameSync(join(root, 'lib-b'), join(root, 'lib-b-old'));
    write('lib-b/shared.py', 'B = 33\n');
    write('lib-b/more.py', 'M = 1\n');
    expect(await status('query')).toBe('stale');
  });

  it('a dangling link whose target appears', async () => {
    symlinkSync('../../../lib-c/late.py', join(root, 'src/app/core/late.py'));
    await settledBuild();
    write('lib-c/late.py', 'L = 1\n');
    expect(await status('query')).toBe('stale');
  });

  it('nothing changed: up to date, and nothing runs', async () => {
    runs = 0;
    expect(await status('query')).toBe('up-to-date');
    await status('build');
    expect(runs).toBe(0);
  });
});
