import { GetFunctionCommand } from '@aws-sdk/client-lambda';
import type { LambdaArtifact } from '@lbuild/lambda-runtimes';
import { refuseRemoteMismatch } from './bundle-match.js';
import type { DeployClients } from './clients.js';
import type { FunctionConfig } from './config.js';
import { toLbuildError } from './deploy.js';

const short = (sha: string | undefined) => (sha ? sha.slice(0, 8) + '…' : 'none');

/**
 * What a deploy would change, from one GetFunction call: the code (the zip's base64 SHA-256
 * against the function's CodeSha256) and every configured setting. An empty list means the
 * function already runs exactly this zip with this configuration. A function whose runtime or
 * architecture does not suit the zip (see refuseRemoteMismatch) is an error, as in a deploy.
 */
export async function remoteDifferences(
  config: FunctionConfig,
  clients: DeployClients,
  localCodeSha256: string,
  signal?: AbortSignal,
  artifact?: LambdaArtifact,
): Promise<string[]> {
  let remote;
  try {
    remote = (
      await clients.lambda.send(
        new GetFunctionCommand({ FunctionName: config.functionName }),
        signal ? { abortSignal: signal } : {},
      )
    ).Configuration;
  } catch (error) {
    if ((error as { name?: string }).name === 'ResourceNotFoundException') {
      return [`function ${config.functionName} does not exist yet (a deploy creates it)`];
    }
    throw toLbuildError(error, 'GetFunction', config.functionName);
  }
  if (remote) refuseRemoteMismatch(config, artifact, remote);
  const differences: string[] = [];
  if (remote?.State === 'Failed') {
    differences.push(
      `function ${config.functionName} is in state Failed: ${remote.StateReason ?? 'no reason given'}`,
    );
  }
  if (remote?.CodeSha256 !== localCodeSha256) {
    differences.push(
      `CodeSha256 differs: remote ${short(remote?.CodeSha256)} local ${short(localCodeSha256)}`,
    );
  }
  const compare = (key: string, configured: unknown, actual: unknown) => {
    if (configured !== undefined && configured !== actual) {
      differences.push(
        `${key} differs: remote ${JSON.stringify(actual ?? null)}, configured ${JSON.stringify(configured)}`,
      );
    }
  };
  compare('handler', config.handler, remote?.Handler);
  compare('runtime', config.runtime, remote?.Runtime);
  compare('timeout', config.timeout, remote?.Timeout);
  compare('memory', config.memory, remote?.MemorySize);
  compare('role', config.role, remote?.Role);
  compare('description', config.description, remote?.Description);
  compare('architecture', config.architecture, remote?.Architectures?.[0]);
  if (config.environment !== undefined) {
    const actual = remote?.Environment?.Variables ?? {};
    const keys = new Set([...Object.keys(config.environment), ...Object.keys(actual)]);
    for (const key of keys) {
      if (config.environment[key] !== actual[key]) differences.push(`environment ${key} differs`);
    }
  }
  return differences;
}
