export { pythonLambdaPlugin, DIRECT_UPLOAD_LIMIT, formatBytes } from './plugin.js';
export { bundleSchema, DEFAULT_EXCLUDES, type BundleConfig } from './config.js';
export { detectProject, gitignoreAddition, renderConfig, type InitPlan } from './init/index.js';
