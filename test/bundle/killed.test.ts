import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { TempProject } from '../helpers/project.js';
import { waitFor } from '../helpers/wait.js';
import { NO_PIP_ENV, Template, inspectZip, sha256 } from './rig.js';

/**
 * lbuild killed outright (SIGKILL) while it writes a zip cannot remove its temporary files: the
 * zip being written in dist/ and the compressed entry being written into the cache. The next
 * run removes them, because their names say their process is gone, and leaves alone those of a
 * process that still runs.
 */
let template: Template;
let project: TempProject;

beforeAll(async () => {
  template = await Template.create();
});
afterAll(() => {
  template.dispose();
});
afterEach(() => {
  project.dispose();
});

/** This process's pid and start time (`/proc/self/stat` field 22), as temporary names hold them. */
function ownTag(): string {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const start = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? '';
  return `${String(process.pid)}-${start}`;
}

/** Every `*.tmp` below `rel`, root-relative (the state directory included), sorted. */
function temporaries(rel: string): string[] {
  const found: string[] = [];
  for (const entry of readdirSync(project.path(rel), { recursive: true, withFileTypes: true })) {
    if (entry.name.endsWith('.tmp')) {
      found.push(join(entry.parentPath, entry.name).slice(project.dir.length + 1));
    }
  }
  return found.sort();
}

describe.runIf(process.platform === 'linux')('lbuild killed while it writes a zip', () => {
  it('leaves temporary files that the next run removes, except those of live processes', async () => {
    project = template.project();
    // Random bytes do not compress: deflating them keeps the writer busy long enough to be
    // caught with both temporary files open.
    const big = randomBytes(32 * 1024 * 1024);
    writeFileSync(project.path('app/big.bin'), big);

    const running = project.start([], { env: NO_PIP_ENV });
    const zipTemp = /^\.fn\.zip\..+\.tmp$/;
    // The cache entry of the big file may be finished by the time the kill lands; the zip in
    // dist/ is not (it is renamed only after every entry), so that is the moment to wait for.
    await waitFor(
      () =>
        project.exists('dist') &&
        readdirSync(project.path('dist')).some((name) => zipTemp.test(name)),
      { what: 'lbuild to be writing the zip', timeoutMs: 120_000 },
    );
    running.child.kill('SIGKILL');
    expect((await running.exited).signal).toBe('SIGKILL');
    const left = [...temporaries('dist'), ...temporaries('.lbuild')];
    expect(left.filter((path) => path.startsWith('dist/'))).toHaveLength(1);
    expect(project.exists('dist/fn.zip')).toBe(false);

    // Temporaries named for this (live) test process are left alone; ones named for a pid no
    // process can have (above Linux's pid_max) are removed wherever lbuild writes.
    const live = [
      `dist/.fn.zip.${ownTag()}.live.tmp`,
      `.lbuild/cache/zip/tmp/.0123abcd.${ownTag()}.live.tmp`,
    ];
    const dead = [
      '.lbuild/.build.lock.4194304-1.dead.tmp',
      '.lbuild/cache/zip/tmp/.4567cdef.4194304-1.dead.tmp',
      '.lbuild/stamps/.fn-zip.json.4194304-1.dead.tmp',
    ];
    for (const path of [...live, ...dead]) {
      mkdirSync(project.path(join(path, '..')), { recursive: true });
      writeFileSync(project.path(path), 'partial');
    }

    const { result, summary } = await project.json([], { env: NO_PIP_ENV });
    expect(result.code, result.stderr).toBe(0);
    expect(summary.targets.find((t) => t.key === 'fn:zip')?.status).toBe('built');
    expect([...temporaries('dist'), ...temporaries('.lbuild')].sort()).toEqual([...live].sort());

    const report = inspectZip(project.path('dist/fn.zip'));
    expect(report.testzip).toBeNull();
    expect(report.entries.find((e) => e.name === 'app/big.bin')?.sha256).toBe(
      sha256(project.path('app/big.bin')),
    );
  }, 300_000);
});
