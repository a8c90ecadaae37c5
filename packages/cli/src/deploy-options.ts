import type { LambdaDeployPluginOptions } from '@lbuild/lambda-deploy/plugin';

function envNumber(env: NodeJS.ProcessEnv, name: string): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  const n = Number(raw);
  return Number.isFinite(n) && n >= 0 ? n : undefined;
}

/**
 * What the deploy plugin gets from the environment: the CLI is the only part that reads it.
 * LBUILD_DEPLOY_POLL_MS and LBUILD_DEPLOY_RETRY_BASE_MS shorten the waits (tests use them).
 */
export function deployPluginOptions(env: NodeJS.ProcessEnv): LambdaDeployPluginOptions {
  const pollIntervalMs = envNumber(env, 'LBUILD_DEPLOY_POLL_MS');
  const retryBaseDelayMs = envNumber(env, 'LBUILD_DEPLOY_RETRY_BASE_MS');
  return {
    tuning: {
      ...(pollIntervalMs !== undefined ? { pollIntervalMs } : {}),
      ...(retryBaseDelayMs !== undefined ? { retryBaseDelayMs } : {}),
    },
    env,
  };
}
