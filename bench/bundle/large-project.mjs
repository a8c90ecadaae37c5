// The "large" project's parts, shared by bench/bundle and bench/cache: bench/zip's synthetic
// fixture (20 wheels of generated .py text and random .so-like bytes, 40 project files; ~170 MB
// unzipped), its wheels renamed to a manylinux tag that pip takes for the runtime (python3.11
// x86_64) and that pip wheel accepts on this machine.
import { cpSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { PARAMS, ensureFixture } from '../zip/fixture.mjs';
import { writeFile } from './small-project.mjs';

export const LARGE_PARAMS = PARAMS;

/** The bundle's sources in the project written by {@link writeLargeProject}. */
export const LARGE_SOURCES = ['handler.py', 'app'];

/**
 * Writes the project into `dir`: wheels/ (the manylinux wheels), the sources and
 * requirements.txt pinning every wheel. `fixtureDir` caches bench/zip's fixture.
 */
export function writeLargeProject(dir, fixtureDir) {
  const layout = ensureFixture(fixtureDir);
  mkdirSync(join(dir, 'wheels'), { recursive: true });
  const names = [];
  for (const wheel of layout.wheels) {
    const base = wheel.split('/').pop().replace('-linux_x86_64.whl', '-manylinux_2_17_x86_64.whl');
    cpSync(wheel, join(dir, 'wheels', base));
    names.push(base.split('-')[0]);
  }
  cpSync(layout.projectDir, dir, { recursive: true });
  writeFile(join(dir, 'requirements.txt'), names.map((n) => `${n}==1.0`).join('\n') + '\n');
}
