export * from './config.js';
export * from './handler-check.js';
export * from './clients.js';
export * from './plan.js';
export * from './apply.js';
export * from './remote-state.js';
export * from './bundle-match.js';
export * from './deployed-code.js';
export { toLbuildError } from './aws-errors.js';
export type { RetryTuning } from './retry.js';
export type { WaitTuning } from './wait.js';
export {
  lambdaDeployPlugin,
  createLambdaDeployPlugin,
  uploadKey,
  handlerCheckKey,
} from './plugin.js';
export type { LambdaDeployPluginOptions } from './plugin.js';
