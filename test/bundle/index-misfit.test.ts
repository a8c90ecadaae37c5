import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TempProject } from '../helpers/project.js';
import { IndexServer } from '../fixtures/python/index-server.js';
import { makeForeignWheel } from '../fixtures/python/wheels.js';
import { NO_PIP_ENV } from './rig.js';

/**
 * An index that has the project, but no wheel of it for the runtime: the error names the files
 * that exist and what they were built for, not "No distribution found", which would send the user
 * looking for a typo or a missing index.
 */
let root: string;
let index: IndexServer;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'lbuild-index-misfit-'));
  for (const arch of ['x86_64', 'aarch64'] as const)
    await makeForeignWheel(join(root, 'index'), {
      name: 'fast',
      version: '1.0',
      python: '3.11',
      arch,
    });
  index = await IndexServer.start({ dirs: [join(root, 'index')] });
}, 60_000);

afterAll(async () => {
  await index.close();
  rmSync(root, { recursive: true, force: true });
});

describe('no wheel on the index fits the runtime', () => {
  it('names the wheels that exist and their tags, with a hint for the Python version', async () => {
    const project = TempProject.create({
      'lbuild.toml': `[bundle.fn]\nrequirements = "requirements.txt"\npython = "3.12"\narchitecture = "x86_64"\nindex-url = "${index.url()}"\n`,
      'requirements.txt': 'fast==1.0\n',
    });
    try {
      const { result, summary } = await project.json([], { env: NO_PIP_ENV });
      expect(result.code).toBe(1);
      const failure = summary.targets.find((t) => t.key === 'fn:wheelhouse')?.failure;
      expect(failure?.reason).toBe('no-suitable-wheel');
      expect(failure?.message).toBe(
        'No wheel of fast==1.0 suits the Lambda runtime python3.12 x86_64; only these exist: ' +
          'fast-1.0-cp311-cp311-manylinux_2_17_aarch64.whl: built for another Python (cp311-cp311-manylinux_2_17_aarch64); ' +
          'fast-1.0-cp311-cp311-manylinux_2_17_x86_64.whl: built for another Python (cp311-cp311-manylinux_2_17_x86_64).',
      );
      expect(failure?.hint).toContain('Provide a wheel for CPython 3.12 (cp312 or abi3)');
      expect(result.stderr).not.toContain('No distribution found');
    } finally {
      project.dispose();
    }
  }, 120_000);
});
