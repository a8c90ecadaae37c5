/**
 * The pip layer of the python-lambda plugin: probe the build Python, read requirements files,
 * work out the Lambda runtime's wheel tags, fill the wheelhouse cache, and resolve the exact set
 * of wheels for a bundle into staging.
 */
export { probePython, resolveCommand, freeThreadedProblem, MINIMUM_PIP } from './python.js';
export type { BuildPython, ProbeOptions } from './python.js';
export { readRequirements, expandEnv, shellSplit, shellQuote } from './requirements.js';
export type {
  Requirements,
  RequirementLine,
  RequirementOption,
  LocalRequirement,
  ReadRequirementsOptions,
} from './requirements.js';
export {
  indexIdentity,
  pipSourceOptions,
  redactUrl,
  redactText,
  stripCredentials,
  DEFAULT_INDEX_URL,
} from './index-options.js';
export type { IndexOptions, PipSourceOptions } from './index-options.js';
export { PipCredentials } from './credentials.js';
export {
  runtimePlatform,
  platformPipArgs,
  chooseStrategy,
  compareVersions,
  LAMBDA_PYTHON_VERSIONS,
} from './platform.js';
export type {
  RuntimePlatform,
  LambdaArchitecture,
  WheelhouseStrategy,
  StrategyChoice,
} from './platform.js';
export { fillWheelhouse, wheelhousePath } from './wheelhouse.js';
export type { FillWheelhouseArgs, FillWheelhouseResult } from './wheelhouse.js';
export { checkRuntimeWheels } from './runtime-wheels.js';
export type { RuntimeWheelsOptions } from './runtime-wheels.js';
export { pipFailureOf } from './pip-errors.js';
export type { PipFailure } from './pip-errors.js';
export type { LocalWheel } from './pip-requirements.js';
export { pipEnvironment, PIP_ENV_PASSED } from './pip-run.js';
export { parseWheelName, normalizeProjectName, isPureWheel } from './wheel-name.js';
export type { WheelName } from './wheel-name.js';
export { wheelhouseRecipe, wheelhouseInputs } from './fingerprint.js';
export type { WheelhouseRecipeOptions } from './fingerprint.js';
export { resolveStrategy } from './wheelhouse.js';
// Runners are injected through the pip functions' options; core runs the processes.
export type { ProcessRunner } from '@lbuild/core';
