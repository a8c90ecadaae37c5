import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LbuildError } from '@lbuild/core';
import { readRequirements, shellSplit } from '../../src/pip/index.js';
import { makeLocalProject } from '../../../../test/fixtures/python/wheels.js';

let root: string;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'lbuild-req-'));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

async function write(rel: string, text: string): Promise<string> {
  const path = join(root, rel);
  await mkdir(join(path, '..'), { recursive: true });
  await writeFile(path, text);
  return path;
}

async function failureOf(promise: Promise<unknown>) {
  try {
    await promise;
  } catch (error) {
    if (error instanceof LbuildError) return error.failure;
    throw error;
  }
  throw new Error('expected a failure');
}

describe('readRequirements', () => {
  it('follows -r and -c includes relative to the including file, recursively', async () => {
    const top = await write(
      'requirements.txt',
      [
        '# the app',
        'alpha==1.0  # pinned',
        '-r sub/more.txt',
        '--constraint=sub/constraints.txt',
        '',
      ].join('\n'),
    );
    const more = await write(
      'sub/more.txt',
      'beta >= 2.0 ;  python_version >= "3.8"\n-r deeper/deep.txt\n',
    );
    const deep = await write('sub/deeper/deep.txt', 'gamma\n');
    const constraints = await write('sub/constraints.txt', 'beta<3\n');
    const req = await readRequirements(top);
    expect(req.files).toEqual([top, more, deep, constraints]);
    expect(req.requirements).toEqual([
      'alpha==1.0',
      'beta >= 2.0 ; python_version >= "3.8"',
      'gamma',
    ]);
    const constraint = req.lines.find((l) => l.file === constraints);
    expect(constraint).toMatchObject({ text: 'beta<3', constraint: true, line: 1 });
    expect(req.lines.find((l) => l.include?.path === more)).toMatchObject({
      text: '--requirement=sub/more.txt',
      line: 3,
    });
    expect(req.lines.find((l) => l.include?.path === constraints)?.include).toEqual({
      path: constraints,
      constraint: true,
    });
    expect(req.usesHashes).toBe(false);
    expect(req.localPaths).toEqual([]);
  });

  it('joins continuation lines, drops comments, and notices --hash', async () => {
    const top = await write(
      'requirements.txt',
      [
        'alpha==1.0 \\',
        '    --hash=sha256:aaaa \\',
        '    --hash sha256:bbbb',
        '# beta',
        'beta==2.0 --hash=sha256:cccc # why',
        '',
      ].join('\n'),
    );
    const req = await readRequirements(top);
    expect(req.usesHashes).toBe(true);
    expect(req.lines.map((l) => [l.line, l.text])).toEqual([
      [1, 'alpha==1.0 --hash=sha256:aaaa --hash=sha256:bbbb'],
      [5, 'beta==2.0 --hash=sha256:cccc'],
    ]);
    expect(req.requirements).toEqual([
      'alpha==1.0 --hash=sha256:aaaa --hash=sha256:bbbb',
      'beta==2.0 --hash=sha256:cccc',
    ]);
  });

  it('finds local path requirements in every spelling, as absolute paths', async () => {
    const pkgA = await makeLocalProject(join(root, 'pkgs', 'a'), { name: 'a', version: '1' });
    const pkgB = await makeLocalProject(join(root, 'b'), { name: 'bee', version: '1' });
    const pkgC = await makeLocalProject(join(root, 'c'), { name: 'cee', version: '1' });
    const pkgD = await makeLocalProject(join(root, 'd'), { name: 'dee', version: '1' });
    const wheel = await write('dist/e-1.0-py3-none-any.whl', 'not really a wheel');
    const top = await write(
      'requirements.txt',
      [
        './pkgs/a[extra1, extra2]',
        `bee @ file://${pkgB}`,
        'file:./c',
        '-e ./d',
        'dist/e-1.0-py3-none-any.whl ; python_version > "3"',
        'requests==2.31.0',
        'git+https://example.com/repo.git#egg=thing',
        'remote @ https://example.com/remote-1.0.tar.gz',
        '',
      ].join('\n'),
    );
    const req = await readRequirements(top);
    expect(
      req.localPaths.map((l) => ({
        path: l.path,
        type: l.type,
        name: l.name,
        extras: l.extras,
        editable: l.editable,
        marker: l.marker,
      })),
    ).toEqual([
      {
        path: pkgA,
        type: 'directory',
        name: undefined,
        extras: ['extra1', 'extra2'],
        editable: false,
        marker: undefined,
      },
      {
        path: pkgB,
        type: 'directory',
        name: 'bee',
        extras: [],
        editable: false,
        marker: undefined,
      },
      {
        path: pkgC,
        type: 'directory',
        name: undefined,
        extras: [],
        editable: false,
        marker: undefined,
      },
      {
        path: pkgD,
        type: 'directory',
        name: undefined,
        extras: [],
        editable: true,
        marker: undefined,
      },
      {
        path: wheel,
        type: 'archive',
        name: undefined,
        extras: [],
        editable: false,
        marker: 'python_version > "3"',
      },
    ]);
  });

  it('resolves local paths against the given cwd (pip runs in the project root)', async () => {
    const pkg = await makeLocalProject(join(root, 'localpkg'), {
      name: 'localpkg',
      version: '0.1',
    });
    const top = await write('reqs/requirements.txt', './localpkg\n');
    const req = await readRequirements(top, { cwd: root });
    expect(req.localPaths.map((l) => l.path)).toEqual([pkg]);
    expect(req.cwd).toBe(root);
  });

  it('collects index options written in the files, credentials stripped', async () => {
    await mkdir(join(root, 'wheels'));
    const top = await write(
      'requirements.txt',
      [
        '--index-url https://user:secret@pypi.example.com/simple/',
        '--extra-index-url=https://other.example.com/simple?token=abc123',
        '-f wheels',
        '--no-index',
        'alpha',
        '',
      ].join('\n'),
    );
    const req = await readRequirements(top);
    expect(req.index).toEqual({
      indexUrl: 'https://pypi.example.com/simple',
      extraIndexUrls: ['https://other.example.com/simple'],
      findLinks: [join(root, 'wheels')],
      noIndex: true,
    });
    const texts = req.lines.map((l) => l.text).join('\n');
    expect(texts).not.toContain('secret');
    expect(texts).not.toContain('abc123');
  });

  it('says exactly which file is missing, and who included it', async () => {
    const top = await write('requirements.txt', 'alpha\n\n-r extra/missing.txt\n');
    const failure = await failureOf(readRequirements(top));
    expect(failure).toMatchObject({
      kind: 'config',
      reason: 'requirements-not-found',
      message: `Requirements file not found: ${join(root, 'extra/missing.txt')} (included with -r from ${top} line 3)`,
      location: { file: top, line: 3 },
    });
  });

  it('says exactly when the top-level file is missing', async () => {
    const failure = await failureOf(readRequirements(join(root, 'nope.txt')));
    expect(failure).toMatchObject({
      kind: 'config',
      reason: 'requirements-not-found',
      message: `Requirements file not found: ${join(root, 'nope.txt')}`,
    });
  });

  it('rejects a missing local path, an include cycle and unknown options', async () => {
    const a = await write('a.txt', './not-there\n');
    expect(await failureOf(readRequirements(a))).toMatchObject({
      reason: 'local-requirement-not-found',
      message: `Local requirement ./not-there not found: ${join(root, 'not-there')} (${a} line 1).`,
    });
    const b = await write('b.txt', '-r c.txt\n');
    await write('c.txt', '-r b.txt\n');
    expect(await failureOf(readRequirements(b))).toMatchObject({
      reason: 'requirements-include-cycle',
      kind: 'config',
    });
    const d = await write('d.txt', 'alpha\n--frobnicate\n');
    expect(await failureOf(readRequirements(d))).toMatchObject({
      reason: 'requirements-syntax',
      message: `Unknown option --frobnicate in ${d} line 2.`,
      location: { file: d, line: 2 },
    });
  });

  it('splits option text like a shell', () => {
    expect(shellSplit(`--hash=sha256:a "quoted value" 'single \\ quoted' back\\ slash`)).toEqual([
      '--hash=sha256:a',
      'quoted value',
      'single \\ quoted',
      'back slash',
    ]);
  });
});
