import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TempProject } from '../helpers/project.js';
import { ARCHITECTURE, HANDLER, inspectZip, sha256, unzipTest } from './rig.js';

/**
 * The CLI's bundle deflates large contents in worker threads started from deflate-worker.cjs
 * beside it: a content over 64 KiB in a worker at once, one over 16 MiB streamed in 1 MiB pieces.
 * A bundle that could not find or load its worker fails this build.
 */
let project: TempProject;

beforeAll(() => {
  project = TempProject.create({
    'lbuild.toml': `[bundle.fn]
sources      = ["app"]
python       = "3.12"
architecture = "${ARCHITECTURE}"
`,
    'app/__init__.py': '',
    'app/handler.py': HANDLER,
  });
  // Compressible and over the streaming threshold; incompressible and over the worker threshold.
  const line = 'value = "lbuild streams large contents through its deflate workers"\n';
  writeFileSync(project.path('app/big.py'), line.repeat(Math.ceil((17 << 20) / line.length)));
  writeFileSync(project.path('app/noise.bin'), randomBytes(300_000));
});
afterAll(() => {
  project.dispose();
});

describe('the bundled CLI', () => {
  it('deflates large files in its worker threads into a zip that unzip -t accepts', async () => {
    const result = await project.run([]);
    expect(result.code, result.stderr).toBe(0);
    const zip = project.path('dist/fn.zip');
    const { status, output } = unzipTest(zip);
    expect(status, output).toBe(0);
    expect(output).toContain('No errors detected in compressed data of');
    const entries = new Map(inspectZip(zip).entries.map((e) => [e.name, e]));
    expect(entries.get('app/big.py')).toMatchObject({
      compressType: 8,
      sha256: sha256(project.path('app/big.py')),
    });
    expect(entries.get('app/noise.bin')).toMatchObject({
      compressType: 0,
      sha256: sha256(project.path('app/noise.bin')),
    });
  });
});
