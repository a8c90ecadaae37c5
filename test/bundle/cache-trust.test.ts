import { createHash } from 'node:crypto';
import { readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { TempProject } from '../helpers/project.js';
import { ARCHITECTURE, inspectZip, sha256 } from './rig.js';

/**
 * `lbuild -B` rebuilds from the compressed-entry cache, and uses a cache file only when it
 * checks out: a damaged one never reaches the zip, which equals a clean build in a fresh
 * directory. (The package tests cover the other ways a cache file can be wrong, and edits
 * between the tree and the zip.)
 */

const FILES: Record<string, string> = {
  'lbuild.toml': `[bundle.fn]\nsources = ["app"]\npython = "3.12"\narchitecture = "${ARCHITECTURE}"\n`,
  'app/handler.py': "MODE = 'AAAA'\n\n\ndef handler(event, context):\n    return MODE\n",
  // Over 64 kB: deflated in a worker thread.
  'app/big.py': Array.from(
    { length: 3000 },
    (_, i) => `def f${String(i)}(x):\n    return x * ${String(i)}\n`,
  ).join(''),
  'app/util.py': 'def double(x):\n    return 2 * x\n',
};

const projects: TempProject[] = [];
afterEach(() => {
  for (const project of projects.splice(0)) project.dispose();
});

async function built(): Promise<TempProject> {
  const project = TempProject.create(FILES);
  projects.push(project);
  const result = await project.run([]);
  expect(result.code, result.stderr).toBe(0);
  return project;
}

/** The cache files that hold deflated bytes (method 8 at byte 4). */
function deflatedCacheFiles(project: TempProject): string[] {
  const dir = project.path('.lbuild/cache/zip');
  return readdirSync(dir, { recursive: true })
    .map((name) => join(dir, String(name)))
    .filter((file) => statSync(file).isFile() && readFileSync(file)[4] === 8);
}

describe('lbuild -B with a damaged compressed-entry cache', () => {
  it('writes the zip of a clean build, never the damaged bytes', async () => {
    const clean = sha256((await built()).path('dist/fn.zip'));
    const project = await built();
    expect(sha256(project.path('dist/fn.zip'))).toBe(clean);

    // Same size, bytes flipped inside the deflated data of every cache file.
    const files = deflatedCacheFiles(project);
    expect(files).toHaveLength(2); // util.py gains nothing from deflating: stored
    for (const file of files) {
      const bytes = readFileSync(file);
      bytes[bytes.length - 2]! ^= 0x55;
      writeFileSync(file, bytes);
    }

    const result = await project.run(['-B']);
    expect(result.code, result.stderr).toBe(0);
    const zip = project.path('dist/fn.zip');
    expect(sha256(zip)).toBe(clean);
    const report = inspectZip(zip);
    expect(report.testzip).toBeNull();
    for (const entry of report.entries) {
      expect(entry.sha256, entry.name).toBe(
        createHash('sha256').update(FILES[entry.name]!).digest('hex'),
      );
    }
    // The damaged files were written anew: the next -B reuses them, to the same zip.
    expect((await project.run(['-B'])).code).toBe(0);
    expect(sha256(zip)).toBe(clean);
  });
});
