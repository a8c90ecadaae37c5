import { readFile, stat } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  CreateFunctionCommand,
  GetFunctionCommand,
  GetFunctionConfigurationCommand,
  PublishVersionCommand,
  UpdateFunctionCodeCommand,
  UpdateFunctionConfigurationCommand,
} from '@aws-sdk/client-lambda';
import type { FunctionCode, FunctionConfiguration, Runtime } from '@aws-sdk/client-lambda';
import { HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { LbuildError, buildError, configError, isAbortError } from '@lbuild/core';
import type { Failure } from '@lbuild/core';
import type { LambdaArtifact } from '@lbuild/lambda-runtimes';
import { effectiveRuntime, refuseRemoteMismatch, runtimeLifecycle } from './bundle-match.js';
import type { DeployClients } from './clients.js';
import { shortFunctionName } from './config.js';
import type { FunctionConfig } from './config.js';
import { checkHandlerInZip } from './handler-check.js';
import { compareStored, pinnedVersion, zipDigests, type StoredObject } from './s3-integrity.js';

export type DeployStep =
  | 'check-handler'
  | 'deprecated'
  | 'read'
  | 'create'
  | 'unchanged'
  | 'upload-s3'
  | 'update-code'
  | 'wait'
  | 'update-config'
  | 'publish'
  | 'retry'
  | 'dry-run'
  | 'done';

/** Progress of a deploy, for the build's log. Never carries credentials or zip bytes. */
export interface DeployEvent {
  type: 'deploy-step';
  /** The `[function.NAME]` table name. */
  function: string;
  step: DeployStep;
  message: string;
  /** For `retry`: the error's name and the delay before the next attempt. */
  error?: string;
  delayMs?: number;
  attempt?: number;
}

export interface DeployOptions {
  /** Read only: report what would change, change nothing. */
  dryRun?: boolean;
  /** How often to poll while an update is in progress (default 1000 ms, or `LBUILD_DEPLOY_POLL_MS`). */
  pollIntervalMs?: number;
  /** First retry delay, doubled each time (default 1000 ms, or `LBUILD_DEPLOY_RETRY_BASE_MS`). */
  retryBaseDelayMs?: number;
  /** Longest single retry delay (default 20 s). */
  retryMaxDelayMs?: number;
  /** Retries after the first attempt for busy/throttled/5xx/network errors (default 6). */
  maxRetries?: number;
  /** How long to wait for an update to finish (default 10 minutes). */
  waitTimeoutMs?: number;
  /** Check the handler exists in the zip before any network call (default true). */
  checkHandler?: boolean;
  /** Today, for the runtime's deprecation dates (default: now). */
  now?: Date;
}

export interface DeployArgs {
  config: FunctionConfig;
  /**
   * What the zip was built for (its bundle's python and architecture): the runtime and
   * architecture of a function lbuild creates when the config sets none, and what an existing
   * function must run when the config sets none.
   */
  artifact?: LambdaArtifact;
  zipPath: string;
  /** SHA-256 of the zip, hex (names the S3 object). */
  sha256Hex: string;
  /** SHA-256 of the zip, base64 of the raw digest: what Lambda reports as CodeSha256. */
  sha256Base64: string;
  clients: DeployClients;
  signal?: AbortSignal;
  onEvent?: (event: DeployEvent) => void;
  options?: DeployOptions;
}

export interface DeployResult {
  functionName: string;
  functionArn: string;
  /** The CodeSha256 Lambda reports after the deploy (with dryRun: the zip's). */
  codeSha256: string;
  revisionId: string;
  /** The published version, when `publish` is on. */
  version?: string;
  /** Whether code was (or with dryRun, would be) sent to Lambda. */
  uploaded: boolean;
  /** How the code went: in the request, through S3, or not at all. */
  via: 'zip' | 's3' | 'none';
  /** Whether the function was (or would be) created. */
  created: boolean;
  /** Config keys (lbuild.toml spelling) that were (or would be) changed. */
  configChanged: string[];
  dryRun: boolean;
}

interface Tuning {
  pollMs: number;
  baseMs: number;
  maxDelayMs: number;
  maxRetries: number;
  waitTimeoutMs: number;
}

function envNumber(name: string): number | undefined {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return undefined;
  const n = Number(raw);
  return Number.isFinite(n) && n >= 0 ? n : undefined;
}

function tuning(options: DeployOptions): Tuning {
  return {
    pollMs: options.pollIntervalMs ?? envNumber('LBUILD_DEPLOY_POLL_MS') ?? 1000,
    baseMs: options.retryBaseDelayMs ?? envNumber('LBUILD_DEPLOY_RETRY_BASE_MS') ?? 1000,
    maxDelayMs: options.retryMaxDelayMs ?? 20_000,
    maxRetries: options.maxRetries ?? 6,
    waitTimeoutMs: options.waitTimeoutMs ?? 10 * 60_000,
  };
}

const errorName = (error: unknown): string => (error instanceof Error ? error.name : typeof error);
const httpStatus = (error: unknown): number | undefined =>
  (error as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata?.httpStatusCode;

const NETWORK_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'EPIPE',
  'ETIMEDOUT',
  'EAI_AGAIN',
  'ENOTFOUND',
  'ECONNABORTED',
]);

/** How a failed call should be treated by the retry loop. */
function classify(error: unknown): 'conflict' | 'transient' | 'other' {
  const name = errorName(error);
  if (name === 'ResourceConflictException') return 'conflict';
  if (
    name === 'TooManyRequestsException' ||
    name === 'ThrottlingException' ||
    name === 'ServiceException' ||
    name === 'EC2ThrottledException' ||
    name === 'TimeoutError' ||
    name === 'RequestTimeout'
  ) {
    return 'transient';
  }
  const status = httpStatus(error);
  if (status !== undefined && (status >= 500 || status === 429)) return 'transient';
  const code = (error as { code?: unknown } | undefined)?.code;
  if (typeof code === 'string' && NETWORK_CODES.has(code)) return 'transient';
  if (error instanceof Error && /socket hang up|ECONNRESET|EPIPE/.test(error.message))
    return 'transient';
  return 'other';
}

/** S3's answers to an upload whose bytes do not match its Content-MD5 or checksum header. */
const DIGEST_MISMATCH = new Set(['BadDigest', 'InvalidDigest', 'XAmzContentChecksumMismatch']);
const UPLOAD_CORRUPTED_HINT =
  'something between lbuild and S3 changed the bytes (a proxy, the network); deploy again';

function mb(bytes: number): string {
  return bytes >= 1024 * 1024
    ? `${(bytes / 1024 / 1024).toFixed(1)} MB`
    : `${(bytes / 1024).toFixed(1)} KB`;
}

function failWith(
  kind: Failure['kind'],
  reason: string,
  message: string,
  cause: unknown,
  hint?: string,
): LbuildError {
  return new LbuildError(
    { reason, message, kind, ...(hint !== undefined ? { hint } : {}) },
    { cause },
  );
}

/** Turns an AWS SDK error that escaped the retries into a Failure a user can act on (the SDK error is its cause). */
export function toLbuildError(error: unknown, what: string, fn: string): unknown {
  if (error instanceof LbuildError || isAbortError(error)) return error;
  const name = errorName(error);
  const message = error instanceof Error ? error.message : String(error);
  if (name === 'CredentialsProviderError' || /Could not load credentials/.test(message)) {
    return failWith(
      'config',
      'aws-credentials',
      `no AWS credentials found for deploying ${fn}`,
      error,
      'set AWS_PROFILE (and run `aws sso login` for SSO profiles), or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY',
    );
  }
  if (/Region is missing/i.test(message)) {
    return failWith(
      'config',
      'aws-region',
      `no AWS region for deploying ${fn}`,
      error,
      'set region in [function.NAME] of lbuild.toml, or AWS_REGION, or a region in your AWS profile',
    );
  }
  if (
    [
      'UnrecognizedClientException',
      'InvalidSignatureException',
      'ExpiredTokenException',
      'AccessDeniedException',
      'AccessDenied',
      'InvalidAccessKeyId',
      'SignatureDoesNotMatch',
    ].includes(name) ||
    httpStatus(error) === 403
  ) {
    return failWith(
      'config',
      'aws-access-denied',
      `AWS refused ${what} for ${fn}: ${name}: ${message}`,
      error,
      'check which AWS credentials are in use (aws sts get-caller-identity) and their permissions',
    );
  }
  const kind = classify(error);
  if (kind !== 'other') {
    return failWith(
      'build',
      'lambda-unavailable',
      `${what} for ${fn} kept failing: ${name}: ${message}`,
      error,
      'Lambda was busy, throttled or unreachable through every retry; try again later',
    );
  }
  return failWith(
    'build',
    'lambda-error',
    `AWS refused ${what} for ${fn}: ${name}: ${message}`,
    error,
  );
}

class Deployer {
  private readonly cfg: FunctionConfig;
  private readonly a: DeployArgs;
  private readonly t: Tuning;
  private readonly dryRun: boolean;
  private readonly signal: AbortSignal | undefined;
  private readonly fn: string;
  private zipBytes: Buffer | undefined;

  constructor(args: DeployArgs) {
    this.a = args;
    this.cfg = args.config;
    this.t = tuning(args.options ?? {});
    this.dryRun = args.options?.dryRun ?? false;
    this.signal = args.signal;
    this.fn = args.config.functionName;
  }

  private emit(step: DeployStep, message: string, extra: Partial<DeployEvent> = {}): void {
    this.a.onEvent?.({ type: 'deploy-step', function: this.cfg.name, step, message, ...extra });
  }

  private async pause(ms: number): Promise<void> {
    await sleep(ms, undefined, this.signal ? { signal: this.signal } : {});
  }

  private sendOpts(): { abortSignal?: AbortSignal } {
    return this.signal ? { abortSignal: this.signal } : {};
  }

  /** Runs `attempt`, retrying busy (409), throttled, 5xx and network failures with backoff. */
  private async retrying<T>(
    what: string,
    attempt: () => Promise<T>,
    override: (error: unknown) => 'conflict' | 'transient' | 'other' | undefined = () => undefined,
    /** A change: after a 409, also wait until the function's own update is over. */
    mutation = false,
  ): Promise<T> {
    for (let i = 0; ; i++) {
      this.signal?.throwIfAborted();
      try {
        return await attempt();
      } catch (error) {
        if (isAbortError(error) || this.signal?.aborted === true) throw error;
        const kind = override(error) ?? classify(error);
        if (kind === 'other' || i >= this.t.maxRetries) throw toLbuildError(error, what, this.fn);
        const full = Math.min(this.t.baseMs * 2 ** i, this.t.maxDelayMs);
        const delayMs = Math.round(full / 2 + (Math.random() * full) / 2);
        const why =
          kind === 'conflict' ? 'Lambda is busy with another update' : 'Lambda did not answer';
        this.emit(
          'retry',
          `${what}: ${why} (${errorName(error)}); retrying in ${(delayMs / 1000).toFixed(1)} s`,
          {
            error: errorName(error),
            delayMs,
            attempt: i + 2,
          },
        );
        await this.pause(delayMs);
        if (kind === 'conflict' && mutation) await this.waitUntilSettled(undefined);
      }
    }
  }

  private async readFunction(): Promise<FunctionConfiguration | undefined> {
    try {
      return await this.retrying('GetFunction', async () => {
        const out = await this.a.clients.lambda.send(
          new GetFunctionCommand({ FunctionName: this.fn }),
          this.sendOpts(),
        );
        return out.Configuration;
      });
    } catch (error) {
      if (
        error instanceof LbuildError &&
        error.cause !== undefined &&
        errorName(error.cause) === 'ResourceNotFoundException'
      ) {
        return undefined;
      }
      throw error;
    }
  }

  private async readConfiguration(): Promise<FunctionConfiguration> {
    return this.retrying('GetFunctionConfiguration', () =>
      this.a.clients.lambda.send(
        new GetFunctionConfigurationCommand({ FunctionName: this.fn }),
        this.sendOpts(),
      ),
    );
  }

  /**
   * Polls until the function is neither Pending nor InProgress. With `ours`, a Failed state or
   * update is the failure of what we just asked for.
   */
  private async waitUntilSettled(ours: string | undefined): Promise<FunctionConfiguration> {
    const deadline = Date.now() + this.t.waitTimeoutMs;
    let announced = false;
    for (;;) {
      const c = await this.readConfiguration();
      if (ours !== undefined && c.State === 'Failed') {
        throw buildError(
          'lambda-state-failed',
          `${ours === 'create' ? `Lambda could not create ${this.fn}` : `${this.fn} is in state Failed after the ${ours}`}: ${c.StateReason ?? 'no reason given'}${c.StateReasonCode ? ` (${c.StateReasonCode})` : ''}`,
        );
      }
      if (ours !== undefined && c.LastUpdateStatus === 'Failed') {
        throw buildError(
          'lambda-update-failed',
          `Lambda could not apply the ${ours} to ${this.fn}: ${c.LastUpdateStatusReason ?? 'no reason given'}${
            c.LastUpdateStatusReasonCode ? ` (${c.LastUpdateStatusReasonCode})` : ''
          }`,
          {
            hint: 'the function keeps its previous code and configuration; fix the cause and deploy again',
          },
        );
      }
      if (c.State !== 'Pending' && c.LastUpdateStatus !== 'InProgress') return c;
      if (Date.now() > deadline) {
        throw buildError(
          'lambda-update-timeout',
          `${this.fn} was still ${c.State === 'Pending' ? 'Pending' : 'updating'} after ${Math.round(this.t.waitTimeoutMs / 1000)} s`,
        );
      }
      if (!announced) {
        this.emit(
          'wait',
          `waiting for ${this.fn} to finish ${c.State === 'Pending' ? 'being created' : 'updating'}`,
        );
        announced = true;
      }
      await this.pause(this.t.pollMs);
    }
  }

  private async zip(): Promise<Buffer> {
    this.zipBytes ??= await readFile(this.a.zipPath);
    return this.zipBytes;
  }

  private s3Key(): string {
    return `${this.cfg.s3Prefix}${shortFunctionName(this.fn)}/${this.a.sha256Hex}.zip`;
  }

  /** How the code would go: fails (config) when it is over the limit and there is no bucket. */
  private plannedVia(size: number): 'zip' | 's3' {
    if (size <= this.cfg.directUploadLimit) return 'zip';
    if (this.cfg.s3Bucket !== undefined) return 's3';
    throw configError(
      'zip-too-large',
      `the zip for ${this.fn} is ${size} bytes (${mb(size)}), over direct-upload-limit ${this.cfg.directUploadLimit}: Lambda needs it through S3, and [function.${this.cfg.name}] has no s3-bucket`,
      {
        hint: `add s3-bucket = "BUCKET" to [function.${this.cfg.name}] (a bucket in the function's region)`,
      },
    );
  }

  /**
   * The code source for Create/UpdateFunctionCode; puts the zip into S3 when it must go that way.
   * The object at the content-addressed key is trusted only when the digests S3 reports for it
   * match the zip (a same-size object with other bytes is replaced), and an upload carries the
   * zip's MD5 and SHA-256, which S3 checks against what it received.
   */
  private async codeSource(size: number): Promise<{ via: 'zip' | 's3'; code: FunctionCode }> {
    const via = this.plannedVia(size);
    if (via === 'zip') return { via, code: { ZipFile: await this.zip() } };
    const bucket = this.cfg.s3Bucket ?? '';
    const key = this.s3Key();
    const where = `s3://${bucket}/${key}`;
    const body = await this.zip();
    const digests = zipDigests(body);
    if (digests.sha256Base64 !== this.a.sha256Base64) {
      throw buildError(
        'zip-changed',
        `the zip ${this.a.zipPath} changed after it was built: its SHA-256 is ${digests.sha256Base64}, the build's ${this.a.sha256Base64}`,
        { hint: 'build again, then deploy' },
      );
    }
    let present: (StoredObject & { VersionId?: string }) | undefined;
    try {
      const head = await this.retrying('HeadObject', () =>
        this.a.clients.s3.send(
          new HeadObjectCommand({ Bucket: bucket, Key: key, ChecksumMode: 'ENABLED' }),
          this.sendOpts(),
        ),
      );
      const stored = compareStored(head, digests);
      if (stored.verdict === 'same') present = head;
      else if (stored.verdict === 'different')
        this.emit('upload-s3', `${where} holds other bytes (${stored.reported}); replacing it`);
    } catch (error) {
      const cause = error instanceof LbuildError ? error.cause : error;
      const status = httpStatus(cause);
      if (status !== 404 && status !== 403 && errorName(cause) !== 'NotFound')
        throw this.s3Error(error, where);
    }
    if (present) {
      this.emit('upload-s3', `${where} already holds this zip`);
    } else {
      this.emit('upload-s3', `uploading ${mb(size)} to ${where}`);
      try {
        present = await this.retrying('PutObject', () =>
          this.a.clients.s3.send(
            new PutObjectCommand({
              Bucket: bucket,
              Key: key,
              Body: body,
              ContentLength: body.length,
              ContentType: 'application/zip',
              ContentMD5: digests.md5Base64,
              ChecksumSHA256: digests.sha256Base64,
              Metadata: { 'lbuild-sha256': this.a.sha256Hex },
            }),
            this.sendOpts(),
          ),
        );
      } catch (error) {
        throw this.s3Error(error, where);
      }
      // A store that does not check the headers still reports what it stored.
      const stored = compareStored(present, digests);
      if (stored.verdict === 'different') {
        throw buildError(
          's3-upload-corrupted',
          `${where} does not hold the zip after the upload: S3 reports ${stored.reported}, the zip's is ${stored.expected}`,
          { hint: UPLOAD_CORRUPTED_HINT },
        );
      }
    }
    const version = pinnedVersion(present.VersionId);
    return {
      via,
      code: {
        S3Bucket: bucket,
        S3Key: key,
        ...(version !== undefined ? { S3ObjectVersion: version } : {}),
      },
    };
  }

  private s3Error(error: unknown, where: string): unknown {
    const cause = error instanceof LbuildError ? (error.cause ?? error) : error;
    if (DIGEST_MISMATCH.has(errorName(cause))) {
      return failWith(
        'build',
        's3-upload-corrupted',
        `S3 refused the upload to ${where}: the bytes it received do not match the zip's digest (${errorName(cause)})`,
        cause,
        UPLOAD_CORRUPTED_HINT,
      );
    }
    if (errorName(cause) === 'NoSuchBucket') {
      return configError(
        's3-bucket-missing',
        `s3-bucket "${this.cfg.s3Bucket ?? ''}" does not exist (uploading ${where})`,
        {
          hint: `create the bucket in the function's region, or fix s3-bucket in [function.${this.cfg.name}]`,
        },
      );
    }
    return error;
  }

  /** Config keys whose configured value differs from Lambda's, with the UpdateFunctionConfiguration fields. */
  private configDiff(remote: FunctionConfiguration): {
    keys: string[];
    input: Record<string, unknown>;
  } {
    const keys: string[] = [];
    const input: Record<string, unknown> = {};
    const c = this.cfg;
    if (c.handler !== undefined && c.handler !== remote.Handler) {
      keys.push('handler');
      input.Handler = c.handler;
    }
    if (c.runtime !== undefined && c.runtime !== remote.Runtime) {
      keys.push('runtime');
      input.Runtime = c.runtime;
    }
    if (c.timeout !== undefined && c.timeout !== remote.Timeout) {
      keys.push('timeout');
      input.Timeout = c.timeout;
    }
    if (c.memory !== undefined && c.memory !== remote.MemorySize) {
      keys.push('memory');
      input.MemorySize = c.memory;
    }
    if (c.role !== undefined && c.role !== remote.Role) {
      keys.push('role');
      input.Role = c.role;
    }
    if (c.description !== undefined && c.description !== (remote.Description ?? '')) {
      keys.push('description');
      input.Description = c.description;
    }
    if (
      c.environment !== undefined &&
      !sameVariables(c.environment, remote.Environment?.Variables ?? {})
    ) {
      keys.push('environment');
      input.Environment = { Variables: c.environment };
    }
    return { keys, input };
  }

  private architectureDiffers(remote: FunctionConfiguration): boolean {
    return (
      this.cfg.architecture !== undefined &&
      (remote.Architectures?.[0] ?? 'x86_64') !== this.cfg.architecture
    );
  }

  async run(): Promise<DeployResult> {
    const { sha256Base64: sha } = this.a;
    if (
      !/^[0-9a-f]{64}$/.test(this.a.sha256Hex) ||
      Buffer.from(this.a.sha256Hex, 'hex').toString('base64') !== sha
    ) {
      throw new LbuildError({
        reason: 'bad-sha256',
        message: `deployFunction got sha256Hex ${this.a.sha256Hex} and sha256Base64 ${sha}, which are not the same digest`,
        kind: 'internal',
      });
    }
    const size = (await stat(this.a.zipPath)).size;
    // A runtime Lambda no longer updates is refused before any call; a deprecated one warned of.
    const notice = runtimeLifecycle(this.cfg, this.runtime(), 'update', this.now());
    if (notice !== undefined) this.emit('deprecated', `[function.${this.cfg.name}]: ${notice}`);
    if (this.cfg.handler !== undefined && this.a.options?.checkHandler !== false) {
      await this.checkHandler(this.cfg.handler, this.cfg.runtime);
    }

    this.emit('read', `reading ${this.fn} from Lambda`);
    const remote = await this.readFunction();
    if (!remote) return this.create(size);
    if (remote.PackageType === 'Image') {
      throw configError(
        'function-is-image',
        `${this.fn} is a container-image function; lbuild deploys zip packages`,
        {
          hint: `point function-name in [function.${this.cfg.name}] at a zip-packaged function`,
        },
      );
    }
    return this.update(remote, size);
  }

  /** The runtime the function gets: the configured one, else the bundle's. */
  private runtime() {
    return effectiveRuntime(this.cfg, this.a.artifact);
  }

  private now(): Date {
    return this.a.options?.now ?? new Date();
  }

  private async checkHandler(handler: string, runtime: string | undefined): Promise<void> {
    this.emit('check-handler', `checking handler ${handler} in the zip`);
    const check = await checkHandlerInZip(this.a.zipPath, handler, runtime);
    if (!check.ok) throw new LbuildError(check.failure);
  }

  private async create(size: number): Promise<DeployResult> {
    const runtime = this.runtime();
    const missing = (['role', 'runtime', 'handler'] as const).filter((k) =>
      k === 'runtime' ? runtime === undefined : this.cfg[k] === undefined,
    );
    if (missing.length > 0) {
      const region = await this.region();
      throw configError(
        'function-not-found',
        `Lambda function ${this.fn} does not exist${region ? ` in ${region}` : ''}, and lbuild cannot create it without ${missing.join(', ')}`,
        {
          hint: `add ${missing.map((k) => EXAMPLES[k]).join(', ')} to [function.${this.cfg.name}] in lbuild.toml so lbuild can create it, or create the function in AWS first (or fix function-name)`,
        },
      );
    }
    runtimeLifecycle(this.cfg, runtime, 'create', this.now());
    const architecture = this.cfg.architecture ?? this.a.artifact?.architecture;
    const via = this.plannedVia(size);
    if (this.dryRun) {
      this.emit(
        'dry-run',
        `would create ${this.fn} and upload ${mb(size)} (${via === 'zip' ? 'direct' : 'through S3'})`,
      );
      return {
        functionName: this.fn,
        functionArn: '',
        codeSha256: this.a.sha256Base64,
        revisionId: '',
        uploaded: true,
        via,
        created: true,
        configChanged: [],
        dryRun: true,
      };
    }
    const source = await this.codeSource(size);
    this.emit(
      'create',
      `creating ${this.fn} (${mb(size)}, ${source.via === 'zip' ? 'direct' : 'through S3'})`,
    );
    const c = this.cfg;
    const command = new CreateFunctionCommand({
      FunctionName: this.fn,
      Role: c.role,
      // The table's identifiers are Lambda's own.
      Runtime: runtime?.runtime as Runtime | undefined,
      Handler: c.handler,
      Code: source.code,
      PackageType: 'Zip',
      Publish: false,
      ...(c.timeout !== undefined ? { Timeout: c.timeout } : {}),
      ...(c.memory !== undefined ? { MemorySize: c.memory } : {}),
      ...(c.description !== undefined ? { Description: c.description } : {}),
      ...(architecture !== undefined ? { Architectures: [architecture] } : {}),
      ...(c.environment !== undefined ? { Environment: { Variables: c.environment } } : {}),
    });
    try {
      await this.retrying(
        'CreateFunction',
        () => this.a.clients.lambda.send(command, this.sendOpts()),
        (error) => {
          // A role created moments ago is not yet assumable: IAM takes a few seconds.
          if (
            errorName(error) === 'InvalidParameterValueException' &&
            /cannot be assumed/.test(String(error))
          ) {
            return 'transient';
          }
          // "Function already exist": not busy, so no point retrying the create.
          if (
            errorName(error) === 'ResourceConflictException' &&
            /already exist/i.test(String(error))
          )
            return 'other';
          return undefined;
        },
      );
    } catch (error) {
      const cause = error instanceof LbuildError ? error.cause : undefined;
      if (errorName(cause) === 'ResourceConflictException') {
        // Someone created it meanwhile (or our own create's answer was lost): update instead.
        this.emit('read', `${this.fn} exists now; updating it instead`);
        const remote = await this.readFunction();
        if (remote) return this.update(remote, size);
      }
      throw error;
    }
    const after = await this.waitUntilSettled('create');
    this.checkSha(after);
    const version = await this.publishIfWanted(after);
    this.emit('done', `created ${this.fn}`);
    return this.result(after, {
      uploaded: true,
      via: source.via,
      created: true,
      configChanged: [],
      version,
    });
  }

  private async region(): Promise<string | undefined> {
    try {
      return await this.a.clients.lambda.config.region();
    } catch {
      return undefined;
    }
  }

  private async update(initial: FunctionConfiguration, size: number): Promise<DeployResult> {
    // Before anything else: the zip must suit what the function runs when lbuild.toml keeps it.
    refuseRemoteMismatch(this.cfg, this.a.artifact, initial);
    let remote = initial;
    const sha = this.a.sha256Base64;
    const codeChanged = remote.CodeSha256 !== sha;
    const archChanged = this.architectureDiffers(remote);
    const needCode = codeChanged || archChanged;
    // No handler in lbuild.toml: the new zip must still have the function's own handler.
    const remoteHandler = remote.Handler;
    if (
      codeChanged &&
      this.cfg.handler === undefined &&
      remoteHandler !== undefined &&
      this.a.options?.checkHandler !== false
    ) {
      await this.checkHandler(remoteHandler, this.cfg.runtime ?? remote.Runtime);
    }
    if (this.dryRun) {
      const diff = this.configDiff(remote);
      const via = needCode ? this.plannedVia(size) : 'none';
      const keys = archChanged ? ['architecture', ...diff.keys] : diff.keys;
      const parts = [
        ...(needCode ? [`upload ${mb(size)} (${via === 's3' ? 'through S3' : 'direct'})`] : []),
        ...(keys.length > 0 ? [`change ${keys.join(', ')}`] : []),
      ];
      this.emit(
        'dry-run',
        parts.length > 0
          ? `would ${parts.join(' and ')} of ${this.fn}`
          : `${this.fn} is up to date`,
      );
      return {
        ...this.resultBase(remote),
        codeSha256: sha,
        uploaded: needCode,
        via,
        created: false,
        configChanged: keys,
        dryRun: true,
      };
    }

    if (remote.State === 'Pending' || remote.LastUpdateStatus === 'InProgress') {
      remote = await this.waitUntilSettled(undefined);
    }

    let via: 'zip' | 's3' | 'none' = 'none';
    let uploaded = false;
    const configChanged: string[] = [];
    if (remote.CodeSha256 !== sha || this.architectureDiffers(remote)) {
      if (this.architectureDiffers(remote)) configChanged.push('architecture');
      const source = await this.codeSource(size);
      via = source.via;
      uploaded = true;
      remote = await this.withPrecondition(remote, 'code update', async (current) => {
        if (current.CodeSha256 === sha && !this.architectureDiffers(current)) return current;
        this.emit(
          'update-code',
          `uploading ${mb(size)} to ${this.fn} (${source.via === 'zip' ? 'direct' : `from s3://${this.cfg.s3Bucket ?? ''}`})`,
        );
        await this.retrying(
          'UpdateFunctionCode',
          () =>
            this.a.clients.lambda.send(
              new UpdateFunctionCodeCommand({
                FunctionName: this.fn,
                ...source.code,
                RevisionId: current.RevisionId,
                Publish: false,
                ...(this.cfg.architecture !== undefined
                  ? { Architectures: [this.cfg.architecture] }
                  : {}),
              }),
              this.sendOpts(),
            ),
          undefined,
          true,
        );
        return this.waitUntilSettled('code update');
      });
      this.checkSha(remote);
    } else {
      this.emit('unchanged', `${this.fn} already runs this zip`);
    }

    const diff = this.configDiff(remote);
    if (diff.keys.length > 0) {
      configChanged.push(...diff.keys);
      remote = await this.withPrecondition(remote, 'configuration update', async (current) => {
        const now = this.configDiff(current);
        if (now.keys.length === 0) return current;
        this.emit('update-config', `changing ${now.keys.join(', ')} of ${this.fn}`);
        await this.retrying(
          'UpdateFunctionConfiguration',
          () =>
            this.a.clients.lambda.send(
              new UpdateFunctionConfigurationCommand({
                FunctionName: this.fn,
                ...now.input,
                RevisionId: current.RevisionId,
              }),
              this.sendOpts(),
            ),
          undefined,
          true,
        );
        return this.waitUntilSettled('configuration update');
      });
    }
    // A function whose creation failed can already hold this zip and these settings: nothing to
    // send, but it runs nothing, so the deploy must not be recorded as done.
    if (remote.State === 'Failed') {
      throw buildError(
        'lambda-state-failed',
        `${this.fn} is in state Failed: ${remote.StateReason ?? 'no reason given'}${remote.StateReasonCode ? ` (${remote.StateReasonCode})` : ''}; it does not run this zip`,
        {
          hint: 'fix the cause Lambda names (often the role), then deploy again; or delete the function and let lbuild create it',
        },
      );
    }
    const version = await this.publishIfWanted(remote);
    this.emit(
      'done',
      uploaded || configChanged.length > 0
        ? `deployed ${this.fn}${configChanged.length > 0 ? ` (changed ${configChanged.join(', ')})` : ''}`
        : `${this.fn} is up to date`,
    );
    return this.result(remote, { uploaded, via, created: false, configChanged, version });
  }

  /**
   * Runs a RevisionId-guarded change. A PreconditionFailedException means the function changed
   * under us: read it again and try once more (`step` decides from the fresh state whether
   * anything is still to do); a second one fails the deploy.
   */
  private async withPrecondition(
    remote: FunctionConfiguration,
    what: string,
    step: (current: FunctionConfiguration) => Promise<FunctionConfiguration>,
  ): Promise<FunctionConfiguration> {
    try {
      return await step(remote);
    } catch (error) {
      if (!isPrecondition(error)) throw error;
      this.emit('read', `${this.fn} changed while lbuild was deploying it; reading it again`);
    }
    let fresh = await this.readFunction();
    if (!fresh)
      throw buildError('function-deleted', `${this.fn} was deleted while lbuild was deploying it`);
    if (fresh.State === 'Pending' || fresh.LastUpdateStatus === 'InProgress')
      fresh = await this.waitUntilSettled(undefined);
    try {
      return await step(fresh);
    } catch (error) {
      if (!isPrecondition(error)) throw error;
      throw buildError(
        'concurrent-modification',
        `${this.fn} kept changing while lbuild applied the ${what} (RevisionId changed twice): someone or something else is deploying it at the same time`,
        { hint: 'stop the other deploy, then run lbuild again' },
      );
    }
  }

  private checkSha(after: FunctionConfiguration): void {
    if (after.CodeSha256 !== this.a.sha256Base64) {
      throw buildError(
        'code-sha-mismatch',
        `after the upload Lambda reports CodeSha256 ${after.CodeSha256 ?? '(none)'} for ${this.fn}, but the zip's is ${this.a.sha256Base64}`,
        {
          hint: 'the zip changed during the upload, or someone else deployed at the same time; deploy again',
        },
      );
    }
  }

  private async publishIfWanted(remote: FunctionConfiguration): Promise<string | undefined> {
    if (!this.cfg.publish) return undefined;
    const published = await this.withPrecondition(remote, 'version publish', async (current) => {
      try {
        return await this.retrying(
          'PublishVersion',
          () =>
            this.a.clients.lambda.send(
              new PublishVersionCommand({
                FunctionName: this.fn,
                CodeSha256: this.a.sha256Base64,
                RevisionId: current.RevisionId,
              }),
              this.sendOpts(),
            ),
          undefined,
          true,
        );
      } catch (error) {
        if (error instanceof LbuildError && /CodeSHA256/i.test(String(error.cause))) {
          throw buildError(
            'concurrent-modification',
            `${this.fn} no longer runs this zip, so lbuild did not publish a version: someone else deployed it at the same time`,
            { hint: 'stop the other deploy, then run lbuild again' },
          );
        }
        throw error;
      }
    });
    this.emit('publish', `published ${this.fn} version ${published.Version ?? '?'}`);
    return published.Version;
  }

  private resultBase(
    remote: FunctionConfiguration,
  ): Pick<DeployResult, 'functionName' | 'functionArn' | 'codeSha256' | 'revisionId'> {
    return {
      functionName: remote.FunctionName ?? this.fn,
      functionArn: remote.FunctionArn ?? '',
      codeSha256: remote.CodeSha256 ?? '',
      revisionId: remote.RevisionId ?? '',
    };
  }

  private result(
    remote: FunctionConfiguration,
    rest: Pick<DeployResult, 'uploaded' | 'via' | 'created' | 'configChanged'> & {
      version: string | undefined;
    },
  ): DeployResult {
    const { version, ...others } = rest;
    return {
      ...this.resultBase(remote),
      ...others,
      ...(version !== undefined ? { version } : {}),
      dryRun: false,
    };
  }
}

const EXAMPLES = {
  role: 'role = "arn:aws:iam::ACCOUNT_ID:role/ROLE_NAME"',
  runtime: 'runtime = "python3.12"',
  handler: 'handler = "app.handler"',
} as const;

const isPrecondition = (error: unknown): boolean =>
  error instanceof LbuildError && errorName(error.cause) === 'PreconditionFailedException';

function sameVariables(a: Record<string, string>, b: Record<string, string>): boolean {
  const ka = Object.keys(a).sort();
  const kb = Object.keys(b).sort();
  return ka.length === kb.length && ka.every((k, i) => k === kb[i] && a[k] === b[k]);
}

/**
 * Deploys a zip to one Lambda function when its CodeSha256 differs, then applies configured
 * settings that differ, then publishes a version when `publish` is on. Expected failures are
 * thrown as LbuildError (kind `config` for the user's setup, `build` when Lambda says no).
 */
export async function deployFunction(args: DeployArgs): Promise<DeployResult> {
  const deployer = new Deployer(args);
  try {
    return await deployer.run();
  } catch (error) {
    if (error instanceof LbuildError || isAbortError(error)) throw error;
    if (
      (error as { code?: unknown }).code === 'ENOENT' &&
      (error as { path?: unknown }).path === args.zipPath
    ) {
      throw buildError('zip-missing', `the zip to deploy, ${args.zipPath}, does not exist`, {
        hint: `build [bundle.${args.config.bundle}] first`,
      });
    }
    throw new LbuildError(
      {
        reason: 'internal-error',
        message: `deploying ${args.config.functionName} failed: ${error instanceof Error ? error.message : String(error)}`,
        kind: 'internal',
      },
      { cause: error },
    );
  }
}

/**
 * The CodeSha256 Lambda reports for the function (one GetFunction), or undefined when the
 * function does not exist: enough for `lbuild -q deploy` to tell whether a deploy is due.
 */
export async function remoteCodeSha256(
  config: FunctionConfig,
  clients: DeployClients,
  signal?: AbortSignal,
): Promise<string | undefined> {
  try {
    const out = await clients.lambda.send(
      new GetFunctionCommand({ FunctionName: config.functionName }),
      signal ? { abortSignal: signal } : {},
    );
    return out.Configuration?.CodeSha256;
  } catch (error) {
    if (errorName(error) === 'ResourceNotFoundException') return undefined;
    throw toLbuildError(error, 'GetFunction', config.functionName);
  }
}
