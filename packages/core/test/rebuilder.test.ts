import { mkdirSync, mkdtempSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FileHasher, type FileRecord } from '../src/file-state.js';
import { expandInputs } from '../src/inputs.js';
import { verifyTrace, type VerifyInput } from '../src/rebuilder.js';
import { toRecords, toTable } from '../src/file-table.js';
import { matchRows, STAMP_VERSION, type Stamp } from '../src/stamp.js';
import type { InputSpec } from '../src/target.js';

let root: string;

function write(rel: string, content: string): void {
  mkdirSync(dirname(join(root, rel)), { recursive: true });
  writeFileSync(join(root, rel), content);
}

const settled = () => new FileHasher(() => Date.now() + 60_000);
const SPECS: InputSpec[] = [{ patterns: ['src/**/*.py'] }, { patterns: ['setup.cfg'] }];
const RECIPE = { command: 'aaaa', 'env.GREETING': 'bbbb' };
const DEPS = new Map([['compile', 'dep-hash-1']]);
const OUTPUTS = ['dist/app.txt', 'dist/site'];

/** The trace a successful run would have left for the current files. */
async function record(): Promise<Stamp> {
  const hasher = settled();
  const inputs = expandInputs(root, SPECS, 't');
  const files: Record<string, FileRecord> = {};
  for (const f of inputs.files) files[f] = (await hasher.state(join(root, f)))!;
  const outputs: Record<string, FileRecord> = {};
  for (const f of ['dist/app.txt', 'dist/site/index.html'])
    outputs[f] = (await hasher.state(join(root, f)))!;
  const table = toTable(files);
  return {
    version: STAMP_VERSION,
    key: 't',
    recipeHash: 'r',
    recipe: RECIPE,
    deps: Object.fromEntries(DEPS),
    matches: matchRows(table, inputs.matches),
    files: table,
    outputs: toTable(outputs),
    outputHash: 'o',
    builtAt: new Date().toISOString(),
    durationMs: 1,
  };
}

/** Checks the trace against the files as they are now. */
function verify(stamp: Stamp | undefined, changes: Partial<VerifyInput> = {}) {
  return verifyTrace({
    root,
    stamp,
    recipe: RECIPE,
    deps: DEPS,
    inputs: expandInputs(root, SPECS, 't'),
    outputs: OUTPUTS,
    hasher: settled(),
    firstOnly: false,
    ...changes,
  });
}

let stamp: Stamp;
const recorded = (path: string) => toRecords(stamp.files)[path];

beforeEach(async () => {
  root = mkdtempSync(join(tmpdir(), 'lbuild-rebuilder-'));
  write('src/app/main.py', 'print(1)\n');
  write('src/app/util.py', 'X = 1\n');
  write('setup.cfg', '[metadata]\n');
  write('dist/app.txt', 'built\n');
  write('dist/site/index.html', '<p>built</p>\n');
  stamp = await record();
});

afterEach(() => {
  rmSync(root, { recursive: true, force: true });
});

describe('verifyTrace', () => {
  it('verifies an unchanged project: no reasons, nothing to refresh', async () => {
    expect(await verify(stamp)).toMatchObject({ reasons: [], refresh: false });
  });

  it('no stamp', async () => {
    expect((await verify(undefined)).reasons).toEqual([{ kind: 'no-stamp' }]);
  });

  it('a recipe field changed, by name', async () => {
    const { reasons } = await verify(stamp, { recipe: { ...RECIPE, command: 'cccc' } });
    expect(reasons).toEqual([{ kind: 'recipe-changed', field: 'command' }]);
  });

  it('a recipe field added or removed', async () => {
    expect((await verify(stamp, { recipe: { ...RECIPE, platform: 'x' } })).reasons).toEqual([
      { kind: 'recipe-changed', field: 'platform' },
    ]);
    expect((await verify(stamp, { recipe: { command: 'aaaa' } })).reasons).toEqual([
      { kind: 'env-changed', name: 'GREETING' },
    ]);
  });

  it('a declared environment value changed', async () => {
    const { reasons } = await verify(stamp, { recipe: { ...RECIPE, 'env.GREETING': 'dddd' } });
    expect(reasons).toEqual([{ kind: 'env-changed', name: 'GREETING' }]);
  });

  it("a dependency's output changed", async () => {
    const { reasons } = await verify(stamp, { deps: new Map([['compile', 'dep-hash-2']]) });
    expect(reasons).toEqual([
      { kind: 'dependency-changed', dep: 'compile', from: 'dep-hash-1', to: 'dep-hash-2' },
    ]);
  });

  it('a new dependency', async () => {
    const { reasons } = await verify(stamp, { deps: new Map([...DEPS, ['lint', 'h']]) });
    expect(reasons).toEqual([{ kind: 'dependency-changed', dep: 'lint', from: '', to: 'h' }]);
  });

  it('an input added: a new file matches a glob', async () => {
    write('src/lib/new.py', 'Y = 2\n');
    expect((await verify(stamp)).reasons).toEqual([
      { kind: 'input-added', path: 'src/lib/new.py' },
    ]);
  });

  it('an input removed: reported once', async () => {
    rmSync(join(root, 'src/app/util.py'));
    expect((await verify(stamp)).reasons).toEqual([
      { kind: 'input-removed', path: 'src/app/util.py' },
    ]);
  });

  it('an input changed, with the hashes before and after', async () => {
    write('src/app/main.py', 'print(2)\n');
    const { reasons } = await verify(stamp);
    expect(reasons).toEqual([
      {
        kind: 'input-changed',
        path: 'src/app/main.py',
        from: recorded('src/app/main.py')?.hash,
        to: expect.stringMatching(/^[0-9a-f]{16}$/),
      },
    ]);
    expect(reasons[0]).not.toMatchObject({ to: recorded('src/app/main.py')?.hash });
  });

  it('an input spec changed', async () => {
    const { reasons } = await verify(stamp, {
      inputs: expandInputs(
        root,
        [{ patterns: ['src/**/*.py'], exclude: ['**/util.py'] }, SPECS[1]!],
        't',
      ),
    });
    expect(reasons).toEqual([{ kind: 'recipe-changed', field: 'inputs src/**/*.py !**/util.py' }]);
  });

  it('a touched input verifies, and asks for the stamp to be refreshed with the new stat', async () => {
    const later = new Date(Date.now() + 5_000);
    utimesSync(join(root, 'setup.cfg'), later, later);
    const result = await verify(stamp);
    expect(result.reasons).toEqual([]);
    expect(result.refresh).toBe(true);
    expect(result.files['setup.cfg']).toMatchObject({
      hash: recorded('setup.cfg')?.hash,
      mtimeMs: statSync(join(root, 'setup.cfg')).mtimeMs,
    });
    // Only the refreshed record: the rest of the stamp stays as it was.
    expect(Object.keys(result.files)).toEqual(['setup.cfg']);
  });

  it('a recorded read that was not a declared input changed', async () => {
    write('pyproject.toml', '[project]\n');
    const withRead: Stamp = {
      ...stamp,
      files: toTable({
        ...toRecords(stamp.files),
        'pyproject.toml': (await settled().state(join(root, 'pyproject.toml')))!,
      }),
    };
    write('pyproject.toml', '[project]\nname = "x"\n');
    expect((await verify(withRead)).reasons).toMatchObject([
      { kind: 'input-changed', path: 'pyproject.toml' },
    ]);
  });

  it('an output missing: a file, and a whole directory', async () => {
    rmSync(join(root, 'dist/app.txt'));
    expect((await verify(stamp)).reasons).toEqual([
      { kind: 'output-missing', path: 'dist/app.txt' },
    ]);
    rmSync(join(root, 'dist/site'), { recursive: true });
    expect((await verify(stamp)).reasons).toEqual([
      { kind: 'output-missing', path: 'dist/app.txt' },
      { kind: 'output-missing', path: 'dist/site/index.html' },
    ]);
  });

  it('an output modified since it was built', async () => {
    write('dist/app.txt', 'edited\n');
    expect((await verify(stamp)).reasons).toEqual([
      {
        kind: 'output-modified',
        path: 'dist/app.txt',
        from: toRecords(stamp.outputs)['dist/app.txt']?.hash,
        to: expect.stringMatching(/^[0-9a-f]{16}$/),
      },
    ]);
  });

  it('a file that appeared in an output directory', async () => {
    write('dist/site/stray.html', 'x');
    expect((await verify(stamp)).reasons).toEqual([
      { kind: 'output-modified', path: 'dist/site/stray.html', from: '', to: 'new file' },
    ]);
  });

  it('collects every reason, or stops at the first when only a yes or no is needed', async () => {
    write('src/app/main.py', 'print(3)\n');
    rmSync(join(root, 'dist/app.txt'));
    const changes = { recipe: { ...RECIPE, command: 'zzzz' } };
    const all = await verify(stamp, changes);
    expect(all.reasons.map((r) => r.kind)).toEqual([
      'recipe-changed',
      'input-changed',
      'output-missing',
    ]);
    const first = await verify(stamp, { ...changes, firstOnly: true });
    expect(first.reasons).toEqual([{ kind: 'recipe-changed', field: 'command' }]);
  });

  it('reads no file content when every stat matches', async () => {
    const hasher = settled();
    await verify(stamp, { hasher });
    expect(hasher.hashed).toBe(0);
  });
});
