import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LbuildError } from '../src/failure.js';
import { excludeMatcher, expandInputs } from '../src/inputs.js';
import type { InputSpec } from '../src/target.js';

let base: string;
let root: string;

function write(rel: string, content = ''): void {
  mkdirSync(dirname(join(root, rel)), { recursive: true });
  writeFileSync(join(root, rel), content);
}

beforeEach(() => {
  base = mkdtempSync(join(tmpdir(), 'lbuild-inputs-'));
  root = join(base, 'project');
  for (const file of [
    'setup.cfg',
    'README.md',
    'CHANGES.md',
    'src/app/main.py',
    'src/app/util.py',
    'src/app/.hidden.py',
    'src/app/__pycache__/main.cpython-311.pyc',
    'src/app/__pycache__/stray.py',
    'src/lib/B.py',
    'src/lib/a.py',
    'src/lib/data.json',
    'src/top.py',
    'docs/index.md',
    'docs/guide/intro.md',
  ]) {
    write(file, file);
  }
});

afterEach(() => {
  rmSync(base, { recursive: true, force: true });
});

const files = (...specs: InputSpec[]) => expandInputs(root, specs, 'test').files;

describe('expandInputs', () => {
  it('a glob matches files in nested directories, dot files included, sorted bytewise', () => {
    expect(files({ patterns: ['src/**/*.py'] })).toEqual([
      'src/app/.hidden.py',
      'src/app/__pycache__/stray.py',
      'src/app/main.py',
      'src/app/util.py',
      'src/lib/B.py',
      'src/lib/a.py',
      'src/top.py',
    ]);
  });

  it('a glob without ** stays at its depth', () => {
    expect(files({ patterns: ['*.md'] })).toEqual(['CHANGES.md', 'README.md']);
    expect(files({ patterns: ['src/*.py'] })).toEqual(['src/top.py']);
    expect(files({ patterns: ['src/*/*.py'] })).toEqual([
      'src/app/.hidden.py',
      'src/app/main.py',
      'src/app/util.py',
      'src/lib/B.py',
      'src/lib/a.py',
    ]);
    expect(files({ patterns: ['*/guide/*.md'] })).toEqual(['docs/guide/intro.md']);
  });

  it('a glob at the root walks the whole tree', () => {
    expect(files({ patterns: ['**/*.md'] })).toEqual([
      'CHANGES.md',
      'README.md',
      'docs/guide/intro.md',
      'docs/index.md',
    ]);
  });

  it('expands braces and character classes', () => {
    expect(files({ patterns: ['src/{app,lib}/[a-m]*.py'] })).toEqual([
      'src/app/main.py',
      'src/lib/a.py',
    ]);
  });

  it('a glob may match nothing', () => {
    expect(files({ patterns: ['src/**/*.rs'] })).toEqual([]);
    expect(files({ patterns: ['nowhere/**/*.py'] })).toEqual([]);
  });

  it('a plain file is itself, and a plain directory everything below it', () => {
    expect(files({ patterns: ['setup.cfg'] })).toEqual(['setup.cfg']);
    expect(files({ patterns: ['./docs/'] })).toEqual(['docs/guide/intro.md', 'docs/index.md']);
  });

  it('a plain path that does not exist is an error naming the pattern and the target', () => {
    let error: unknown;
    try {
      expandInputs(
        root,
        [{ patterns: ['setup.py'], location: { file: join(root, 'lbuild.toml'), line: 3 } }],
        'test',
      );
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(LbuildError);
    expect((error as LbuildError).failure).toEqual({
      reason: 'missing-input',
      kind: 'config',
      message: 'missing input `setup.py` of target test: no such file',
      hint: 'create the file, fix the path (it is relative to the project root), or use a glob if it may be absent',
      location: { file: join(root, 'lbuild.toml'), line: 3 },
    });
  });

  it('excludes apply to globs, plain directories and plain files alike', () => {
    const exclude = ['**/__pycache__/**', '**/.*'];
    expect(files({ patterns: ['src/**/*.py'], exclude })).toEqual([
      'src/app/main.py',
      'src/app/util.py',
      'src/lib/B.py',
      'src/lib/a.py',
      'src/top.py',
    ]);
    expect(files({ patterns: ['src/app'], exclude })).toEqual([
      'src/app/main.py',
      'src/app/util.py',
    ]);
    expect(files({ patterns: ['setup.cfg', 'README.md'], exclude: ['*.cfg'] })).toEqual([
      'README.md',
    ]);
  });

  it('keeps each spec’s matches apart, and lists every file once', () => {
    const expanded = expandInputs(
      root,
      [{ patterns: ['src/app/*.py', 'setup.cfg'] }, { patterns: ['src/app/main.py', 'docs/*.md'] }],
      'test',
    );
    expect(expanded.matches).toEqual({
      'src/app/*.py,setup.cfg': [
        'setup.cfg',
        'src/app/.hidden.py',
        'src/app/main.py',
        'src/app/util.py',
      ],
      'src/app/main.py,docs/*.md': ['docs/index.md', 'src/app/main.py'],
    });
    expect(expanded.files).toEqual([
      'docs/index.md',
      'setup.cfg',
      'src/app/.hidden.py',
      'src/app/main.py',
      'src/app/util.py',
    ]);
  });

  it('follows symbolic links to files and directories', () => {
    write('../shared/common.py', 'shared');
    symlinkSync(join(base, 'shared'), join(root, 'src/shared'));
    symlinkSync(join(root, 'setup.cfg'), join(root, 'src/linked.py'));
    expect(files({ patterns: ['src/*/*.py'] })).toContain('src/shared/common.py');
    expect(files({ patterns: ['src/*.py'] })).toEqual(['src/linked.py', 'src/top.py']);
  });

  it('survives a symbolic link loop', () => {
    symlinkSync('..', join(root, 'src/lib/loop'));
    const found = files({ patterns: ['src/**/*.py'] });
    expect(found).toContain('src/lib/a.py');
    expect(found.length).toBeLessThan(1000);
  });

  it('never lists the state directory, wherever it is configured', () => {
    write('.lbuild/stamps/a.json', '{}');
    write('state/stamps/a.json', '{}');
    expect(files({ patterns: ['.'] })).not.toContain('.lbuild/stamps/a.json');
    const custom = expandInputs(root, [{ patterns: ['.'] }], 'test', [], { stateDir: 'state' });
    expect(custom.files).not.toContain('state/stamps/a.json');
    expect(custom.files).toContain('.lbuild/stamps/a.json');
  });

  it("leaves out other targets' outputs and their temporary siblings only where a spec asks", () => {
    write('dist/api.zip', 'zip');
    write('dist/.worker.zip.123.9f3a.tmp', 'half a zip');
    write('dist/notes.txt', 'mine');
    write('gen/.out.123.1.x.tmp/part.py', 'half a directory');
    write('gen/out/version.py', 'V = 1');
    const options = { otherOutputs: ['dist/api.zip', './dist/worker.zip', 'gen/out/'] };
    const wide = expandInputs(
      root,
      [{ patterns: ['.'], excludeOutputs: true }],
      'test',
      [],
      options,
    );
    expect(wide.files.filter((f) => f.startsWith('dist/') || f.startsWith('gen/'))).toEqual([
      'dist/notes.txt',
    ]);
    const plain = expandInputs(root, [{ patterns: ['.'] }], 'test', [], options);
    expect(plain.files).toEqual(expect.arrayContaining(['dist/api.zip', 'gen/out/version.py']));
  });
});

describe('excludeMatcher', () => {
  it('leaves out a path its globs match, or one below a folder they match as `dir/`', () => {
    const excluded = excludeMatcher(['**/tests/**', '**/*.pyi', 'pkg/_vendor/', '.hidden']);
    expect(excluded('pkg/tests/test_a.py')).toBe(true);
    expect(excluded('tests/conftest.py')).toBe(true);
    expect(excluded('pkg/core.pyi')).toBe(true);
    expect(excluded('pkg/_vendor/six.py')).toBe(true);
    expect(excluded('pkg/_vendor/deep/x.py')).toBe(true);
    expect(excluded('.hidden')).toBe(true);
    expect(excluded('pkg/core.py')).toBe(false);
    expect(excluded('pkg/testsuite.py')).toBe(false);
    expect(excluded('other/_vendor/six.py')).toBe(false);
  });

  it('matches the files the input walk leaves out, for the same globs', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lbuild-exclude-'));
    try {
      const files = ['a/tests/t.py', 'a/b.py', 'a/b.pyi', 'a/_vendor/v.py', 'c.pyi', '.env'];
      for (const f of files) {
        mkdirSync(dirname(join(dir, f)), { recursive: true });
        writeFileSync(join(dir, f), '');
      }
      const exclude = ['**/tests/**', '*.pyi', 'a/_vendor/', '.env'];
      const walked = expandInputs(dir, [{ patterns: ['.'], exclude }], 't').files;
      const excluded = excludeMatcher(exclude);
      expect(files.filter((f) => !excluded(f)).sort()).toEqual(walked);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
