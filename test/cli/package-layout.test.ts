import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO } from '../helpers/project.js';

/**
 * What `pnpm build` leaves in packages/cli: tsc's output, which the package's exports name, and
 * the CLI bundle with the release package made from it, side by side. Bundling once deleted
 * tsc's output, so `import 'lbuild'` failed after every build.
 */
const CLI = join(REPO, 'packages', 'cli');

interface Manifest {
  exports: Record<string, Record<string, string>>;
  bin: Record<string, string>;
}

const manifest = (dir: string) =>
  JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as Manifest;

describe('the built CLI package', () => {
  it('leaves its bundle and release folders as open as the umask allows, not private', () => {
    // They are built in a temporary folder (mkdtemp: 0700) and renamed into place.
    const umask = process.umask(0);
    process.umask(umask);
    for (const dir of ['bundle', 'release']) {
      expect((statSync(join(CLI, dir)).mode & 0o777).toString(8), dir).toBe(
        (0o755 & ~umask).toString(8),
      );
    }
  });

  it('has every file its exports and bin name', () => {
    const pkg = manifest(CLI);
    const named = [
      ...Object.values(pkg.exports).flatMap((conditions) => Object.values(conditions)),
      ...Object.values(pkg.bin),
    ];
    expect(named.length).toBeGreaterThan(2);
    expect(named.filter((file) => !existsSync(join(CLI, file)))).toEqual([]);
  });

  it('can be imported as a library next to the bundle', () => {
    const run = spawnSync(
      process.execPath,
      ['--input-type=module', '-e', "const m = await import('lbuild'); console.log(typeof m.main)"],
      { cwd: REPO, encoding: 'utf8' },
    );
    expect(run.stderr).toBe('');
    expect(run.stdout).toBe('function\n');
  });

  it('lays out a release package whose bin finds its bundle', () => {
    const release = join(CLI, 'release');
    const bin = join(release, manifest(release).bin.lbuild ?? 'missing');
    const run = spawnSync(process.execPath, [bin, '--version'], { encoding: 'utf8' });
    expect(run.stderr).toBe('');
    expect(run.stdout).toMatch(/^\d+\.\d+\.\d+\n$/);
  });
});
