export { DEFAULT_ZIP_LEVEL, LAMBDA_MAX_UNZIPPED_BYTES, writeZip } from './write-zip.js';
export type { WriteZipOptions, ZipResult } from './write-zip.js';
export { DOS_DATE, DOS_TIME, FFLATE_VERSION, ZIP_FORMAT_ID } from './format.js';
export { readZipSummary } from './summary.js';
export type { ZipEntrySummary, ZipSummary } from './summary.js';
export { crc32 } from './crc32.js';
