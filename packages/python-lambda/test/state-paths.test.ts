import { describe, expect, it } from 'vitest';
import type { StatePaths } from '@lbuild/core';
import { pythonLambdaPlugin } from '../src/index.js';

describe('the bundle plugin', () => {
  it('keeps its state where the engine says, and spells out no state directory itself', () => {
    const statePaths: StatePaths = {
      targetDir: (key) => `engine-state/${key.replace(':', '@')}`,
      cacheDir: '/engine-cache',
    };
    const entry: Parameters<typeof pythonLambdaPlugin.targets>[0] = {
      name: 'fn',
      config: { sources: ['app'], requirements: 'requirements.txt' },
      root: '/project',
      configFile: '/project/lbuild.toml',
      location: () => ({ file: '/project/lbuild.toml' }),
      statePaths,
    };
    const { targets } = pythonLambdaPlugin.targets(entry, [entry]);
    const outputs = Object.fromEntries(targets.map((t) => [t.key, t.outputs]));
    expect(outputs).toEqual({
      'fn:wheelhouse': ['engine-state/fn@wheelhouse/wheels.json'],
      'fn:staging': ['engine-state/fn@staging/wheels'],
      'fn:tree': ['engine-state/fn@tree/tree.json', 'engine-state/fn@tree/written'],
      'fn:zip': ['dist/fn.zip'],
    });
  });
});
