import { describe, expect, it } from 'vitest';
import { keyToFileName } from '../src/index.js';
import { statePaths } from '../src/state-paths.js';

describe('statePaths', () => {
  it('keeps the on-disk layout: .lbuild/targets/<key>/ and .lbuild/cache/', () => {
    const paths = statePaths('/project');
    expect(paths.targetDir('api:tree')).toBe(`.lbuild/targets/${keyToFileName('api:tree')}`);
    expect(paths.cacheDir).toBe('/project/.lbuild/cache');
  });
});
