import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runBuild } from '../src/build.js';
import { LocalDirStore } from '../src/cache/local-store.js';
import type { CacheOptions } from '../src/cache/options.js';
import { CacheStoreError, type CacheStore } from '../src/cache/store.js';
import type { BuildEvent } from '../src/events.js';
import { TargetGraph } from '../src/graph.js';
import type { TargetDefinition } from '../src/target.js';

/**
 * The shared cache in the engine: two copies of one project at different paths share entries
 * through a store, and nothing the store holds is trusted before it is checked.
 */
let base: string;
let cacheDir: string;
let runs: Record<string, number>;
/** pack's recipe: a change makes pack run again, which needs gen's files. */
let packFormat: number;

beforeEach(() => {
  base = mkdtempSync(join(tmpdir(), 'lbuild-shared-cache-'));
  cacheDir = join(base, 'cache');
  runs = {};
  packFormat = 1;
});

afterEach(() => {
  rmSync(base, { recursive: true, force: true });
});

function project(name: string, files: Record<string, string> = {}): string {
  const root = join(base, name);
  const all = { 'src.txt': 'source\n', 'extra.txt': 'extra\n', ...files };
  for (const [rel, content] of Object.entries(all)) {
    mkdirSync(dirname(join(root, rel)), { recursive: true });
    writeFileSync(join(root, rel), content);
  }
  return root;
}

/**
 * `gen` reads src.txt (an input) and extra.txt (snapshotted, as a requirements include is), and
 * also leaves a file in the shared cache directory that its output names (as a wheelhouse
 * does); `pack` reads gen's output.
 */
function targets(): TargetDefinition[] {
  const count = (key: string) => (runs[key] = (runs[key] ?? 0) + 1);
  return [
    {
      key: 'gen',
      kind: 'gen',
      deps: [],
      inputs: [{ patterns: ['src.txt'] }],
      outputs: ['out/gen'],
      recipe: () => ({ tool: 'upper' }),
      cache: {},
      run: async (ctx) => {
        count('gen');
        await ctx.snapshot(['extra.txt']);
        const text =
          (await readFile(join(ctx.root, 'src.txt'), 'utf8')) +
          (await readFile(join(ctx.root, 'extra.txt'), 'utf8'));
        mkdirSync(join(ctx.root, 'out/gen'), { recursive: true });
        await writeFile(join(ctx.root, 'out/gen/text.txt'), text.toUpperCase());
        const kept = join(ctx.cacheDir, 'kept', 'data.bin');
        mkdirSync(dirname(kept), { recursive: true });
        await writeFile(kept, 'kept:' + text);
        return { value: { length: text.length }, cacheFiles: [kept] };
      },
    },
    {
      key: 'pack',
      kind: 'pack',
      deps: ['gen'],
      outputs: ['dist/pack.txt'],
      recipe: () => ({ format: packFormat }),
      cache: {},
      run: async (ctx) => {
        count('pack');
        const text = await readFile(join(ctx.root, 'out/gen/text.txt'), 'utf8');
        mkdirSync(join(ctx.root, 'dist'), { recursive: true });
        await writeFile(join(ctx.root, 'dist/pack.txt'), `[${text}]`);
        return undefined;
      },
    },
  ];
}

/** A local directory store that counts the blobs it hands out. */
class CountingStore extends LocalDirStore {
  fetched = 0;
  override async getBlob(...args: Parameters<LocalDirStore['getBlob']>): Promise<boolean> {
    this.fetched++;
    return super.getBlob(...args);
  }
}

async function build(root: string, cache?: Partial<CacheOptions>, wanted = ['pack']) {
  const events: BuildEvent[] = [];
  const graph = new TargetGraph(targets());
  const summary = await runBuild({
    root,
    graph,
    targets: wanted,
    jobs: 2,
    onEvent: (event) => events.push(event),
    cache: { stores: [new LocalDirStore(cacheDir)], mode: 'read-write', ...cache },
  });
  const warnings = events.flatMap((e) => (e.type === 'cache-warning' ? [e.message] : []));
  const restored = summary.targets.filter((t) => t.restored).map((t) => t.key);
  return { summary, warnings, restored };
}

const read = (root: string, rel: string) => readFileSync(join(root, rel), 'utf8');

/** Every stored file below the cache's `kind` directory (entries or blobs). */
function stored(kind: 'entries' | 'blobs'): string[] {
  const dir = join(cacheDir, kind);
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && !e.name.startsWith('.'))
    .map((e) => join(e.parentPath, e.name));
}

/** The entry that holds `target`'s outputs, and its parsed manifest. */
interface StoredManifest {
  target: string;
  outputs: { path: string; sha256: string }[];
  [field: string]: unknown;
}

function entryOf(target: string): { path: string; signature: string; manifest: StoredManifest } {
  for (const path of stored('entries')) {
    const text = readFileSync(path, 'utf8');
    const newline = text.indexOf('\n');
    const manifest = JSON.parse(text.slice(newline + 1)) as StoredManifest;
    if (manifest.target === target) return { path, signature: text.slice(0, newline), manifest };
  }
  throw new Error(`no entry for ${target}`);
}

function blobOf(digest: string): string {
  return join(cacheDir, 'blobs', digest.slice(0, 2), digest);
}

describe('the shared cache', () => {
  it('restores a copy at another path without running anything, then stamps it', async () => {
    const a = project('a');
    const first = await build(a);
    expect(first.summary.status).toBe('ok');
    expect(runs).toEqual({ gen: 1, pack: 1 });
    expect(first.warnings).toEqual([]);

    const b = project('elsewhere/b');
    const second = await build(b, undefined, ['gen']);
    expect(second.summary.status).toBe('ok');
    expect(second.restored).toEqual(['gen']);
    const packed = await build(b);
    expect(packed.restored).toEqual(['pack']);
    expect(runs).toEqual({ gen: 1, pack: 1 });
    expect(read(b, 'dist/pack.txt')).toBe(read(a, 'dist/pack.txt'));
    expect(read(b, 'out/gen/text.txt')).toBe('SOURCE\nEXTRA\n');
    // The file the output refers to came along.
    expect(read(b, '.lbuild/cache/kept/data.bin')).toBe('kept:source\nextra\n');
    const report = second.summary.targets.find((t) => t.key === 'gen');
    expect(report?.value).toEqual({ length: 13 });
    expect(report?.restored?.key).toMatch(/^[0-9a-f]{64}$/);

    // Stamped as a build stamps: the next build is a plain check, with no store in it.
    const third = await build(b, { stores: [] }, ['gen', 'pack']);
    expect(third.summary.targets.map((t) => t.status)).toEqual(['up-to-date', 'up-to-date']);
  });

  it('leaves in the cache what nothing in the build reads, until a run needs it', async () => {
    const a = project('a');
    await build(a);
    const b = project('b');
    const store = new CountingStore(cacheDir);
    const lazy = await build(b, { stores: [store] });
    expect(lazy.restored.sort()).toEqual(['gen', 'pack']);
    const gen = lazy.summary.targets.find((t) => t.key === 'gen');
    expect(gen?.restored?.materialised).toBe(false);
    // Only pack's one file was fetched; gen's output and the file it names were not.
    expect(store.fetched).toBe(1);
    expect(existsSync(join(b, 'out'))).toBe(false);
    expect(existsSync(join(b, '.lbuild/cache/kept'))).toBe(false);
    expect(read(b, 'dist/pack.txt')).toBe(read(a, 'dist/pack.txt'));

    // Up to date, with no cache: a check of stamps alone.
    const query = await runBuild({
      root: b,
      graph: new TargetGraph(targets()),
      targets: ['pack'],
      mode: 'query',
    });
    expect(query.status).toBe('ok');
    const again = await build(b, { stores: [] });
    expect(again.summary.targets.map((t) => t.status)).toEqual(['up-to-date', 'up-to-date']);

    // pack must run: gen's files are fetched first, verified, and gen is stamped as built.
    packFormat = 2;
    const rerun = await build(b, { stores: [store] });
    expect(rerun.summary.status).toBe('ok');
    expect(runs).toEqual({ gen: 1, pack: 2 });
    expect(store.fetched).toBe(3);
    expect(read(b, 'out/gen/text.txt')).toBe('SOURCE\nEXTRA\n');
    expect(read(b, '.lbuild/cache/kept/data.bin')).toBe('kept:source\nextra\n');
    const after = await build(b, { stores: [] }, ['gen', 'pack']);
    expect(after.summary.targets.map((t) => t.status)).toEqual(['up-to-date', 'up-to-date']);

    // Asked for by name, a target that is only in the cache is fetched.
    const c = project('c');
    await build(c);
    expect(existsSync(join(c, 'out'))).toBe(false);
    const named = await build(c, undefined, ['gen']);
    expect(named.restored).toEqual(['gen']);
    expect(read(c, 'out/gen/text.txt')).toBe('SOURCE\nEXTRA\n');
  });

  it('runs a target that is only stamped when the cache no longer has it', async () => {
    await build(project('a'));
    const b = project('b');
    await build(b);
    rmSync(cacheDir, { recursive: true });
    packFormat = 2;
    const rerun = await build(b);
    expect(rerun.summary.status).toBe('ok');
    expect(runs).toEqual({ gen: 2, pack: 2 });
    expect(read(b, 'dist/pack.txt')).toBe('[SOURCE\nEXTRA\n]');
    // Something at a not-materialised output's path is not taken for it.
    const c = project('c');
    await build(c);
    mkdirSync(join(c, 'out/gen'), { recursive: true });
    writeFileSync(join(c, 'out/gen/text.txt'), 'stale');
    const check = await runBuild({
      root: c,
      graph: new TargetGraph(targets()),
      targets: ['pack'],
      mode: 'query',
    });
    expect(check.status).toBe('stale');
  });

  it('keys a snapshotted file by its content: another one is a miss', async () => {
    await build(project('a'));
    const b = project('b', { 'extra.txt': 'other\n' });
    const second = await build(b);
    expect(runs).toEqual({ gen: 2, pack: 2 });
    expect(second.restored).toEqual([]);
    expect(read(b, 'dist/pack.txt')).toBe('[SOURCE\nOTHER\n]');
    // And a third copy with the first content still hits the first entry.
    await build(project('c'));
    expect(runs).toEqual({ gen: 2, pack: 2 });
  });

  it('keys the inputs by content and the recipe', async () => {
    await build(project('a'));
    await build(project('b', { 'src.txt': 'changed\n' }));
    expect(runs).toEqual({ gen: 2, pack: 2 });
    packFormat = 2;
    await build(project('c'));
    expect(runs).toEqual({ gen: 2, pack: 3 });
    // Each of those is an entry of its own: a copy of any of them runs nothing.
    packFormat = 1;
    await build(project('d', { 'src.txt': 'changed\n' }));
    expect(runs).toEqual({ gen: 2, pack: 3 });
  });

  it('takes a blob whose bytes are not its SHA-256 for a miss, with a warning', async () => {
    const a = project('a');
    await build(a);
    const digest = entryOf('pack').manifest.outputs[0]?.sha256 ?? '';
    const blob = readFileSync(blobOf(digest));
    blob[0] = (blob[0] as number) ^ 1;
    writeFileSync(blobOf(digest), blob);
    const b = project('b');
    const second = await build(b);
    expect(second.summary.status).toBe('ok');
    expect(second.warnings).toEqual([expect.stringMatching(/does not match its SHA-256/)]);
    expect(second.restored).toEqual(['gen']);
    expect(runs.pack).toBe(2);
    expect(read(b, 'dist/pack.txt')).toBe(read(a, 'dist/pack.txt'));
    // Nothing half-restored is left beside the output.
    expect(readdirSync(join(b, 'dist'))).toEqual(['pack.txt']);
  });

  it('takes a missing blob for a miss, and leaves the disk as it was', async () => {
    const a = project('a');
    await build(a);
    rmSync(blobOf(entryOf('gen').manifest.outputs[0]?.sha256 ?? ''));
    const b = project('b');
    const second = await build(b, undefined, ['gen']);
    expect(second.warnings).toEqual([expect.stringMatching(/is missing/)]);
    expect(runs).toEqual({ gen: 2, pack: 1 });
    await build(b);
    expect(read(b, 'dist/pack.txt')).toBe(read(a, 'dist/pack.txt'));
    expect(readdirSync(join(b, 'out'))).toEqual(['gen']);
  });

  it('takes an entry with no blobs, or not JSON, for a miss', async () => {
    await build(project('a'));
    const gen = entryOf('gen');
    writeFileSync(gen.path, `\n${JSON.stringify({ ...gen.manifest, outputs: [] })}`);
    writeFileSync(entryOf('pack').path, '\n{"format": 1, "type": "outp');
    const second = await build(project('b'));
    expect(second.restored).toEqual([]);
    expect(second.warnings).toHaveLength(2);
    expect(second.warnings.join('\n')).toMatch(/malformed/);
    expect(second.warnings.join('\n')).toMatch(/not valid JSON/);
    expect(runs).toEqual({ gen: 2, pack: 2 });
  });

  it('never restores a file outside the outputs an entry names', async () => {
    await build(project('a'));
    const pack = entryOf('pack');
    const outputs = [{ ...pack.manifest.outputs[0], path: '../escaped.txt' }];
    writeFileSync(pack.path, `\n${JSON.stringify({ ...pack.manifest, outputs })}`);
    const second = await build(project('b'));
    expect(second.warnings).toEqual([expect.stringMatching(/outside the target's outputs/)]);
    expect(existsSync(join(base, 'escaped.txt'))).toBe(false);
    expect(runs.pack).toBe(2);
  });

  it('with a signing key, takes unsigned and badly signed entries for misses', async () => {
    await build(project('a'));
    const unsigned = await build(project('b'), { signingKey: 'key-one' });
    expect(unsigned.restored).toEqual([]);
    expect(unsigned.warnings.join('\n')).toMatch(/not signed/);
    expect(runs).toEqual({ gen: 2, pack: 2 });

    rmSync(cacheDir, { recursive: true });
    await build(project('c'), { signingKey: 'key-one' });
    expect(entryOf('gen').signature).toMatch(/^hmac-sha256:[0-9a-f]{64}$/);
    const wrong = await build(project('d'), { signingKey: 'key-two' });
    expect(wrong.restored).toEqual([]);
    expect(wrong.warnings.join('\n')).toMatch(/wrong signature/);
    const right = await build(project('e'), { signingKey: 'key-one' });
    expect(right.restored.sort()).toEqual(['gen', 'pack']);
    expect(right.warnings).toEqual([]);
    // The signature covers the bytes: an edit to a signed entry breaks it.
    const gen = entryOf('gen');
    const edited = { ...gen.manifest, value: { length: 99 } };
    writeFileSync(gen.path, `${gen.signature}\n${JSON.stringify(edited)}`);
    const tampered = await build(project('f'), { signingKey: 'key-one' });
    expect(tampered.warnings.join('\n')).toMatch(/wrong signature/);
    expect(tampered.restored).not.toContain('gen');
    expect(runs.gen).toBe(5);
  });

  it('in read mode restores but writes nothing', async () => {
    const first = await build(project('a'), { mode: 'read' });
    expect(first.summary.status).toBe('ok');
    expect(stored('entries')).toEqual([]);
    expect(stored('blobs')).toEqual([]);
    await build(project('b'));
    const third = await build(project('c'), { mode: 'read' });
    expect(third.restored.sort()).toEqual(['gen', 'pack']);
  });

  it('lets the first of two racing writers win, and both builds succeed', async () => {
    const [one, two] = await Promise.all([build(project('a')), build(project('b'))]);
    expect(one.summary.status).toBe('ok');
    expect(two.summary.status).toBe('ok');
    expect(one.warnings).toEqual([]);
    expect(two.warnings).toEqual([]);
    const third = await build(project('c'));
    expect(third.restored.sort()).toEqual(['gen', 'pack']);
    expect(third.warnings).toEqual([]);
  });

  it('goes on without a store that fails, after one warning', async () => {
    const calls: string[] = [];
    const failing: CacheStore = {
      name: 's3://bucket/prefix',
      getEntry: () => {
        calls.push('getEntry');
        return Promise.reject(
          new CacheStoreError('unreachable', 'connect ECONNREFUSED 127.0.0.1:9'),
        );
      },
      putEntry: () => {
        calls.push('putEntry');
        return Promise.reject(
          new CacheStoreError('unreachable', 'connect ECONNREFUSED 127.0.0.1:9'),
        );
      },
      hasBlob: () => {
        calls.push('hasBlob');
        return Promise.reject(
          new CacheStoreError('unreachable', 'connect ECONNREFUSED 127.0.0.1:9'),
        );
      },
      getBlob: () => {
        calls.push('getBlob');
        return Promise.reject(new CacheStoreError('denied', 'Access Denied'));
      },
      putBlob: () => {
        calls.push('putBlob');
        return Promise.reject(new CacheStoreError('denied', 'Access Denied'));
      },
    };
    const a = project('a');
    const result = await build(a, { stores: [new LocalDirStore(cacheDir), failing] });
    expect(result.summary.status).toBe('ok');
    expect(result.warnings).toEqual([
      'cache s3://bucket/prefix is unreachable: connect ECONNREFUSED 127.0.0.1:9; going on without it',
    ]);
    expect(calls).toEqual(['getEntry']);
    // The local store still took what was built.
    const b = await build(project('b'), { stores: [new LocalDirStore(cacheDir), failing] });
    expect(b.restored.sort()).toEqual(['gen', 'pack']);
  });

  it('copies a hit in a later store into the earlier one', async () => {
    const remote = join(base, 'remote');
    await build(project('a'), { stores: [new LocalDirStore(remote)] });
    expect(stored('entries')).toEqual([]);
    const c = await build(
      project('c'),
      { stores: [new LocalDirStore(cacheDir), new LocalDirStore(remote)] },
      ['gen'],
    );
    expect(c.restored).toEqual(['gen']);
    expect(stored('entries').length).toBeGreaterThan(0);
    const d = await build(project('d'), undefined, ['gen']);
    expect(d.restored).toEqual(['gen']);
  });
});
