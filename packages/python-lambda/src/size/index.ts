export { analyzeBundleZip, DIRECT_UPLOAD_BYTES, LARGEST_FILES } from './analyze.js';
export type {
  AnalyzeOptions,
  DistributionSize,
  FileOwner,
  FileSize,
  SizeReport,
  SizeTotals,
} from './analyze.js';
