import { LambdaClient } from '@aws-sdk/client-lambda';
import { S3Client } from '@aws-sdk/client-s3';
import { regionOfArn } from './config.js';
import type { FunctionConfig } from './config.js';

/**
 * Settings outside lbuild.toml that choose *where* a deploy goes. A different profile, region
 * or endpoint is a different function, so they enter the fingerprint (as hashes only).
 */
export const DESTINATION_ENV = [
  'AWS_PROFILE',
  'AWS_REGION',
  'AWS_DEFAULT_REGION',
  'AWS_ENDPOINT_URL',
  'AWS_ENDPOINT_URL_LAMBDA',
  'AWS_ENDPOINT_URL_S3',
];

/** The AWS clients a deploy uses. */
export interface DeployClients {
  lambda: LambdaClient;
  s3: S3Client;
  /** Closes their sockets. */
  destroy(): void;
}

export interface ClientOptions {
  /**
   * The environment the SDK sees, where endpoint overrides are looked for (default: none, so
   * virtual-hosted S3 URLs); the caller passes it, the SDK itself reads `process.env`.
   */
  env?: Readonly<Record<string, string | undefined>>;
  /** The SDK's own attempts per call (default: the SDK's, 3). */
  maxAttempts?: number;
}

/** True when an `AWS_ENDPOINT_URL[_S3]` override is in effect for S3. */
export function s3EndpointOverridden(env: Readonly<Record<string, string | undefined>>): boolean {
  if (env.AWS_IGNORE_CONFIGURED_ENDPOINT_URLS === 'true') return false;
  return Boolean(env.AWS_ENDPOINT_URL_S3 ?? env.AWS_ENDPOINT_URL);
}

/**
 * Creates the Lambda and S3 clients for one function's config. Credentials, profiles and the
 * region come from the SDK's default chain (`AWS_PROFILE`, `AWS_ACCESS_KEY_ID`, SSO, instance
 * roles, `AWS_REGION`, …) unless the config names a region (or a function ARN carries one).
 * The SDK reads `AWS_ENDPOINT_URL`, `AWS_ENDPOINT_URL_LAMBDA` and `AWS_ENDPOINT_URL_S3` itself;
 * with an S3 endpoint override, S3 uses path-style URLs (as local S3 servers need).
 */
export function createClients(
  config: Pick<FunctionConfig, 'region' | 'functionName'>,
  options: ClientOptions = {},
): DeployClients {
  const env = options.env ?? {};
  const region = config.region ?? regionOfArn(config.functionName);
  const common = {
    ...(region !== undefined ? { region } : {}),
    ...(options.maxAttempts !== undefined ? { maxAttempts: options.maxAttempts } : {}),
  };
  const lambda = new LambdaClient(common);
  const s3 = new S3Client({
    ...common,
    ...(s3EndpointOverridden(env) ? { forcePathStyle: true } : {}),
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  return {
    lambda,
    s3,
    destroy: () => {
      lambda.destroy();
      s3.destroy();
    },
  };
}
