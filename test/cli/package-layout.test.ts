import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
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
