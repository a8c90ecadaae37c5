export * from './failure.js';
export type { TargetKey } from './key.js';
export { keyToFileName } from './key.js';
export * from './target.js';
export type { Reason } from './reason.js';
export { describeReason } from './reason.js';
export type * from './events.js';
export type { Plugin, PluginEntry, PluginTargets } from './plugin.js';
export type { StatePaths } from './state-paths.js';
export { definePlugin } from './plugin.js';
export { runBuild, stateDirOf, type BuildOptions } from './build.js';
export { TargetGraph, closest } from './graph.js';
export {
  loadProject,
  findConfig,
  projectFromConfig,
  configJsonSchema,
  resolvePlugins,
  type LazyPlugin,
  type PluginSource,
  CONFIG_FILE,
  type Project,
  type ConfigFile,
} from './config/load.js';
export { describeIssues, kindOf } from './config/issues.js';
export { locateKey } from './config/locate.js';
export {
  hashFileContent,
  hashString,
  hashJson,
  stableStringify,
  type ContentHash,
} from './hash.js';
export { FileHasher, type FileRecord } from './file-state.js';
export { StampStore, type Stamp } from './stamp.js';
export { excludeMatcher, expandInputs } from './inputs.js';
export { writeFileAtomic } from './atomic.js';
export { temporaryName, temporarySibling, sweepTemporaries } from './temporary-files.js';
export { ownerTag } from './process-liveness.js';
export {
  runProcess,
  runCommand,
  KILL_GRACE_MS,
  type RunRequest,
  type ProcessResult,
  type ProcessRunner,
} from './process.js';
export { mapLimit } from './limit.js';
export { formatBytes } from './bytes.js';
export { clean, type CleanResult } from './clean.js';
export { runSession, sessionTargets, type SessionOptions } from './session/session.js';
export { watch, globBase, type WatchEvent, type WatchOptions } from './watch.js';
export {
  CacheStoreError,
  storeContents,
  type CacheStore,
  type CacheStoreProblem,
  type StoreContents,
} from './cache/store.js';
export type { CacheOptions } from './cache/options.js';
export type { CacheSettings } from './config/schema.js';
export {
  LocalDirStore,
  localCacheStats,
  pruneLocalCache,
  type LocalCacheStats,
} from './cache/local-store.js';
