export { detectProject, type DetectOptions, type InitPlan } from './detect.js';
export { gitignoreAddition, renderConfig } from './render.js';
