import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { makeZip } from '@lbuild/lambda-emulator';
import { validateFunctionConfig } from '../src/index.js';
import type { FunctionConfig } from '../src/index.js';

/** The s3rver helper is the emulator tests' own. */
export { startS3rver, type RunningS3 } from '../../lambda-emulator/test/helpers.js';

export interface TestZip {
  path: string;
  bytes: Buffer;
  sha256Hex: string;
  sha256Base64: string;
}

/** Writes a zip of `files` into `dir` and returns its path and digests. */
export async function writeZip(
  dir: string,
  name: string,
  files: Record<string, string | Uint8Array>,
): Promise<TestZip> {
  const bytes = makeZip(files);
  const path = join(dir, name);
  await writeFile(path, bytes);
  const digest = createHash('sha256').update(bytes).digest();
  return {
    path,
    bytes,
    sha256Hex: digest.toString('hex'),
    sha256Base64: digest.toString('base64'),
  };
}

/** A validated `[function.NAME]` config; throws with the issues when it is not valid. */
export function functionConfig(name: string, raw: Record<string, unknown>): FunctionConfig {
  const result = validateFunctionConfig(name, raw);
  if (!result.ok) throw new Error(result.issues.map((i) => `${i.key}: ${i.message}`).join('\n'));
  return result.config;
}

/**
 * Points the SDK's default chains at local servers with dummy credentials: env credentials
 * (s3rver's fixed pair), no shared config files, no instance metadata.
 */
export function useLocalAws(
  env: { lambda?: string; s3?: string; region?: string },
  dir: string,
): void {
  process.env.AWS_ACCESS_KEY_ID = 'S3RVER';
  process.env.AWS_SECRET_ACCESS_KEY = 'S3RVER';
  delete process.env.AWS_SESSION_TOKEN;
  delete process.env.AWS_PROFILE;
  process.env.AWS_REGION = env.region ?? 'us-east-1';
  process.env.AWS_CONFIG_FILE = join(dir, 'no-aws-config');
  process.env.AWS_SHARED_CREDENTIALS_FILE = join(dir, 'no-aws-credentials');
  process.env.AWS_EC2_METADATA_DISABLED = 'true';
  delete process.env.AWS_ENDPOINT_URL;
  if (env.lambda !== undefined) process.env.AWS_ENDPOINT_URL_LAMBDA = env.lambda;
  if (env.s3 !== undefined) process.env.AWS_ENDPOINT_URL_S3 = env.s3;
}
