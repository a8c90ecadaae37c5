import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LbuildError, runProcess, type ProcessRunner } from '@lbuild/core';
import { probePython, type BuildPython } from '../../src/pip/python.js';
import type { PySource } from '../../src/tree/bytecode.js';
import { createPycCompiler } from '../../src/tree/compile-pyc.js';

/**
 * The pyc compiler with the real python3: what py_compile writes, one process for a batch, none
 * when every pyc is in the cache, a damaged cache file compiled again, and an interpreter that is
 * not the one probed refused.
 */
let dir: string;
let python: BuildPython;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'compile-pyc-'));
  python = await probePython('python3', { cwd: dir });
}, 60_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function counting(): { runner: ProcessRunner; starts: () => number } {
  let n = 0;
  return {
    runner: (request) => {
      n++;
      return runProcess(request);
    },
    starts: () => n,
  };
}

const source = (path: string, text: string): PySource => ({
  path,
  key: `test:${path}:${text}`,
  read: () => Promise.resolve(Buffer.from(text)),
});

const PY_COMPILE = String.raw`
import py_compile, sys
py_compile.compile(sys.argv[1], cfile=sys.argv[2], dfile=sys.argv[3], optimize=0,
                   invalidation_mode=py_compile.PycInvalidationMode[sys.argv[4]])
`;

describe('createPycCompiler', () => {
  it('writes what py_compile writes, in one process, and from the cache in none', async () => {
    const cacheDir = join(dir, 'cache');
    const { runner, starts } = counting();
    const compiler = createPycCompiler({
      python,
      mode: 'checked-hash',
      root: '/var/task',
      cacheDir,
      runner,
    });
    const sources = [
      source('pkg/a.py', 'X = {"a", "b", "c"}\n'),
      source('pkg/b.py', 'def f():\n    return 1\n'),
      source('old.py', 'print "python 2"\n'),
    ];
    const results = await compiler.compile(sources);
    expect(starts()).toBe(1);
    expect(compiler.cacheTag).toBe(python.cacheTag);

    writeFileSync(join(dir, 'a.py'), 'X = {"a", "b", "c"}\n');
    execFileSync('python3', [
      '-c',
      PY_COMPILE,
      join(dir, 'a.py'),
      join(dir, 'a.pyc'),
      '/var/task/pkg/a.py',
      'CHECKED_HASH',
    ]);
    expect(results[0]).toEqual({ ok: true, pyc: readFileSync(join(dir, 'a.pyc')) });
    expect(results[1]?.ok).toBe(true);
    expect(results[2]).toMatchObject({ ok: false });
    expect(results[2]?.ok === false && results[2].error).toMatch(/^SyntaxError: .*\(line 1\)$/);

    const again = await createPycCompiler({
      python,
      mode: 'checked-hash',
      root: '/var/task',
      cacheDir,
      runner,
    }).compile(sources);
    expect(starts()).toBe(1);
    expect(again).toEqual(results);

    // Another mode is another key.
    await createPycCompiler({
      python,
      mode: 'unchecked-hash',
      root: '/var/task',
      cacheDir,
      runner,
    }).compile(sources.slice(0, 1));
    expect(starts()).toBe(2);
  }, 60_000);

  it('compiles again what a damaged cache file holds', async () => {
    const cacheDir = join(dir, 'damaged');
    const { runner, starts } = counting();
    const make = () =>
      createPycCompiler({ python, mode: 'unchecked-hash', root: '/var/task', cacheDir, runner });
    const sources = [source('m.py', 'VALUE = 42\n')];
    const [first] = await make().compile(sources);
    const shard = readdirSync(cacheDir).find((name) => name !== 'tmp') ?? '';
    const [file] = readdirSync(join(cacheDir, shard));
    const path = join(cacheDir, shard, file ?? '');
    const bytes = readFileSync(path);
    bytes.writeUInt8(bytes.readUInt8(bytes.length - 1) ^ 0xff, bytes.length - 1);
    writeFileSync(path, bytes);
    const [second] = await make().compile(sources);
    expect(starts()).toBe(2);
    expect(second).toEqual(first);
    // The damaged file was replaced: a third compile starts nothing.
    await make().compile(sources);
    expect(starts()).toBe(2);
  }, 60_000);

  it('refuses pycs from an interpreter other than the one the fingerprint names', async () => {
    const compiler = createPycCompiler({
      python: { ...python, version: '3.0.0' },
      mode: 'unchecked-hash',
      root: '/var/task',
      cacheDir: join(dir, 'other'),
    });
    const error = await compiler.compile([source('m.py', 'VALUE = 1\n')]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LbuildError);
    expect((error as LbuildError).failure.reason).toBe('input-changed-during-run');
  }, 60_000);
});
