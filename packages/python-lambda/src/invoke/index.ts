export { unpackZip } from './extract.js';
export { invokeHandler, lambdaEnvironment } from './run.js';
export type { InvokeOutcome, InvokeRequest, LambdaError, LocalFunction } from './run.js';
// What a zip target says it was built for (its runtime's Python), for the CLI to pick the
// interpreter without knowing the bundle's defaults.
export { lambdaArtifactOf } from '@lbuild/lambda-runtimes';
