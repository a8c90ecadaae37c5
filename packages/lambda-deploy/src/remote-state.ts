import { GetFunctionCommand, type FunctionConfiguration } from '@aws-sdk/client-lambda';
import type { LambdaArtifact } from '@lbuild/lambda-runtimes';
import { errorName, sdkCause, toLbuildError } from './aws-errors.js';
import type { DeployClients } from './clients.js';
import type { FunctionConfig } from './config.js';
import {
  describePlan,
  planDeploy,
  type PlanLayer,
  type PlanZip,
  type RemoteState,
} from './plan.js';

/** Runs one call; a deploy passes its retries, a question asks once. */
export type CallRunner = <T>(what: string, attempt: () => Promise<T>) => Promise<T>;

/**
 * The function as Lambda reports it (one GetFunction), or undefined when it does not exist.
 * Other failures are mapped by toLbuildError.
 */
export async function readFunction(
  config: FunctionConfig,
  clients: DeployClients,
  signal?: AbortSignal,
  run?: CallRunner,
): Promise<FunctionConfiguration | undefined> {
  const call = async () =>
    (
      await clients.lambda.send(
        new GetFunctionCommand({ FunctionName: config.functionName }),
        signal ? { abortSignal: signal } : {},
      )
    ).Configuration;
  try {
    return run ? await run('GetFunction', call) : await call();
  } catch (error) {
    if (errorName(sdkCause(error)) === 'ResourceNotFoundException') return undefined;
    throw toLbuildError(error, 'GetFunction', config.functionName);
  }
}

/** What planDeploy needs to know about the function: one GetFunction (and the client's region). */
export async function readRemote(
  config: FunctionConfig,
  clients: DeployClients,
  signal?: AbortSignal,
  run?: CallRunner,
): Promise<RemoteState> {
  const configuration = await readFunction(config, clients, signal, run);
  if (configuration) return { exists: true, configuration };
  const region = await clients.lambda.config.region().catch(() => undefined);
  return region ? { exists: false, region } : { exists: false };
}

/**
 * What a deploy would change, from one GetFunction: the lines of the plan (see describePlan).
 * An empty list means the function already runs exactly this zip with this configuration; a
 * deploy that would be refused is refused here too.
 */
export async function remoteDifferences(
  config: FunctionConfig,
  clients: DeployClients,
  zip: PlanZip,
  options: {
    signal?: AbortSignal;
    artifact?: LambdaArtifact | undefined;
    now?: Date;
    layers?: PlanLayer[] | undefined;
  } = {},
): Promise<string[]> {
  const remote = await readRemote(config, clients, options.signal);
  return describePlan(
    planDeploy(config, remote, zip, {
      artifact: options.artifact,
      now: options.now ?? new Date(),
      layers: options.layers,
    }),
  );
}
