import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  readRequirements,
  runtimePlatform,
  wheelhouseInputs,
  wheelhouseRecipe,
} from '../../src/pip/index.js';
import type { BuildPython, IndexOptions } from '../../src/pip/index.js';
import { makeLocalProject } from '../../../../test/fixtures/python/wheels.js';

const python: BuildPython = {
  command: 'python3',
  executable: '/opt/a/bin/python3',
  realpath: '/opt/a/bin/python3.11',
  version: '3.11.7',
  pythonVersion: '3.11',
  implementation: 'cpython',
  system: 'linux',
  machine: 'x86_64',
  glibc: '2.36',
  pip: { version: '23.2.1', dir: '/opt/a/lib/python3.11/site-packages/pip' },
  hasWheel: false,
  hasSetuptools: true,
  sitePackages: '/opt/a/lib/python3.11/site-packages',
  abiflags: '',
  freeThreaded: false,
};

let base: string;
beforeEach(async () => {
  base = await mkdtemp(join(tmpdir(), 'lbuild-recipe-'));
});
afterEach(async () => {
  await rm(base, { recursive: true, force: true });
});

async function checkout(name: string, requirements: string, token = 'one') {
  const root = join(base, name);
  await mkdir(join(root, 'wheels'), { recursive: true });
  await makeLocalProject(join(root, 'localpkg'), { name: 'localpkg', version: '0.1' });
  await writeFile(join(root, 'requirements.txt'), requirements);
  const req = await readRequirements(join(root, 'requirements.txt'), { cwd: root });
  const index: IndexOptions = {
    indexUrl: `https://aws:${token}@example.com/simple/`,
    extraIndexUrls: [],
    findLinks: ['wheels'],
    noIndex: false,
  };
  const recipe = wheelhouseRecipe({
    python,
    platform: runtimePlatform('3.12', 'x86_64'),
    strategy: 'pip-download',
    index,
    requirements: req,
    projectRoot: root,
    noBuildIsolation: false,
  });
  return { root, req, index, recipe };
}

describe('wheelhouseRecipe', () => {
  it('is the same for two checkouts, another Python path, a rotated token, other comments', async () => {
    const a = await checkout('a', 'alpha==1.0\n./localpkg\n');
    const b = await checkout('b', '# pinned\nalpha==1.0   # why\n./localpkg\n', 'two');
    const moved = wheelhouseRecipe({
      python: { ...python, executable: '/elsewhere/python3', realpath: '/elsewhere/python3.11' },
      platform: runtimePlatform('3.12', 'x86_64'),
      strategy: 'pip-download',
      index: b.index,
      requirements: b.req,
      projectRoot: b.root,
      noBuildIsolation: false,
    });
    expect(b.recipe).toEqual(a.recipe);
    expect(moved).toEqual(a.recipe);
    expect(JSON.stringify(a.recipe)).not.toContain(base);
  });

  it('changes with a requirement, the runtime, or the pip version', async () => {
    const a = await checkout('a', 'alpha==1.0\n');
    const b = await checkout('b', 'alpha==1.1\n');
    expect(b.recipe).not.toEqual(a.recipe);
    const arm = wheelhouseRecipe({
      python,
      platform: runtimePlatform('3.12', 'arm64'),
      strategy: 'pip-download',
      index: a.index,
      requirements: a.req,
      projectRoot: a.root,
      noBuildIsolation: false,
    });
    expect(arm).not.toEqual(a.recipe);
    const newerPip = wheelhouseRecipe({
      python: { ...python, pip: { version: '24.0', dir: '/x' } },
      platform: runtimePlatform('3.12', 'x86_64'),
      strategy: 'pip-download',
      index: a.index,
      requirements: a.req,
      projectRoot: a.root,
      noBuildIsolation: false,
    });
    expect(newerPip).not.toEqual(a.recipe);
  });
});

describe('wheelhouseInputs', () => {
  it('lists the requirements files, local projects and find-links folders', async () => {
    const a = await checkout('a', 'alpha==1.0\n./localpkg\n');
    expect(wheelhouseInputs(a.req, a.index, a.root)).toEqual({
      files: [join(a.root, 'requirements.txt')],
      directories: [join(a.root, 'localpkg'), join(a.root, 'wheels')],
    });
  });
});
