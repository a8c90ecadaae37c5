import type { FunctionConfiguration } from '@aws-sdk/client-lambda';
import { configError, formatBytes, LbuildError } from '@lbuild/core';
import type { LambdaArchitecture, LambdaArtifact, PythonRuntime } from '@lbuild/lambda-runtimes';
import { effectiveRuntime, refuseRemoteMismatch, runtimeLifecycle } from './bundle-match.js';
import { parseLayerRef, type FunctionConfig } from './config.js';

/**
 * What a deploy would change in Lambda, decided in one place from the config, what Lambda
 * reports and the zip: `lbuild -q deploy` asks whether the plan is empty, `-n deploy` prints its
 * lines, and a deploy carries it out (re-planning from Lambda's answer after each change).
 * Planning makes no call and reads no file: the same inputs always give the same plan.
 */

/** What Lambda said about the function (one GetFunction). */
export type RemoteState =
  | { exists: false; /** For the error when the function cannot be created. */ region?: string }
  | { exists: true; configuration: FunctionConfiguration };

/** The zip to deploy. */
export interface PlanZip {
  /** Base64 of its raw SHA-256: what Lambda reports as CodeSha256. */
  sha256Base64: string;
  size: number;
  /** Its files' total size, when known: with layers, counted against Lambda's unzipped limit. */
  unzippedSize?: number | undefined;
}

/** Lambda's limit on a function's code and all its layers, unzipped (250 MB). */
export const LAMBDA_MAX_UNZIPPED_BYTES = 262_144_000;

/** One entry of the function's `layers`, as the deploy will set it. */
export interface PlanLayer {
  /** How messages name it: `layer deps`, or the ARN as written. */
  label: string;
  /**
   * The layer version ARN the function gets; undefined for a layer of the project whose new
   * version is still to be published (its ARN is known once it is).
   */
  arn: string | undefined;
  /** Unzipped size of a layer of the project (its zip's value); unknown for an ARN. */
  unzippedSize?: number | undefined;
}

export interface PlanOptions {
  /** What the zip was built for (see DeployArgs.artifact). */
  artifact?: LambdaArtifact | undefined;
  /** Today, for the runtime's deprecation dates. */
  now: Date;
  /** Check the function's own handler in a new zip when lbuild.toml sets none (default true). */
  checkHandler?: boolean;
  /**
   * The function's `layers` resolved to version ARNs, in order (see PlanLayer). Without it, ARNs
   * in `layers` are used as written and each `[layer.NAME]` counts as still to be published.
   */
  layers?: PlanLayer[] | undefined;
}

/** A setting lbuild.toml sets that Lambda holds otherwise (architecture goes with the code). */
export type SettingKey =
  'handler' | 'runtime' | 'timeout' | 'memory' | 'role' | 'description' | 'environment' | 'layers';

export interface SettingChange {
  key: SettingKey;
  /** Lambda's value, normalised as Lambda applies it (no description = ""). */
  remote: unknown;
  configured: unknown;
}

export interface CreatePlan {
  action: 'create';
  functionName: string;
  runtime: PythonRuntime;
  architecture: LambdaArchitecture | undefined;
  via: 'zip' | 's3';
  /** The Layers CreateFunction sets (undefined: lbuild.toml sets none). */
  layers: string[] | undefined;
}

export interface UpdatePlan {
  action: 'update';
  functionName: string;
  /** The code differs: Lambda's CodeSha256 against the zip's. */
  code: { remote: string | undefined; local: string } | undefined;
  /** The configured architecture differs (changed with the code). */
  architecture: { remote: string; configured: LambdaArchitecture } | undefined;
  /** How the code goes, when it goes. */
  via: 'zip' | 's3' | 'none';
  settings: SettingChange[];
  /** The UpdateFunctionConfiguration fields that apply `settings`. */
  configuration: Record<string, unknown>;
  /** Lambda is still creating or updating it: a deploy waits, then plans again. */
  busy: boolean;
  /** The function is in state Failed (its creation failed): it runs nothing. */
  failed: string | undefined;
  /** A new zip must hold the handler the function already has (lbuild.toml sets none). */
  handlerCheck: { handler: string; runtime: string | undefined } | undefined;
}

export type DeployPlan = CreatePlan | UpdatePlan;

const EXAMPLES = {
  role: 'role = "arn:aws:iam::ACCOUNT_ID:role/ROLE_NAME"',
  runtime: 'runtime = "python3.12"',
  handler: 'handler = "app.handler"',
} as const;

/** How the code would go: fails (config) when it is over the limit and there is no bucket. */
export function plannedVia(config: FunctionConfig, size: number): 'zip' | 's3' {
  if (size <= config.directUploadLimit) return 'zip';
  if (config.s3Bucket !== undefined) return 's3';
  throw new LbuildError({
    kind: 'config',
    reason: 'zip-too-large',
    limit: 'direct-upload-limit',
    size,
    max: config.directUploadLimit,
    table: `function.${config.name}`,
  });
}

function sameVariables(a: Record<string, string>, b: Record<string, string>): boolean {
  const ka = Object.keys(a).sort();
  const kb = Object.keys(b).sort();
  return ka.length === kb.length && ka.every((k, i) => k === kb[i] && a[k] === b[k]);
}

/** The layers of `config` as the plan sets them: `layers` when given, else from the config. */
export function planLayers(
  config: FunctionConfig,
  layers: PlanLayer[] | undefined,
): PlanLayer[] | undefined {
  if (config.layers === undefined) return undefined;
  return (
    layers ??
    config.layers.map((value) => {
      const ref = parseLayerRef(value);
      return ref.kind === 'arn'
        ? { label: ref.arn, arn: ref.arn }
        : { label: `layer ${ref.name}`, arn: undefined };
    })
  );
}

/** How `describePlan` shows a layer: its ARN, or what is still to be published. */
const layerShown = (layer: PlanLayer): string => layer.arn ?? `${layer.label} (a new version)`;

/**
 * Refuses a function whose code and layers together are over Lambda's unzipped limit: Lambda
 * counts them together. A layer given by ARN cannot be counted (Lambda reports only its zipped
 * size), so the message says it was left out; Lambda itself still checks the total.
 */
export function checkUnzippedLimit(
  config: FunctionConfig,
  zip: PlanZip,
  layers: PlanLayer[] | undefined,
): void {
  if (layers === undefined || layers.length === 0 || zip.unzippedSize === undefined) return;
  const counted = layers.filter((l) => l.unzippedSize !== undefined);
  const total = counted.reduce((n, l) => n + (l.unzippedSize ?? 0), zip.unzippedSize);
  if (total <= LAMBDA_MAX_UNZIPPED_BYTES) return;
  const parts = [
    `bundle ${config.bundle} ${formatBytes(zip.unzippedSize)}`,
    ...counted.map((l) => `${l.label} ${formatBytes(l.unzippedSize ?? 0)}`),
  ];
  const unknown = layers.filter((l) => l.unzippedSize === undefined).map((l) => l.label);
  throw configError(
    'unzipped-too-large',
    `[function.${config.name}] is ${formatBytes(total)} unzipped with its layers (${parts.join(', ')}${unknown.length ? `; not counted: ${unknown.join(', ')}` : ''}), over Lambda's limit of ${formatBytes(LAMBDA_MAX_UNZIPPED_BYTES)} (${LAMBDA_MAX_UNZIPPED_BYTES} bytes) for a function and all its layers`,
    {
      hint: 'leave files out with exclude in the bundle or layer tables (lbuild size shows what takes the room), or move dependencies into fewer layers',
    },
  );
}

/** Settings lbuild.toml sets whose value Lambda holds otherwise, in lbuild.toml's spelling. */
export function settingChanges(
  config: FunctionConfig,
  remote: FunctionConfiguration,
  layers?: PlanLayer[],
): { settings: SettingChange[]; configuration: Record<string, unknown> } {
  const settings: SettingChange[] = [];
  const configuration: Record<string, unknown> = {};
  const scalar = (key: SettingKey, field: string, configured: unknown, actual: unknown) => {
    if (configured === undefined || configured === actual) return;
    settings.push({ key, remote: actual, configured });
    configuration[field] = configured;
  };
  scalar('handler', 'Handler', config.handler, remote.Handler);
  scalar('runtime', 'Runtime', config.runtime, remote.Runtime);
  scalar('timeout', 'Timeout', config.timeout, remote.Timeout);
  scalar('memory', 'MemorySize', config.memory, remote.MemorySize);
  scalar('role', 'Role', config.role, remote.Role);
  // Lambda reports no Description for an empty one.
  scalar('description', 'Description', config.description, remote.Description ?? '');
  // Lambda reports no Environment for a function without variables; their order is no change.
  const variables = remote.Environment?.Variables ?? {};
  if (config.environment !== undefined && !sameVariables(config.environment, variables)) {
    settings.push({ key: 'environment', remote: variables, configured: config.environment });
    configuration.Environment = { Variables: config.environment };
  }
  // Lambda reports no Layers for a function without layers; their order matters.
  const wanted = planLayers(config, layers);
  const current = (remote.Layers ?? []).map((l) => l.Arn ?? '');
  if (
    wanted !== undefined &&
    (wanted.length !== current.length || wanted.some((l, i) => l.arn !== current[i]))
  ) {
    settings.push({ key: 'layers', remote: current, configured: wanted.map(layerShown) });
    configuration.Layers = wanted.map((l) => l.arn);
  }
  return { settings, configuration };
}

/**
 * The plan for deploying `zip` to the function `remote` describes. Throws (as a deploy would,
 * before changing anything) when the deploy cannot be made: a function that cannot be created
 * from lbuild.toml, an image function, a runtime or architecture that does not suit the zip, a
 * runtime Lambda refuses, a zip too large to send.
 */
export function planDeploy(
  config: FunctionConfig,
  remote: RemoteState,
  zip: PlanZip,
  options: PlanOptions,
): DeployPlan {
  const fn = config.functionName;
  const { artifact } = options;
  const layers = planLayers(config, options.layers);
  checkUnzippedLimit(config, zip, layers);
  if (!remote.exists) {
    const runtime = effectiveRuntime(config, artifact);
    const missing = (['role', 'runtime', 'handler'] as const).filter((k) =>
      k === 'runtime' ? runtime === undefined : config[k] === undefined,
    );
    if (runtime === undefined || missing.length > 0) {
      throw configError(
        'function-not-found',
        `Lambda function ${fn} does not exist${remote.region ? ` in ${remote.region}` : ''}, and lbuild cannot create it without ${missing.join(', ')}`,
        {
          hint: `add ${missing.map((k) => EXAMPLES[k]).join(', ')} to [function.${config.name}] in lbuild.toml so lbuild can create it, or create the function in AWS first (or fix function-name)`,
        },
      );
    }
    runtimeLifecycle(config, runtime, 'create', options.now);
    return {
      action: 'create',
      functionName: fn,
      runtime,
      architecture: config.architecture ?? artifact?.architecture,
      via: plannedVia(config, zip.size),
      layers: layers?.map(layerShown),
    };
  }
  const c = remote.configuration;
  if (c.PackageType === 'Image') {
    throw configError(
      'function-is-image',
      `${fn} is a container-image function; lbuild deploys zip packages`,
      { hint: `point function-name in [function.${config.name}] at a zip-packaged function` },
    );
  }
  // The zip must suit what the function runs where lbuild.toml keeps it.
  refuseRemoteMismatch(config, artifact, c);
  const code =
    c.CodeSha256 !== zip.sha256Base64
      ? { remote: c.CodeSha256, local: zip.sha256Base64 }
      : undefined;
  // Lambda reports no Architectures for functions created before arm64 existed: those are x86_64.
  const remoteArchitecture = c.Architectures?.[0] ?? 'x86_64';
  const architecture =
    config.architecture !== undefined && remoteArchitecture !== config.architecture
      ? { remote: remoteArchitecture, configured: config.architecture }
      : undefined;
  const handlerCheck =
    code !== undefined &&
    config.handler === undefined &&
    c.Handler !== undefined &&
    options.checkHandler !== false
      ? { handler: c.Handler, runtime: config.runtime ?? c.Runtime }
      : undefined;
  return {
    action: 'update',
    functionName: fn,
    code,
    architecture,
    via: code || architecture ? plannedVia(config, zip.size) : 'none',
    ...settingChanges(config, c, layers),
    busy: c.State === 'Pending' || c.LastUpdateStatus === 'InProgress',
    failed: c.State === 'Failed' ? (c.StateReason ?? 'no reason given') : undefined,
    handlerCheck,
  };
}

/** Whether the code goes (a new zip, or the same zip for another architecture). */
export const sendsCode = (plan: DeployPlan): boolean =>
  plan.action === 'create' || plan.code !== undefined || plan.architecture !== undefined;

/** The config keys (lbuild.toml spelling) the plan changes on an existing function. */
export function changedKeys(plan: DeployPlan): string[] {
  if (plan.action === 'create') return [];
  return [...(plan.architecture ? ['architecture'] : []), ...plan.settings.map((s) => s.key)];
}

/** True when a deploy would change nothing: the function runs this zip with these settings. */
export const isUpToDate = (plan: DeployPlan): boolean =>
  plan.action === 'update' && !sendsCode(plan) && plan.settings.length === 0 && !plan.failed;

const short = (sha: string | undefined) => (sha ? sha.slice(0, 8) + '…' : 'none');
const shown = (value: unknown) => JSON.stringify(value ?? null);

/** Why a deploy is due, one line per difference (`-q --explain`, `-n`); empty when up to date. */
export function describePlan(plan: DeployPlan): string[] {
  const fn = plan.functionName;
  if (plan.action === 'create') return [`function ${fn} does not exist yet (a deploy creates it)`];
  const lines: string[] = [];
  if (plan.failed !== undefined) lines.push(`function ${fn} is in state Failed: ${plan.failed}`);
  if (plan.code) {
    lines.push(
      `CodeSha256 differs: remote ${short(plan.code.remote)} local ${short(plan.code.local)}`,
    );
  }
  for (const s of plan.settings) {
    if (s.key === 'environment') {
      const configured = s.configured as Record<string, string>;
      const remote = s.remote as Record<string, string>;
      const keys = [...new Set([...Object.keys(configured), ...Object.keys(remote)])].sort();
      for (const key of keys) {
        if (configured[key] !== remote[key]) lines.push(`environment ${key} differs`);
      }
    } else {
      const verb = s.key === 'layers' ? 'differ' : 'differs';
      lines.push(`${s.key} ${verb}: remote ${shown(s.remote)}, configured ${shown(s.configured)}`);
    }
  }
  if (plan.architecture) {
    lines.push(
      `architecture differs: remote ${shown(plan.architecture.remote)}, configured ${shown(plan.architecture.configured)}`,
    );
  }
  return lines;
}

/** One sentence for a dry run of the library's deployFunction. */
export function dryRunMessage(plan: DeployPlan, size: number): string {
  const how = (via: 'zip' | 's3' | 'none') => (via === 's3' ? 'through S3' : 'direct');
  if (plan.action === 'create') {
    return `would create ${plan.functionName} and upload ${formatBytes(size)} (${how(plan.via)})`;
  }
  const keys = changedKeys(plan);
  const parts = [
    ...(sendsCode(plan) ? [`upload ${formatBytes(size)} (${how(plan.via)})`] : []),
    ...(keys.length > 0 ? [`change ${keys.join(', ')}`] : []),
  ];
  return parts.length > 0
    ? `would ${parts.join(' and ')} of ${plan.functionName}`
    : `${plan.functionName} is up to date`;
}
