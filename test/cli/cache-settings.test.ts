import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TempProject, type JsonSummary } from '../helpers/project.js';

/**
 * How the shared cache is turned on and where it lives, through lbuild.toml's `[cache]` and the
 * LBUILD_CACHE_* variables, on a bundle without requirements (no pip: tree and zip only).
 */
let scratch: string;
const projects: TempProject[] = [];

beforeEach(() => {
  scratch = mkdtempSync(join(tmpdir(), 'lbuild-cache-settings-'));
});

afterEach(() => {
  for (const project of projects.splice(0)) project.dispose();
  rmSync(scratch, { recursive: true, force: true });
});

function bundle(cache = ''): TempProject {
  const project = TempProject.create({
    'lbuild.toml': `${cache}[bundle.fn]\nsources = ["app"]\n`,
    'app/main.py': 'def handler(event, context):\n    return 1\n',
  });
  projects.push(project);
  return project;
}

/** A machine with its own HOME; the cache settings come from `env` alone. */
function env(extra: Record<string, string | undefined> = {}) {
  return {
    HOME: join(scratch, 'home'),
    XDG_CACHE_HOME: undefined,
    LBUILD_CACHE_DIR: undefined,
    LBUILD_CACHE_MODE: undefined,
    LBUILD_CACHE_URL: undefined,
    LBUILD_CACHE_SIGNING_KEY: undefined,
    ...extra,
  };
}

function entries(dir: string): string[] {
  const path = join(dir, 'entries');
  if (!existsSync(path)) return [];
  return readdirSync(path, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name));
}

const restored = (summary: JsonSummary) =>
  summary.targets.filter((t) => 'restored' in t).map((t) => t.key);

describe('the shared cache settings', () => {
  it('is on by default in ~/.cache/lbuild, and a copy elsewhere restores from it', async () => {
    const first = bundle();
    const built = await first.json([], { env: env() });
    expect(built.result.code, built.result.stderr).toBe(0);
    const dir = join(scratch, 'home', '.cache', 'lbuild');
    expect(entries(dir).length).toBe(2);

    const second = bundle();
    const { result, summary } = await second.json([], { env: env() });
    expect(result.code, result.stderr).toBe(0);
    expect(restored(summary)).toEqual(['fn:tree', 'fn:zip']);
    const zip = summary.targets.find((t) => t.key === 'fn:zip') as {
      restored?: { key: string; materialised: boolean };
    };
    expect(zip.restored?.key).toMatch(/^[0-9a-f]{64}$/);
    expect(zip.restored?.materialised).toBe(true);
    expect(second.read('dist/fn.zip')).toBe(first.read('dist/fn.zip'));
    expect((await second.run(['-q', '--offline'], { env: env() })).code).toBe(0);
  });

  it('lives in $XDG_CACHE_HOME/lbuild, or in LBUILD_CACHE_DIR, which wins', async () => {
    const xdg = join(scratch, 'xdg');
    expect((await bundle().run([], { env: env({ XDG_CACHE_HOME: xdg }) })).code).toBe(0);
    expect(entries(join(xdg, 'lbuild')).length).toBe(2);
    const own = join(scratch, 'own');
    const result = await bundle().run([], {
      env: env({ XDG_CACHE_HOME: xdg, LBUILD_CACHE_DIR: own }),
    });
    expect(result.code).toBe(0);
    expect(entries(own).length).toBe(2);
    expect(existsSync(join(scratch, 'home', '.cache'))).toBe(false);
  });

  it('is off with mode = "off", and the environment overrides the file', async () => {
    const dir = join(scratch, 'dir');
    const off = bundle('[cache]\nmode = "off"\n\n');
    expect((await off.run([], { env: env({ LBUILD_CACHE_DIR: dir }) })).code).toBe(0);
    expect(entries(dir)).toEqual([]);
    const on = bundle('[cache]\nmode = "off"\n\n');
    const result = await on.run([], {
      env: env({ LBUILD_CACHE_DIR: dir, LBUILD_CACHE_MODE: 'read-write' }),
    });
    expect(result.code).toBe(0);
    expect(entries(dir).length).toBe(2);
    const read = bundle('[cache]\nmode = "read"\n\n');
    read.write('app/other.py', 'X = 1\n');
    expect((await read.run([], { env: env({ LBUILD_CACHE_DIR: dir }) })).code).toBe(0);
    expect(entries(dir).length).toBe(2);
  });

  it('refuses a bad setting, pointing at the file and key, or naming the variable', async () => {
    const project = bundle('[cache]\nmode = "sometimes"\n\n');
    const result = await project.run([], { env: env() });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('`cache.mode` must be one of "read-write", "read", "off"');
    expect(result.stderr).toContain('lbuild.toml:2:1 (cache.mode)');
    const url = bundle('[cache]\nurl = "https://bucket.example/prefix"\n\n');
    const bad = await url.run([], { env: env() });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('expected an S3 URL');
    expect(bad.stderr).toContain('(cache.url)');
    const variable = await bundle().run([], { env: env({ LBUILD_CACHE_MODE: 'sometimes' }) });
    expect(variable.code).toBe(2);
    expect(variable.stderr).toContain('LBUILD_CACHE_MODE is "sometimes"');
  });

  it('never writes the signing key anywhere', async () => {
    const secret = 'signing-key-6f1d0c';
    const dir = join(scratch, 'dir');
    const project = bundle();
    const result = await project.run(['--json', '-v', '--explain'], {
      env: env({ LBUILD_CACHE_DIR: dir, LBUILD_CACHE_SIGNING_KEY: secret }),
    });
    expect(result.code).toBe(0);
    const again = bundle();
    const restoredRun = await again.run(['--json', '-v', '--explain'], {
      env: env({ LBUILD_CACHE_DIR: dir, LBUILD_CACHE_SIGNING_KEY: secret }),
    });
    expect(restoredRun.stdout).toContain('"restored"');
    const shown = await again.run(['cache', '--json'], {
      env: env({ LBUILD_CACHE_DIR: dir, LBUILD_CACHE_SIGNING_KEY: secret }),
    });
    const written = [
      result.stdout,
      result.stderr,
      restoredRun.stdout,
      restoredRun.stderr,
      shown.stdout,
      ...entries(dir).map((f) => readFileSync(f, 'utf8')),
      ...readdirSync(again.path('.lbuild/stamps')).map((f) =>
        readFileSync(again.path(`.lbuild/stamps/${f}`), 'utf8'),
      ),
    ];
    for (const text of written) expect(text).not.toContain(secret);
    expect(JSON.parse(shown.stdout)).toMatchObject({ signed: true });
  });

  it('`lbuild cache` shows the local cache, and `prune --older-than` empties it', async () => {
    const dir = join(scratch, 'dir');
    const project = bundle();
    expect((await project.run([], { env: env({ LBUILD_CACHE_DIR: dir }) })).code).toBe(0);
    // --offline: the remote store is named, not listed (listing it is test/cache/s3.test.ts's).
    const shown = await project.run(['cache', '--offline'], {
      env: env({ LBUILD_CACHE_DIR: dir, LBUILD_CACHE_URL: 's3://bucket/team' }),
    });
    expect(shown.code, shown.stderr).toBe(0);
    expect(shown.stdout).toMatch(/local: .*: 2 entries, 2 blobs/);
    expect(shown.stdout).toContain('remote: s3://bucket/team (not listed: --offline)');
    // A login written into the URL is refused, and never shown.
    const login = await project.run(['cache'], {
      env: env({ LBUILD_CACHE_DIR: dir, LBUILD_CACHE_URL: 's3://user:pass@bucket/team' }),
    });
    expect(login.code).toBe(2);
    expect(login.stderr).toContain('"s3://bucket/team" carries a login');
    expect(login.stdout + login.stderr).not.toContain('pass@');
    const kept = await project.run(['cache', 'prune', '--older-than', '30d'], {
      env: env({ LBUILD_CACHE_DIR: dir }),
    });
    expect(kept.stdout).toContain('0 entries, 0 blobs');
    const pruned = await project.run(['cache', 'prune', '--older-than', '0m'], {
      env: env({ LBUILD_CACHE_DIR: dir }),
    });
    expect(pruned.code).toBe(0);
    expect(pruned.stdout).toContain('2 entries, 2 blobs');
    expect(entries(dir)).toEqual([]);
    const bad = await project.run(['cache', 'prune', '--older-than', 'soon'], {
      env: env({ LBUILD_CACHE_DIR: dir }),
    });
    expect(bad.code).toBe(2);
  });
});
