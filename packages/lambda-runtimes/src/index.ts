export * from './python-runtimes.js';
export * from './artifact.js';
