export { pythonLambdaPlugin, DIRECT_UPLOAD_LIMIT } from './plugin.js';
export { pythonLambdaLayerPlugin } from './layer.js';
export { findRuntimePython, type RuntimePython } from './pip/runtime-python.js';
export type { BundleTreeValue } from './plugin.js';
export {
  bundleSchema,
  layerSchema,
  DEFAULT_EXCLUDES,
  type BundleConfig,
  type LayerConfig,
} from './config.js';
import type { AnalyzeOptions, SizeReport } from './size/index.js';
import type * as LocalInvoke from './invoke/index.js';

export type {
  AnalyzeOptions,
  DistributionSize,
  FileOwner,
  FileSize,
  SizeReport,
  SizeTotals,
} from './size/index.js';

/**
 * How a bundle zip's bytes divide between its distributions and the project's files (see
 * size/analyze.ts). Loaded on first use: a build never needs the zip reader.
 */
export async function analyzeBundleZip(zip: string, options: AnalyzeOptions): Promise<SizeReport> {
  return (await import('./size/index.js')).analyzeBundleZip(zip, options);
}

import type { DiffOptions, ZipDiff } from './diff/compare.js';

export type {
  ContentChange,
  DiffOptions,
  DistributionChange,
  EntryGroup,
  FieldChange,
  MetadataChange,
  OnlyEntry,
  OrderDiff,
  ZipDiff,
  ZipSide,
} from './diff/compare.js';

/** Why two zips differ (see diff/compare.ts). Loaded on first use, as the size report is. */
export async function diffZips(a: string, b: string, options?: DiffOptions): Promise<ZipDiff> {
  return (await import('./diff/compare.js')).diffZips(a, b, options);
}

export { detectProject, gitignoreAddition, renderConfig, type InitPlan } from './init/index.js';

export type { InvokeOutcome, LambdaError, LocalFunction } from './invoke/index.js';

/** `lbuild invoke`'s pieces (unpacking a zip, running a handler), loaded on first use. */
export async function localInvoke(): Promise<typeof LocalInvoke> {
  return import('./invoke/index.js');
}
