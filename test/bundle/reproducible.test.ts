import { chmodSync, readdirSync, statSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ran, type TempProject } from '../helpers/project.js';
import { CEXT_PYTHON, Template, inspectZip, jsonShell, sha256, zipValue } from './rig.js';

/**
 * The same project, built from scratch in different directories, time zones and umasks, and from
 * a copy whose every file has other timestamps and owner-only modes, gives one zip, byte for byte.
 */
let template: Template;
const projects: TempProject[] = [];

beforeAll(async () => {
  template = await Template.create(
    CEXT_PYTHON === undefined ? {} : { python: CEXT_PYTHON, cext: true },
  );
}, 120_000);

afterAll(() => {
  for (const project of projects) project.dispose();
  template.dispose();
});

/** Every path below `dir` (directories too), deepest first. */
function walk(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...walk(path));
    out.push(path);
  }
  return out;
}

describe('the zip of one project', () => {
  it('has one SHA-256 whatever the directory, TZ, umask, file times and file modes', async () => {
    const builds = [
      { tz: 'UTC', umask: '022', fresh: false },
      { tz: 'Asia/Kolkata', umask: '077', fresh: false },
      { tz: 'America/New_York', umask: '077', fresh: true },
      { tz: 'America/New_York', umask: '022', fresh: true },
    ];
    const runs = builds.map((build) => {
      const project = template.project();
      projects.push(project);
      if (build.fresh) {
        // A fresh checkout somewhere else: other mtimes on everything, files 0600, dirs 0700.
        const when = new Date('2011-11-11T11:11:11Z');
        for (const path of walk(project.dir)) {
          chmodSync(path, statSync(path).isDirectory() ? 0o700 : 0o600);
          utimesSync(path, when, when);
        }
      }
      return { project, build };
    });
    const results = await Promise.all(
      runs.map(({ project, build }) =>
        jsonShell(project.dir, [], { umask: build.umask, env: { TZ: build.tz } }),
      ),
    );
    const digests = results.map(({ result, summary }, i) => {
      const project = runs[i]!.project;
      expect(result.code, result.stderr).toBe(0);
      expect(ran(summary)).toEqual(['fn:staging', 'fn:tree', 'fn:wheelhouse', 'fn:zip']);
      const reported = zipValue(summary).sha256;
      expect(sha256(project.path('dist/fn.zip'))).toBe(reported);
      expect(zipValue(summary).codeSha256).toBe(Buffer.from(reported, 'hex').toString('base64'));
      // The umask reached lbuild: it shows in the mode of the file it created.
      expect(statSync(project.path('dist/fn.zip')).mode & 0o777).toBe(
        0o666 & ~Number.parseInt(runs[i]!.build.umask, 8),
      );
      return reported;
    });
    expect(new Set(runs.map((r) => r.project.dir)).size).toBe(builds.length);
    expect(new Set(digests).size, digests.join('\n')).toBe(1);

    // Owner-only source modes did not leak into the zip.
    const fresh = inspectZip(runs[2]!.project.path('dist/fn.zip'));
    expect(new Set(fresh.entries.map((e) => e.mode))).toEqual(new Set([0o100644]));
  });

  it('is the same after clean --all and a rebuild from nothing (wheelhouse included)', async () => {
    const project = projects[0]!;
    const before = sha256(project.path('dist/fn.zip'));
    expect((await jsonShell(project.dir, ['clean', '--all'])).result.code).toBe(0);
    expect(project.exists('dist/fn.zip')).toBe(false);
    const { result, summary } = await jsonShell(project.dir, [], {
      env: { TZ: 'Pacific/Chatham' },
    });
    expect(result.code, result.stderr).toBe(0);
    expect(ran(summary)).toEqual(['fn:staging', 'fn:tree', 'fn:wheelhouse', 'fn:zip']);
    expect(sha256(project.path('dist/fn.zip'))).toBe(before);
  });
});
