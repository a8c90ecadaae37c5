import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JsonSummary, TempProject } from '../helpers/project.js';
import { ARCHITECTURE, Template, bundleToml, sha256 } from './rig.js';

/**
 * The shared cache with real pip: a copy of a built project somewhere else, under another HOME
 * and with an empty `.lbuild`, builds from the cache directory they share without running pip,
 * and gets the same zip.
 */
let template: Template;
let scratch: string;
const projects: TempProject[] = [];

beforeAll(async () => {
  template = await Template.create();
  scratch = mkdtempSync(join(tmpdir(), 'lbuild-shared-cache-'));
}, 120_000);

afterAll(() => {
  for (const project of projects) project.dispose();
  template.dispose();
  rmSync(scratch, { recursive: true, force: true });
});

/** A fresh copy of the fixture, for the runtime given. */
function copy(options: { python?: string; architecture?: string } = {}): TempProject {
  const project = template.project();
  projects.push(project);
  let toml = bundleToml({ python: options.python ?? '3.12' });
  if (options.architecture)
    toml = toml.replace(
      `architecture = "${ARCHITECTURE}"`,
      `architecture = "${options.architecture}"`,
    );
  project.write('lbuild.toml', toml);
  return project;
}

/** The environment of one machine: its own HOME, the cache under a shared XDG_CACHE_HOME. */
function machine(name: string, extra: Record<string, string | undefined> = {}) {
  return {
    HOME: join(scratch, 'home-' + name),
    XDG_CACHE_HOME: join(scratch, 'xdg'),
    LBUILD_CACHE_DIR: undefined,
    LBUILD_CACHE_MODE: 'read-write',
    LBUILD_CACHE_SIGNING_KEY: undefined,
    ...extra,
  };
}

const restored = (summary: JsonSummary) =>
  summary.targets
    .filter((t) => (t as { restored?: unknown }).restored !== undefined)
    .map((t) => t.key)
    .sort();

function blobCount(): number {
  const dir = join(scratch, 'xdg', 'lbuild', 'blobs');
  return readdirSync(dir, { recursive: true, withFileTypes: true }).filter(
    (e) => e.isFile() && !e.name.startsWith('.'),
  ).length;
}

describe('a fresh copy elsewhere with a warm cache', () => {
  it('builds from the cache without pip, gets the same zip, and is then up to date', async () => {
    const first = copy();
    const built = await first.json([], { env: machine('ci') });
    expect(built.result.code, built.result.stderr).toBe(0);
    expect(restored(built.summary)).toEqual([]);
    expect(blobCount()).toBeGreaterThan(0);

    const fresh = copy();
    const { result, summary } = await fresh.json([], { env: machine('laptop') });
    expect(result.code, result.stderr).toBe(0);
    // Nothing ran: every target, the wheelhouse (pip) first, was restored.
    expect(summary.targets.map((t) => t.status)).toEqual(['built', 'built', 'built', 'built']);
    expect(restored(summary)).toEqual(['fn:staging', 'fn:tree', 'fn:wheelhouse', 'fn:zip']);
    expect(sha256(fresh.path('dist/fn.zip'))).toBe(sha256(first.path('dist/fn.zip')));
    // Built without the bytes: only the zip came out of the cache; the wheels, the staged
    // wheels and the tree stay there until something needs them.
    expect(fresh.exists('.lbuild/cache/wheelhouse')).toBe(false);
    expect(fresh.exists('.lbuild/targets/fn%3astaging/wheels')).toBe(false);
    expect(fresh.exists('.lbuild/targets/fn%3atree/tree.json')).toBe(false);
    const zip = summary.targets.find((t) => t.key === 'fn:zip') as { restored?: { key: string } };
    expect(zip.restored?.key).toMatch(/^[0-9a-f]{64}$/);

    // Stamped as a build stamps: `-q` answers from the stamps alone, offline, with no cache.
    const q = await fresh.run(['-q', '--offline'], {
      env: machine('laptop', { LBUILD_CACHE_MODE: 'off' }),
    });
    expect(q.code, q.stderr).toBe(0);

    // People are told, with the key's short form.
    const human = await copy().run([], { env: machine('desk') });
    expect(human.code, human.stderr).toBe(0);
    expect(human.stdout).toContain(
      `fn:zip restored from cache ${zip.restored?.key.slice(0, 12) ?? ''}`,
    );
    expect(human.stdout).toMatch(/restored from cache\)?/);

    // An edit after a restore builds on what was restored; the zip is a clean build's.
    fresh.write('app/handler.py', fresh.read('app/handler.py') + '\n# edited\n');
    const edited = await fresh.json([], { env: machine('laptop') });
    expect(edited.result.code, edited.result.stderr).toBe(0);
    expect(restored(edited.summary)).toEqual([]);
    // The tree needed the staged wheels: fetched from the cache, not made by pip.
    expect(fresh.exists('.lbuild/targets/fn%3astaging/wheels')).toBe(true);
    expect(fresh.exists('.lbuild/cache/wheelhouse')).toBe(false);
    expect(edited.summary.targets.filter((t) => t.status === 'built').map((t) => t.key)).toEqual([
      'fn:tree',
      'fn:zip',
    ]);
    const clean = copy();
    clean.write('app/handler.py', fresh.read('app/handler.py'));
    const cleanBuild = await clean.json([], {
      env: machine('clean', { LBUILD_CACHE_MODE: 'off' }),
    });
    expect(cleanBuild.result.code).toBe(0);
    expect(sha256(fresh.path('dist/fn.zip'))).toBe(sha256(clean.path('dist/fn.zip')));
  }, 300_000);

  it('keys the Lambda target: another runtime or CPU shares no entry', async () => {
    const first = copy();
    expect((await first.json([], { env: machine('ci') })).result.code).toBe(0);
    const python = await copy({ python: '3.11' }).json([], { env: machine('laptop') });
    expect(python.result.code, python.result.stderr).toBe(0);
    expect(restored(python.summary)).toEqual([]);
    const foreign = ARCHITECTURE === 'x86_64' ? 'arm64' : 'x86_64';
    const cpu = await copy({ architecture: foreign }).json([], { env: machine('laptop') });
    expect(cpu.result.code, cpu.result.stderr).toBe(0);
    expect(restored(cpu.summary)).toEqual([]);
  }, 300_000);
});
