import { readFile, stat } from 'node:fs/promises';
import {
  CreateFunctionCommand,
  GetFunctionConfigurationCommand,
  PublishVersionCommand,
  UpdateFunctionCodeCommand,
  UpdateFunctionConfigurationCommand,
} from '@aws-sdk/client-lambda';
import type { FunctionCode, FunctionConfiguration, Runtime } from '@aws-sdk/client-lambda';
import { LbuildError, buildError, formatBytes, isAbortError } from '@lbuild/core';
import type { LambdaArtifact } from '@lbuild/lambda-runtimes';
import { errorName, isPrecondition, type ErrorClass } from './aws-errors.js';
import { effectiveRuntime, runtimeLifecycle } from './bundle-match.js';
import type { DeployClients } from './clients.js';
import { shortFunctionName } from './config.js';
import type { FunctionConfig } from './config.js';
import { checkHandlerInZip } from './handler-check.js';
import {
  changedKeys,
  dryRunMessage,
  planDeploy,
  sendsCode,
  type CreatePlan,
  type DeployPlan,
  type PlanLayer,
  type RemoteState,
  type UpdatePlan,
} from './plan.js';
import { readFunction } from './remote-state.js';
import { DEFAULT_RETRY, retrying, type RetryTuning } from './retry.js';
import { uploadToS3 } from './s3-upload.js';
import { DEFAULT_WAIT, waitUntilSettled, type WaitTuning } from './wait.js';

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

/** How persistently a deploy retries and waits; the caller (the CLI) decides, never the environment. */
export interface DeployTuning {
  /** How often to poll while an update is in progress (default 1000 ms). */
  pollIntervalMs?: number;
  /** First retry delay, doubled each time (default 1000 ms). */
  retryBaseDelayMs?: number;
  /** Longest single retry delay (default 20 s). */
  retryMaxDelayMs?: number;
  /** Retries after the first attempt for busy/throttled/5xx/network errors (default 6). */
  maxRetries?: number;
  /** How long to wait for an update to finish (default 10 minutes). */
  waitTimeoutMs?: number;
}

export interface DeployOptions extends DeployTuning {
  /** Read only: report what would change, change nothing. */
  dryRun?: boolean;
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
  /** The zip's entries' total size: with layers, counted against Lambda's unzipped limit. */
  unzippedSize?: number;
  /**
   * The function's `layers` as version ARNs (see PlanLayer): set as its Layers where they differ.
   * Undefined: lbuild.toml sets no layers, and the function keeps its own.
   */
  layers?: PlanLayer[];
  /** The project's layer zips, where the handler check also looks for the module. */
  layerZips?: { label: string; path: string }[];
  /** Layer ARNs the handler check cannot look into. */
  unseenLayers?: string[];
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
  /** The function's Layers after the deploy, when lbuild.toml sets them. */
  layers?: string[];
  dryRun: boolean;
}

export function retryTuning(t: DeployTuning): RetryTuning {
  return {
    baseDelayMs: t.retryBaseDelayMs ?? DEFAULT_RETRY.baseDelayMs,
    maxDelayMs: t.retryMaxDelayMs ?? DEFAULT_RETRY.maxDelayMs,
    maxRetries: t.maxRetries ?? DEFAULT_RETRY.maxRetries,
  };
}

export function waitTuning(t: DeployTuning): WaitTuning {
  return {
    pollIntervalMs: t.pollIntervalMs ?? DEFAULT_WAIT.pollIntervalMs,
    timeoutMs: t.waitTimeoutMs ?? DEFAULT_WAIT.timeoutMs,
  };
}

/** Carries a DeployPlan out, planning again from Lambda's answer after each change. */
class Deployer {
  private readonly cfg: FunctionConfig;
  private readonly a: DeployArgs;
  private readonly retryTuning: RetryTuning;
  private readonly waitTuning: WaitTuning;
  private readonly dryRun: boolean;
  private readonly signal: AbortSignal | undefined;
  private readonly fn: string;
  private readonly now: Date;
  private size = 0;
  private zipBytes: Buffer | undefined;

  constructor(args: DeployArgs) {
    this.a = args;
    this.cfg = args.config;
    this.retryTuning = retryTuning(args.options ?? {});
    this.waitTuning = waitTuning(args.options ?? {});
    this.dryRun = args.options?.dryRun ?? false;
    this.signal = args.signal;
    this.fn = args.config.functionName;
    this.now = args.options?.now ?? new Date();
  }

  private emit(step: DeployStep, message: string, extra: Partial<DeployEvent> = {}): void {
    this.a.onEvent?.({ type: 'deploy-step', function: this.cfg.name, step, message, ...extra });
  }

  private sendOpts(): { abortSignal?: AbortSignal } {
    return this.signal ? { abortSignal: this.signal } : {};
  }

  /** Runs `attempt` with the deploy's retries; a `mutation` also waits out the update a 409 names. */
  private retrying<T>(
    what: string,
    attempt: () => Promise<T>,
    override?: (error: unknown) => ErrorClass | undefined,
    mutation = false,
  ): Promise<T> {
    return retrying(what, attempt, {
      tuning: this.retryTuning,
      functionName: this.fn,
      signal: this.signal,
      ...(override ? { override } : {}),
      onRetry: (r) =>
        this.emit(
          'retry',
          `${r.what}: ${r.why} (${r.error}); retrying in ${(r.delayMs / 1000).toFixed(1)} s`,
          { error: r.error, delayMs: r.delayMs, attempt: r.attempt },
        ),
      ...(mutation ? { afterConflict: () => this.waitUntilSettled(undefined) } : {}),
    });
  }

  private readFunction(): Promise<FunctionConfiguration | undefined> {
    return readFunction(this.cfg, this.a.clients, this.signal, (what, attempt) =>
      this.retrying(what, attempt),
    );
  }

  private waitUntilSettled(ours: string | undefined): Promise<FunctionConfiguration> {
    return waitUntilSettled(
      () =>
        this.retrying('GetFunctionConfiguration', () =>
          this.a.clients.lambda.send(
            new GetFunctionConfigurationCommand({ FunctionName: this.fn }),
            this.sendOpts(),
          ),
        ),
      {
        tuning: this.waitTuning,
        functionName: this.fn,
        ours,
        signal: this.signal,
        onWait: (message) => this.emit('wait', message),
      },
    );
  }

  /** The plan for the function as Lambda describes it now. */
  private plan(remote: RemoteState): DeployPlan {
    return planDeploy(
      this.cfg,
      remote,
      {
        sha256Base64: this.a.sha256Base64,
        size: this.size,
        ...(this.a.unzippedSize !== undefined ? { unzippedSize: this.a.unzippedSize } : {}),
      },
      {
        artifact: this.a.artifact,
        now: this.now,
        checkHandler: this.a.options?.checkHandler !== false,
        layers: this.a.layers,
      },
    );
  }

  private replan(current: FunctionConfiguration): UpdatePlan {
    const plan = this.plan({ exists: true, configuration: current });
    if (plan.action !== 'update') throw new Error('an existing function planned as a create');
    return plan;
  }

  private async zip(): Promise<Buffer> {
    this.zipBytes ??= await readFile(this.a.zipPath);
    return this.zipBytes;
  }

  /** The code source for Create/UpdateFunctionCode; puts the zip into S3 when it goes that way. */
  private async codeSource(via: 'zip' | 's3'): Promise<FunctionCode> {
    if (via === 'zip') return { ZipFile: await this.zip() };
    return uploadToS3({
      config: this.cfg,
      clients: this.a.clients,
      key: `${this.cfg.s3Prefix}${shortFunctionName(this.fn)}/${this.a.sha256Hex}.zip`,
      zipPath: this.a.zipPath,
      body: await this.zip(),
      sha256Hex: this.a.sha256Hex,
      sha256Base64: this.a.sha256Base64,
      signal: this.signal,
      retry: (what, attempt) => this.retrying(what, attempt),
      onProgress: (message) => this.emit('upload-s3', message),
    });
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
    this.size = (await stat(this.a.zipPath)).size;
    // A runtime Lambda no longer updates is refused before any call; a deprecated one warned of.
    const runtime = effectiveRuntime(this.cfg, this.a.artifact);
    const notice = runtimeLifecycle(this.cfg, runtime, 'update', this.now);
    if (notice !== undefined) this.emit('deprecated', `[function.${this.cfg.name}]: ${notice}`);
    if (this.cfg.handler !== undefined && this.a.options?.checkHandler !== false) {
      await this.checkHandler(this.cfg.handler, this.cfg.runtime);
    }

    this.emit('read', `reading ${this.fn} from Lambda`);
    const configuration = await this.readFunction();
    const remote: RemoteState = configuration
      ? { exists: true, configuration }
      : { exists: false, ...(await this.region()) };
    const plan = this.plan(remote);
    if (plan.action === 'update' && plan.handlerCheck) {
      await this.checkHandler(plan.handlerCheck.handler, plan.handlerCheck.runtime);
    }
    if (this.dryRun) {
      this.emit('dry-run', dryRunMessage(plan, this.size));
      return {
        functionName: configuration?.FunctionName ?? this.fn,
        functionArn: configuration?.FunctionArn ?? '',
        codeSha256: sha,
        revisionId: configuration?.RevisionId ?? '',
        uploaded: sendsCode(plan),
        via: plan.via,
        created: plan.action === 'create',
        configChanged: changedKeys(plan),
        dryRun: true,
      };
    }
    return plan.action === 'create' || !configuration
      ? this.create(plan as CreatePlan)
      : this.update(plan, configuration);
  }

  private async checkHandler(handler: string, runtime: string | undefined): Promise<void> {
    this.emit('check-handler', `checking handler ${handler} in the zip`);
    const check = await checkHandlerInZip(this.a.zipPath, handler, runtime, {
      ...(this.a.layerZips ? { zips: this.a.layerZips } : {}),
      ...(this.a.unseenLayers ? { unseen: this.a.unseenLayers } : {}),
    });
    if (!check.ok) throw new LbuildError(check.failure);
  }

  private async region(): Promise<{ region?: string }> {
    try {
      const region = await this.a.clients.lambda.config.region();
      return region ? { region } : {};
    } catch {
      return {};
    }
  }

  private async create(plan: CreatePlan): Promise<DeployResult> {
    const code = await this.codeSource(plan.via);
    this.emit(
      'create',
      `creating ${this.fn} (${formatBytes(this.size)}, ${plan.via === 'zip' ? 'direct' : 'through S3'})`,
    );
    const c = this.cfg;
    const layers = plan.layers !== undefined ? this.layerArns() : undefined;
    const command = new CreateFunctionCommand({
      FunctionName: this.fn,
      Role: c.role,
      // The table's identifiers are Lambda's own.
      Runtime: plan.runtime.runtime as Runtime,
      Handler: c.handler,
      Code: code,
      PackageType: 'Zip',
      Publish: false,
      ...(c.timeout !== undefined ? { Timeout: c.timeout } : {}),
      ...(c.memory !== undefined ? { MemorySize: c.memory } : {}),
      ...(c.description !== undefined ? { Description: c.description } : {}),
      ...(plan.architecture !== undefined ? { Architectures: [plan.architecture] } : {}),
      ...(c.environment !== undefined ? { Environment: { Variables: c.environment } } : {}),
      ...(layers !== undefined ? { Layers: layers } : {}),
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
      if (error instanceof LbuildError && errorName(error.cause) === 'ResourceConflictException') {
        // Someone created it meanwhile (or our own create's answer was lost): update instead.
        this.emit('read', `${this.fn} exists now; updating it instead`);
        const remote = await this.readFunction();
        if (remote) return this.update(this.replan(remote), remote);
      }
      throw error;
    }
    const after = await this.waitUntilSettled('create');
    this.checkSha(after);
    const version = await this.publishIfWanted(after);
    this.emit('done', `created ${this.fn}`);
    return this.result(after, {
      uploaded: true,
      via: plan.via,
      created: true,
      configChanged: [],
      version,
    });
  }

  private async update(
    initial: UpdatePlan,
    initialRemote: FunctionConfiguration,
  ): Promise<DeployResult> {
    let plan = initial;
    let remote = initialRemote;
    if (plan.busy) {
      remote = await this.waitUntilSettled(undefined);
      plan = this.replan(remote);
    }

    let via: 'zip' | 's3' | 'none' = 'none';
    let uploaded = false;
    const configChanged: string[] = [];
    if (sendsCode(plan) && plan.via !== 'none') {
      if (plan.architecture) configChanged.push('architecture');
      via = plan.via;
      const code = await this.codeSource(plan.via);
      uploaded = true;
      remote = await this.withPrecondition(remote, 'code update', async (current) => {
        if (!sendsCode(this.replan(current))) return current;
        this.emit(
          'update-code',
          `uploading ${formatBytes(this.size)} to ${this.fn} (${via === 'zip' ? 'direct' : `from s3://${this.cfg.s3Bucket ?? ''}`})`,
        );
        await this.retrying(
          'UpdateFunctionCode',
          () =>
            this.a.clients.lambda.send(
              new UpdateFunctionCodeCommand({
                FunctionName: this.fn,
                ...code,
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

    const settings = this.replan(remote).settings;
    if (settings.length > 0) {
      configChanged.push(...settings.map((s) => s.key));
      remote = await this.withPrecondition(remote, 'configuration update', async (current) => {
        const now = this.replan(current);
        if (now.settings.length === 0) return current;
        if (now.configuration.Layers !== undefined) this.layerArns();
        this.emit(
          'update-config',
          `changing ${now.settings.map((s) => s.key).join(', ')} of ${this.fn}`,
        );
        await this.retrying(
          'UpdateFunctionConfiguration',
          () =>
            this.a.clients.lambda.send(
              new UpdateFunctionConfigurationCommand({
                FunctionName: this.fn,
                ...now.configuration,
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

  /** The Layers to set: every project layer has its version by now (its publish ran first). */
  private layerArns(): string[] {
    return (this.a.layers ?? []).map((layer) => {
      if (layer.arn === undefined) {
        throw new LbuildError({
          reason: 'internal-error',
          kind: 'internal',
          message: `${layer.label} has no published version to give ${this.fn}`,
        });
      }
      return layer.arn;
    });
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

  private result(
    remote: FunctionConfiguration,
    rest: Pick<DeployResult, 'uploaded' | 'via' | 'created' | 'configChanged'> & {
      version: string | undefined;
    },
  ): DeployResult {
    const { version, ...others } = rest;
    return {
      functionName: remote.FunctionName ?? this.fn,
      functionArn: remote.FunctionArn ?? '',
      codeSha256: remote.CodeSha256 ?? '',
      revisionId: remote.RevisionId ?? '',
      ...others,
      ...(version !== undefined ? { version } : {}),
      ...(this.cfg.layers !== undefined
        ? { layers: (remote.Layers ?? []).map((l) => l.Arn ?? '') }
        : {}),
      dryRun: false,
    };
  }
}

/**
 * Deploys a zip to one Lambda function when its CodeSha256 differs, then applies configured
 * settings that differ, then publishes a version when `publish` is on: the plan of
 * {@link planDeploy}, carried out. Expected failures are thrown as LbuildError (kind `config`
 * for the user's setup, `build` when Lambda says no).
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
