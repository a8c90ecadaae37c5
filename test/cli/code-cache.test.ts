import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  cpSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { lbuildBin } from '../helpers/project.js';

/**
 * The V8 code cache that bin/lbuild.cjs compiles the bundle with. A cache is code that runs, and
 * V8 itself accepts a cache made for any source of the same length: the loader must key it by
 * the bundle file's identity (inode, size, nanosecond times) and keep it where only this user
 * can write.
 *
 * Each test works on private copies of the built CLI: `a` as built, and `b` whose bundle differs
 * from a's by one character of the version string (same length), so `--version` tells which
 * code ran.
 */
const uid = process.getuid?.() ?? -1;
/** More than the loader's racy window on a file system with nanosecond times. */
const RACY_MS = 100;
const asRoot = uid === 0;

let work: string;
let a: Copy;
let b: Copy;

interface Copy {
  bin: string;
  version: string;
}

/** A copy of the built CLI under `work`; `edit` changes its bundle's text. */
function copyCli(name: string, edit?: (bundle: string) => string): Copy {
  const root = join(work, name);
  cpSync(dirname(dirname(lbuildBin())), root, { recursive: true });
  const bundle = join(root, 'bundle', 'lbuild.cjs');
  const text = readFileSync(bundle, 'utf8');
  const changed = edit ? edit(text) : text;
  writeFileSync(bundle, changed);
  // A bundle written within the loader's racy window (a clock tick) gets no cache.
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, RACY_MS);
  const version = /\.version\("([^"]+)"\)/.exec(changed)?.[1];
  if (!version) throw new Error('no .version("...") in the bundle');
  return { bin: join(root, 'bin', 'lbuild.cjs'), version };
}

/** The version string with its last character changed: same length, other text. */
function flipVersion(bundle: string): string {
  return bundle.replace(/\.version\("([^"]+)"\)/, (_, v: string) => {
    const last = v.slice(-1);
    const other = /\d/.test(last) ? String((Number(last) + 1) % 10) : last === 'x' ? 'y' : 'x';
    return `.version("${v.slice(0, -1)}${other}")`;
  });
}

/** An environment whose cache places are `cache` (XDG_CACHE_HOME) and `temp` (TMPDIR). */
function env(places: { cache: string; temp: string }): NodeJS.ProcessEnv {
  return {
    ...process.env,
    XDG_CACHE_HOME: places.cache,
    HOME: places.cache,
    TMPDIR: places.temp,
    NO_COLOR: '1',
  };
}

/** `lbuild --version` from a copy: the version the code that ran reports. */
function version(copy: Copy, environment: NodeJS.ProcessEnv): string {
  const result = spawnSync(process.execPath, [copy.bin, '--version'], {
    env: environment,
    encoding: 'utf8',
  });
  expect(result.stderr).toBe('');
  expect(result.status).toBe(0);
  return result.stdout.trim();
}

/** Every code cache file below these directories. */
function caches(...dirs: string[]): string[] {
  return dirs.flatMap((dir) => {
    try {
      return readdirSync(dir, { recursive: true, withFileTypes: true })
        .filter((e) => e.isFile() && e.name.endsWith('.v8cache'))
        .map((e) => join(e.parentPath, e.name));
    } catch {
      return [];
    }
  });
}

/** A fresh directory under `work`. */
function fresh(name: string): string {
  const dir = join(work, name);
  mkdirSync(dir, { recursive: true });
  return dir;
}

/**
 * The cache file the loader writes for a copy, found by running it where it may cache: its name
 * and its content. Every cache it wrote is then removed.
 */
function cacheOf(copy: Copy, name: string): { name: string; data: Buffer } {
  const places = { cache: fresh(`${name}-cache`), temp: fresh(`${name}-temp`) };
  expect(version(copy, env(places))).toBe(copy.version);
  const written = caches(places.cache, places.temp, dirname(dirname(copy.bin)));
  expect(written).toHaveLength(1);
  const file = written[0]!;
  const found = { name: basename(file), data: readFileSync(file) };
  for (const path of written) rmSync(path);
  return found;
}

beforeEach(() => {
  work = mkdtempSync(join(tmpdir(), 'lbuild-code-cache-'));
  a = copyCli('a');
  b = copyCli('b', flipVersion);
  expect(b.version).not.toBe(a.version);
  expect(readFileSync(b.bin.replace(/bin[/\\]lbuild\.cjs$/, 'bundle/lbuild.cjs')).length).toBe(
    readFileSync(a.bin.replace(/bin[/\\]lbuild\.cjs$/, 'bundle/lbuild.cjs')).length,
  );
});

afterEach(() => {
  rmSync(work, { recursive: true, force: true });
});

describe('the V8 code cache', () => {
  it('a same-length edit of the bundle runs the new code, not the cached old code', () => {
    const places = { cache: fresh('cache'), temp: fresh('temp') };
    // Both copies share one cache place; a is cached first, and its cache is used on a rerun.
    expect(version(a, env(places))).toBe(a.version);
    expect(caches(places.cache, places.temp, join(work, 'a'))).toHaveLength(1);
    expect(version(a, env(places))).toBe(a.version);

    // The same bundle edited in place, as an upgrade or a rebuild of the same length would.
    const bundle = join(work, 'a', 'bundle', 'lbuild.cjs');
    writeFileSync(bundle, readFileSync(join(work, 'b', 'bundle', 'lbuild.cjs')));
    expect(version(a, env(places))).toBe(b.version);
    expect(version(a, env(places))).toBe(b.version);
  });

  it('is created 0700 in the cache home, owned by this user, files 0600', () => {
    const home = fresh('home');
    const places = { cache: join(home, 'not-yet'), temp: fresh('temp') };
    expect(version(a, env(places))).toBe(a.version);
    const [file, ...more] = caches(places.cache, places.temp, join(work, 'a'));
    expect(more).toEqual([]);
    expect(file).toBeDefined();
    expect(dirname(file!).startsWith(places.cache)).toBe(true);
    const dir = statSync(dirname(file!));
    expect(dir.mode & 0o777).toBe(0o700);
    expect(dir.uid).toBe(uid);
    expect(statSync(file!).mode & 0o777).toBe(0o600);
  });

  it('falls back to a directory of its own in TMPDIR, created 0700', () => {
    // XDG_CACHE_HOME and HOME below a regular file: no cache home can be made.
    const blocked = join(fresh('blocked'), 'file');
    writeFileSync(blocked, '');
    const places = { cache: join(blocked, 'cache'), temp: fresh('temp') };
    expect(version(a, env(places))).toBe(a.version);
    const written = caches(places.temp, join(work, 'a'));
    expect(written).toHaveLength(1);
    expect(dirname(written[0]!)).toBe(join(places.temp, `lbuild-${String(uid)}`));
    expect(statSync(dirname(written[0]!)).mode & 0o777).toBe(0o700);
    expect(version(a, env(places))).toBe(a.version);
  });

  describe('a cache directory another user could have prepared is not used', () => {
    /**
     * Plants b's cache under the name a's loader looks for, in TMPDIR's lbuild-UID prepared by
     * `prepare`, with no usable cache home: a run of a that used it would print b's version.
     */
    function plant(prepare: (dir: string) => void): { places: { cache: string; temp: string } } {
      const wanted = cacheOf(a, 'probe-a');
      const poison = cacheOf(b, 'probe-b');
      const blocked = join(fresh('blocked'), 'file');
      writeFileSync(blocked, '');
      const places = { cache: join(blocked, 'cache'), temp: fresh('hostile-temp') };
      const dir = join(places.temp, `lbuild-${String(uid)}`);
      mkdirSync(dir, { mode: 0o700 });
      writeFileSync(join(dir, wanted.name), poison.data);
      prepare(dir);
      return { places };
    }

    it('control: in a directory of this user, closed to others, the planted cache runs', () => {
      const { places } = plant(() => undefined);
      expect(version(a, env(places))).toBe(b.version);
    });

    it.each([
      ['open to everyone (0777)', (dir: string) => chmodSync(dir, 0o777)],
      ['group-writable (0770)', (dir: string) => chmodSync(dir, 0o770)],
    ])('%s', (_, prepare) => {
      const { places } = plant(prepare);
      const dir = join(places.temp, `lbuild-${String(uid)}`);
      const before = readdirSync(dir);
      expect(version(a, env(places))).toBe(a.version);
      expect(version(a, env(places))).toBe(a.version);
      // Nothing written there either: the next run is uncached again, never poisoned.
      expect(readdirSync(dir)).toEqual(before);
    });

    it.skipIf(!asRoot)('owned by another user (nobody, 65534), even at 0700', () => {
      const { places } = plant((dir) => {
        for (const entry of readdirSync(dir)) chownSync(join(dir, entry), 65534, 65534);
        chownSync(dir, 65534, 65534);
      });
      const dir = join(places.temp, `lbuild-${String(uid)}`);
      const before = readdirSync(dir);
      expect(version(a, env(places))).toBe(a.version);
      expect(version(a, env(places))).toBe(a.version);
      expect(readdirSync(dir)).toEqual(before);
    });

    it('a symbolic link in its place, even to a directory of this user', () => {
      const { places } = plant((dir) => {
        const real = `${dir}-real`;
        cpSync(dir, real, { recursive: true });
        chmodSync(real, 0o700);
        rmSync(dir, { recursive: true });
        symlinkSync(real, dir);
      });
      expect(version(a, env(places))).toBe(a.version);
    });
  });
});
