import { join, relative, sep } from 'node:path';
import { keyToFileName } from './key.js';
import type { TargetKey } from './key.js';

/**
 * Where the engine keeps what lasts between runs, below the project root:
 *
 *     .lbuild/stamps/          the stamps
 *     .lbuild/targets/<key>/   each target's private directory (RunContext.stateDir)
 *     .lbuild/cache/           caches shared by the project's targets (RunContext.cacheDir)
 *
 * Plugins get these paths from the engine (PluginEntry.statePaths, RunContext) and never spell
 * them out, so the layout has one home.
 */
export interface StatePaths {
  /**
   * A target's private directory, root-relative with `/` separators: where it may declare
   * outputs that it keeps between runs. The run gets the same directory as RunContext.stateDir.
   */
  targetDir(key: TargetKey): string;
  /** The directory shared by the project's targets for caches, absolute (RunContext.cacheDir). */
  readonly cacheDir: string;
}

/** The directory that holds stamps, target state and caches. */
export function stateDirOf(root: string): string {
  return join(root, '.lbuild');
}

export function targetStateDir(stateDir: string, key: TargetKey): string {
  return join(stateDir, 'targets', keyToFileName(key));
}

export function sharedCacheDir(stateDir: string): string {
  return join(stateDir, 'cache');
}

export function statePaths(root: string): StatePaths {
  const stateDir = stateDirOf(root);
  return {
    targetDir: (key) => relative(root, targetStateDir(stateDir, key)).split(sep).join('/'),
    cacheDir: sharedCacheDir(stateDir),
  };
}
