import {
  LbuildError,
  buildError,
  definePlugin,
  type Json,
  type PluginEntry,
  type SourceLocation,
  type TargetDefinition,
  type TargetKey,
} from '@lbuild/core';
import { lambdaArtifactOf } from '@lbuild/lambda-runtimes';
import type { DeployTuning } from './apply.js';
import { configMismatches } from './bundle-match.js';
import {
  FunctionTableSchema,
  toFunctionConfig,
  type FunctionConfig,
  type FunctionTable,
} from './config.js';

/** The key of a function's upload target: `lbuild deploy api` runs `api:upload`. */
export const uploadKey = (name: string): string => `${name}:upload`;

/** The key of a function's handler check, built by a plain `lbuild`: `api:handler`. */
export const handlerCheckKey = (name: string): string => `${name}:handler`;

/** What the zip target of a bundle records about its zip (see python-lambda's zip target). */
interface ZipValue {
  sha256: string;
  codeSha256: string;
  size: number;
}

/**
 * Settings outside lbuild.toml that choose *where* a deploy goes. A different profile, region
 * or endpoint is a different function, so they enter the fingerprint (as hashes only).
 */
const DESTINATION_ENV = [
  'AWS_PROFILE',
  'AWS_REGION',
  'AWS_DEFAULT_REGION',
  'AWS_ENDPOINT_URL',
  'AWS_ENDPOINT_URL_LAMBDA',
  'AWS_ENDPOINT_URL_S3',
];

/** What the caller (the CLI) decides for deploys; the library reads no environment variable. */
export interface LambdaDeployPluginOptions {
  /** Retries and waiting of a deploy. */
  tuning?: DeployTuning;
  /**
   * The environment the AWS SDK will see: the variables that choose where a deploy goes enter
   * the upload's fingerprint (as hashes only), and endpoint overrides decide S3's URL style.
   */
  env?: Readonly<Record<string, string | undefined>>;
}

/**
 * `[function.NAME]` → NAME:upload (and, with a handler, NAME:handler), on top of the bundle's zip
 * (taken by key, so any plugin that makes a `<bundle>:zip` with a `{ sha256, codeSha256 }` value
 * can be deployed; a zip that describes its Lambda runtime in its `artifact` is also checked
 * against the function's runtime and architecture).
 */
export function createLambdaDeployPlugin(options: LambdaDeployPluginOptions = {}) {
  return definePlugin<FunctionTable>({
    table: 'function',
    description: 'An AWS Lambda function: uploads its bundle zip only when the CodeSha256 differs.',
    schema: FunctionTableSchema,
    targets(entry) {
      const config = toFunctionConfig(entry.name, entry.config);
      const targets = [uploadTarget(config, entry, options)];
      if (config.handler !== undefined) {
        targets.push(handlerCheckTarget(config, config.handler, entry.location('handler')));
      }
      return { targets };
    },
  });
}

/** The plugin with default tuning and an empty environment (for the schema and tests). */
export const lambdaDeployPlugin = createLambdaDeployPlugin();

const zipKeyOf = (config: FunctionConfig): TargetKey => `${config.bundle}:zip`;

function zipOf(
  config: FunctionConfig,
  deps: ReadonlyMap<string, { outputs: string[]; value: Json | undefined }>,
) {
  const dep = deps.get(zipKeyOf(config));
  const value = dep?.value as ZipValue | undefined;
  const path = dep?.outputs[0];
  if (!value?.codeSha256 || !path)
    throw buildError('zip-missing', `the zip of bundle ${config.bundle} has no recorded hash`, {
      hint: `build it: lbuild ${config.bundle}`,
    });
  return { path, value };
}

/**
 * NAME:handler: the handler check of a deploy, made offline whenever the zip changes, so that a
 * plain `lbuild` reports a typo in `handler` (a config error: exit 2, as the deploy's own check
 * gives) long before a deploy would.
 */
function handlerCheckTarget(
  config: FunctionConfig,
  handler: string,
  location: SourceLocation,
): TargetDefinition {
  return {
    key: handlerCheckKey(config.name),
    kind: 'check',
    description: `check that handler ${handler} is in the zip of bundle ${config.bundle}`,
    deps: [zipKeyOf(config)],
    location,
    recipe: () => ({ handler }),
    run: async (ctx) => {
      const { checkHandlerInZip } = await import('./handler-check.js');
      const check = await checkHandlerInZip(zipOf(config, ctx.deps).path, handler, config.runtime);
      if (!check.ok) throw new LbuildError({ ...check.failure, location });
      return {
        summary: `handler ${handler}: ${check.moduleFile}${check.note ? ` (${check.note})` : ''}`,
      };
    },
  };
}

function uploadTarget(
  config: FunctionConfig,
  entry: PluginEntry<FunctionTable>,
  options: LambdaDeployPluginOptions,
): TargetDefinition {
  const env = options.env ?? {};
  const location = entry.location('bundle');
  const handlerLocation = entry.location('handler');
  const zipKey = zipKeyOf(config);
  const artifactOf = (deps: ReadonlyMap<TargetKey, { artifact?: TargetDefinition['artifact'] }>) =>
    lambdaArtifactOf(deps.get(zipKey)?.artifact);
  const clients = async () => {
    const { createClients } = await import('./clients.js');
    return createClients(config, { env });
  };
  return {
    key: uploadKey(config.name),
    kind: 'upload',
    description: `upload the zip of bundle ${config.bundle} to Lambda function ${config.functionName}${
      config.region ? ` in ${config.region}` : ''
    }${config.s3Bucket ? ` (through s3://${config.s3Bucket}/${config.s3Prefix} when over ${Math.round(config.directUploadLimit / 1048576)} MB)` : ''}`,
    deps: [zipKey],
    buildByDefault: false,
    keepStampOnFailure: true,
    location,
    // Before anything runs: the zip's wheels must suit the function's runtime and CPU.
    checkDependencies: (deps) => {
      const artifact = artifactOf(deps);
      if (artifact === undefined) return;
      const [first, ...others] = configMismatches(config, artifact, (key) => entry.location(key));
      if (first) throw new LbuildError(others.length ? { ...first, others } : first);
    },
    recipe: () => ({
      function: { ...config } as unknown as Json,
      env: Object.fromEntries(DESTINATION_ENV.map((name) => [name, env[name] ?? null])),
    }),
    // One GetFunction, then the deploy's own plan: does the function already run this zip with
    // this configuration? (-q answers from it, -n prints its lines, a deploy carries it out.)
    checkExternal: async (ctx) => {
      const { remoteDifferences } = await import('./remote-state.js');
      const { value } = zipOf(config, ctx.deps);
      const c = await clients();
      try {
        const differences = await remoteDifferences(
          config,
          c,
          { sha256Base64: value.codeSha256, size: value.size },
          { signal: ctx.signal, artifact: artifactOf(ctx.deps) },
        );
        return differences.length ? differences.join('; ') : undefined;
      } finally {
        c.destroy();
      }
    },
    run: async (ctx) => {
      const { deployFunction } = await import('./apply.js');
      const zip = zipOf(config, ctx.deps);
      const artifact = artifactOf(ctx.deps);
      const c = await clients();
      try {
        const result = await deployFunction({
          config,
          ...(artifact ? { artifact } : {}),
          zipPath: zip.path,
          sha256Hex: zip.value.sha256,
          sha256Base64: zip.value.codeSha256,
          clients: c,
          signal: ctx.signal,
          onEvent: (event) => ctx.log(event.step === 'deprecated' ? 'warn' : 'info', event.message),
          ...(options.tuning ? { options: options.tuning } : {}),
        });
        const what = result.uploaded
          ? `uploaded to ${result.functionName}${result.via === 's3' ? ' through S3' : ''}${result.created ? ' (created)' : ''}`
          : `skipped upload: ${result.functionName} already runs CodeSha256 ${result.codeSha256}`;
        const settings = result.configChanged.length
          ? `; updated ${result.configChanged.join(', ')}`
          : '';
        return {
          value: {
            functionArn: result.functionArn,
            codeSha256: result.codeSha256,
            revisionId: result.revisionId,
            ...(result.version ? { version: result.version } : {}),
          },
          summary: `${what}${settings}${result.version ? `; version ${result.version}` : ''}`,
        };
      } catch (error) {
        // A handler lbuild.toml sets that is not in the zip: point at `handler`, not `bundle`.
        if (
          config.handler !== undefined &&
          error instanceof LbuildError &&
          (error.failure.reason === 'handler-not-found' ||
            error.failure.reason === 'handler-invalid') &&
          error.failure.location === undefined
        ) {
          throw new LbuildError({ ...error.failure, location: handlerLocation }, { cause: error });
        }
        throw error;
      } finally {
        c.destroy();
      }
    },
  };
}
