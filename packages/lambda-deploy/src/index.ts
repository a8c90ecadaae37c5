export * from './config.js';
export * from './handler-check.js';
export * from './clients.js';
export * from './deploy.js';
