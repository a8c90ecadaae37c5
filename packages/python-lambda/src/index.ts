export { pythonLambdaPlugin, DIRECT_UPLOAD_LIMIT } from './plugin.js';
export { bundleSchema, DEFAULT_EXCLUDES, type BundleConfig } from './config.js';
