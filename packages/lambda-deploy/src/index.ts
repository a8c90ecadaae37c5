export * from './config.js';
export * from './handler-check.js';
export * from './clients.js';
export * from './deploy.js';
export * from './remote-state.js';
export * from './bundle-match.js';
export { lambdaDeployPlugin, uploadKey, handlerCheckKey } from './plugin.js';
