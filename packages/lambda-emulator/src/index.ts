export { startLambdaEmulator } from './server.js';
export type { LambdaEmulator } from './server.js';
export { LambdaEmulatorControl } from './control-client.js';
export { faults, validateFaultRule } from './faults.js';
export { EMPTY_ZIP, RUNTIMES } from './store.js';
export { MAX_FUNCTION_LAYERS } from './layers.js';
export { DEFAULT_MAX_REQUEST_BYTES, OPERATIONS } from './types.js';
export type {
  CallRecord,
  EmulatorOptions,
  Fault,
  FaultRule,
  FunctionConfigurationJson,
  Operation,
  SeedFunction,
} from './types.js';
export { crc32, makeZip } from './zip.js';
