import { describe, expect, it } from 'vitest';
import { LAMBDA_ARTIFACT, lambdaArtifactOf } from '@lbuild/lambda-runtimes';
import type { StatePaths } from '@lbuild/core';
import { pythonLambdaLayerPlugin, pythonLambdaPlugin } from '../src/index.js';

const statePaths: StatePaths = {
  targetDir: (key) => `state/${key.replace(':', '@')}`,
  cacheDir: '/cache',
};

function entryOf<C>(name: string, config: C) {
  return {
    name,
    config,
    root: '/project',
    configFile: '/project/lbuild.toml',
    location: () => ({ file: '/project/lbuild.toml', line: 3 }),
    statePaths,
  };
}

describe('the layer plugin', () => {
  it('makes a bundle’s four targets, the zip at dist/layer-NAME.zip with a layer artifact', () => {
    const entry = entryOf('deps', {
      requirements: 'requirements.txt',
      python: '3.13' as const,
      architecture: 'arm64' as const,
    });
    const { targets, aliases } = pythonLambdaLayerPlugin.targets(entry, [entry]);
    expect(targets.map((t) => [t.key, t.deps])).toEqual([
      ['deps:wheelhouse', []],
      ['deps:staging', ['deps:wheelhouse']],
      ['deps:tree', ['deps:staging']],
      ['deps:zip', ['deps:tree']],
    ]);
    expect(aliases).toEqual({ deps: 'deps:zip' });
    const zip = targets.find((t) => t.key === 'deps:zip');
    expect(zip?.outputs).toEqual(['dist/layer-deps.zip']);
    expect(zip?.artifact?.[LAMBDA_ARTIFACT]).toEqual({
      table: 'layer.deps',
      python: '3.13',
      architecture: 'arm64',
      pythonAt: 'lbuild.toml:3',
      architectureAt: 'lbuild.toml:3',
      layer: true,
    });
    expect(lambdaArtifactOf(zip?.artifact)?.layer).toBe(true);
  });

  it('lays the tree out under python/ (part of the tree’s recipe), a bundle’s at the root', async () => {
    const layer = entryOf('deps', { requirements: 'requirements.txt' });
    const bundle = entryOf('fn', { requirements: 'requirements.txt' });
    const treeOf = (targets: { key: string; recipe?: () => unknown }[], key: string) =>
      targets.find((t) => t.key === key)?.recipe?.();
    const layerRecipe = (await treeOf(
      pythonLambdaLayerPlugin.targets(layer, [layer]).targets,
      'deps:tree',
    )) as Record<string, unknown>;
    const bundleRecipe = (await treeOf(
      pythonLambdaPlugin.targets(bundle, [bundle]).targets,
      'fn:tree',
    )) as Record<string, unknown>;
    expect(layerRecipe.folder).toBe('python');
    expect(bundleRecipe).not.toHaveProperty('folder');
    const bundleZip = pythonLambdaPlugin
      .targets(bundle, [bundle])
      .targets.find((t) => t.key === 'fn:zip');
    expect(lambdaArtifactOf(bundleZip?.artifact)).not.toHaveProperty('layer');
  });

  it('shares one wheelhouse and staging between layers whose wheels are decided alike', () => {
    const one = entryOf('one', { requirements: 'requirements.txt' });
    const two = entryOf('two', { requirements: './requirements.txt', output: 'dist/two.zip' });
    const table = [one, two];
    const first = pythonLambdaLayerPlugin.targets(one, table);
    expect(first.targets.find((t) => t.key === 'one:wheelhouse')?.description).toContain(
      'shared by 2 layers: one, two',
    );
    const second = pythonLambdaLayerPlugin.targets(two, table);
    expect(second.targets.map((t) => t.key)).toEqual(['two:tree', 'two:zip']);
    expect(second.aliases).toEqual({
      two: 'two:zip',
      'two:wheelhouse': 'one:wheelhouse',
      'two:staging': 'one:staging',
    });
  });

  it('takes a lock file as a bundle does, and names its own table in the lock keys’ errors', () => {
    const locked = entryOf('deps', { lock: 'uv.lock', groups: ['prod'] });
    expect(
      pythonLambdaLayerPlugin.targets(locked, [locked]).targets.map((t) => [t.key, t.kind]),
    ).toEqual([
      ['deps:wheelhouse', 'wheelhouse'],
      ['deps:staging', 'staging'],
      ['deps:tree', 'tree'],
      ['deps:zip', 'zip'],
    ]);
    const stray = entryOf('deps', { requirements: 'requirements.txt', groups: ['prod'] });
    expect(() => pythonLambdaLayerPlugin.targets(stray, [stray])).toThrow(
      '[layer.deps] sets groups, which chooses within a lock file, but no lock.',
    );
  });

  it('refuses a layer without requirements or lock: it would be empty', () => {
    const empty = entryOf('deps', { python: '3.12' as const });
    expect(() => pythonLambdaLayerPlugin.targets(empty, [empty])).toThrow(
      expect.objectContaining({
        failure: expect.objectContaining({
          reason: 'layer-without-dependencies',
          kind: 'config',
          message: expect.stringContaining('[layer.deps] sets neither requirements nor lock'),
        }),
      }),
    );
  });

  it('refuses the keys that bring in project files', () => {
    for (const key of ['sources', 'files', 'source-root']) {
      const parsed = pythonLambdaLayerPlugin.schema['~standard'].validate({ [key]: 'x' });
      expect(parsed).toMatchObject({ issues: [{ code: 'unrecognized_keys', keys: [key] }] });
    }
  });
});
