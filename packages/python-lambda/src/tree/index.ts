export { buildTree } from './build-tree.js';
export type { BuildTreeArgs } from './build-tree.js';
export {
  TREE_MANIFEST_VERSION,
  comparePaths,
  manifestUnzippedSize,
  underFolder,
} from './manifest.js';
export type {
  EntryMode,
  ExcludedFile,
  FileSource,
  FileTreeEntry,
  TreeEntry,
  TreeManifest,
  WheelEntrySource,
  WheelTreeEntry,
} from './manifest.js';
export { decodeEntryName, unsafePathReason } from './paths.js';
export { readWheelEntryContent, readWheelFiles } from './wheel.js';
export type { WheelFileEntry } from './wheel.js';
