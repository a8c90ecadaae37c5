import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { GetFunctionCommand } from '@aws-sdk/client-lambda';
import { buildError, configError, isAbortError } from '@lbuild/core';
import { errorName, sdkCause, toLbuildError } from './aws-errors.js';
import type { DeployClients } from './clients.js';
import type { FunctionConfig } from './config.js';

/**
 * The most bytes a download of deployed code may have: Lambda's limit on a function's unzipped
 * code, which its zip cannot exceed by much.
 */
export const MAX_DEPLOYED_CODE_BYTES = 262_144_000 + 16 * 1024 * 1024;

/** What Lambda says the function runs, and that the downloaded file holds exactly that. */
export interface DeployedCode {
  functionName: string;
  functionArn?: string;
  /** Base64 SHA-256 as GetFunction reports it; the downloaded bytes have this hash. */
  codeSha256: string;
  codeSize: number;
  lastModified?: string;
}

export interface DownloadOptions {
  signal?: AbortSignal;
  /** Refuse code larger than this (default {@link MAX_DEPLOYED_CODE_BYTES}). */
  maxBytes?: number;
}

/**
 * Downloads the function's current code ($LATEST) into `dest`: one GetFunction, then its
 * `Code.Location`, a presigned URL. The URL grants access on its own, so it is never put in a
 * message or an error (their causes included). The file is checked against the CodeSha256
 * GetFunction reported; on any failure it is removed.
 */
export async function downloadDeployedCode(
  config: Pick<FunctionConfig, 'functionName'> & { name?: string },
  clients: DeployClients,
  dest: string,
  options: DownloadOptions = {},
): Promise<DeployedCode> {
  const fn = config.functionName;
  const maxBytes = options.maxBytes ?? MAX_DEPLOYED_CODE_BYTES;
  let response;
  try {
    response = await clients.lambda.send(
      new GetFunctionCommand({ FunctionName: fn }),
      options.signal ? { abortSignal: options.signal } : {},
    );
  } catch (error) {
    if (errorName(sdkCause(error)) === 'ResourceNotFoundException') {
      const region = await clients.lambda.config.region().catch(() => undefined);
      throw configError(
        'function-not-found',
        `Lambda function ${fn} does not exist${region ? ` in ${region}` : ''}: nothing is deployed to compare with`,
        {
          hint: `deploy it first (lbuild deploy${config.name ? ` ${config.name}` : ''}), or check the function name, region and profile`,
        },
      );
    }
    throw toLbuildError(error, 'GetFunction', fn);
  }
  const configuration = response.Configuration;
  if (configuration?.PackageType === 'Image' || response.Code?.RepositoryType === 'ECR') {
    throw configError(
      'function-is-image',
      `${fn} is a container-image function: it has no zip to compare`,
      { hint: 'lbuild diff --deployed compares zip-packaged functions' },
    );
  }
  const location = response.Code?.Location;
  const codeSha256 = configuration?.CodeSha256;
  if (!location || !codeSha256) {
    throw buildError(
      'code-download-failed',
      `GetFunction for ${fn} gave no code location or CodeSha256`,
      {
        hint: 'check that your credentials may call lambda:GetFunction (it returns the code location)',
      },
    );
  }
  const codeSize = configuration.CodeSize ?? 0;
  if (codeSize > maxBytes) {
    throw buildError(
      'code-download-failed',
      `the code of ${fn} is ${String(codeSize)} bytes, more than lbuild downloads (${String(maxBytes)})`,
    );
  }

  const failed = (why: string) =>
    buildError('code-download-failed', `downloading the code of ${fn} failed: ${why}`, {
      hint: 'try again; the download URL GetFunction gives is valid for a few minutes only',
    });
  try {
    let download: Response;
    try {
      download = await fetch(location, options.signal ? { signal: options.signal } : {});
    } catch (error) {
      if (isAbortError(error)) throw error;
      // fetch's errors may quote the URL: only the network error's code is kept.
      const code = (error as { cause?: { code?: unknown } }).cause?.code;
      throw failed(typeof code === 'string' ? code : 'the request did not complete');
    }
    if (!download.ok || !download.body) {
      await download.body?.cancel();
      throw failed(`HTTP ${String(download.status)}`);
    }
    const limit = Math.min(maxBytes, codeSize || maxBytes);
    const declared = Number(download.headers.get('content-length') ?? NaN);
    if (declared > limit) {
      await download.body.cancel();
      throw failed(
        `the response is ${String(declared)} bytes, larger than the ${String(limit)} bytes expected`,
      );
    }
    const hash = createHash('sha256');
    let received = 0;
    const counter = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        received += chunk.length;
        if (received > limit) {
          done(failed(`the response is larger than the ${String(limit)} bytes expected`));
          return;
        }
        hash.update(chunk);
        done(null, chunk);
      },
    });
    try {
      await pipeline(
        Readable.fromWeb(download.body),
        counter,
        createWriteStream(dest, { mode: 0o600 }),
        options.signal ? { signal: options.signal } : {},
      );
    } catch (error) {
      if (isAbortError(error) || (error as { failure?: unknown }).failure) throw error;
      const code = (error as { code?: unknown }).code;
      throw failed(typeof code === 'string' ? code : 'the response ended early');
    }
    const got = hash.digest('base64');
    if (got !== codeSha256) {
      throw buildError(
        'code-sha-mismatch',
        `the code downloaded for ${fn} has SHA-256 ${got}, but GetFunction reported CodeSha256 ${codeSha256}`,
        { hint: 'the function was probably updated meanwhile; run lbuild diff --deployed again' },
      );
    }
    return {
      functionName: configuration.FunctionName ?? fn,
      ...(configuration.FunctionArn ? { functionArn: configuration.FunctionArn } : {}),
      codeSha256,
      codeSize: received,
      ...(configuration.LastModified ? { lastModified: configuration.LastModified } : {}),
    };
  } catch (error) {
    await rm(dest, { force: true });
    throw error;
  }
}
