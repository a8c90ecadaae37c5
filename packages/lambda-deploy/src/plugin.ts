import {
  LbuildError,
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
import { DESTINATION_ENV } from './clients.js';
import {
  FunctionTableSchema,
  toFunctionConfig,
  type FunctionConfig,
  type FunctionTable,
} from './config.js';
import {
  functionLayers,
  layerDeps,
  layerMismatches,
  layerZips,
  missingLayer,
  publishTargets,
  resolveLayers,
  unseenLayers,
  type FunctionLayer,
} from './function-layers.js';
import { zipDependency } from './zip-dep.js';

/** The key of a function's upload target: `lbuild deploy api` runs `api:upload`. */
export const uploadKey = (name: string): string => `${name}:upload`;

/** The key of a function's handler check, built by a plain `lbuild`: `api:handler`. */
export const handlerCheckKey = (name: string): string => `${name}:handler`;

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
 * against the function's runtime and architecture). Each `[layer.NAME]` in `layers` adds its
 * zip and a publish target (LAYER:publish, see publish-layer.ts) to the upload.
 */
export function createLambdaDeployPlugin(options: LambdaDeployPluginOptions = {}) {
  return definePlugin<FunctionTable>({
    table: 'function',
    description: 'An AWS Lambda function: uploads its bundle zip only when the CodeSha256 differs.',
    schema: FunctionTableSchema,
    targets(entry, table) {
      const config = toFunctionConfig(entry.name, entry.config);
      const layers = functionLayers(config, entry);
      const targets = [
        ...publishTargets(config, layers, table, {
          env: options.env ?? {},
          tuning: options.tuning,
        }),
        uploadTarget(config, entry, layers, options),
      ];
      if (config.handler !== undefined) {
        targets.push(handlerCheckTarget(config, layers, config.handler, entry.location('handler')));
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
  return zipDependency(deps, zipKeyOf(config), `bundle ${config.bundle}`, config.bundle);
}

/**
 * NAME:handler: the handler check of a deploy, made offline whenever the zip changes, so that a
 * plain `lbuild` reports a typo in `handler` (a config error: exit 2, as the deploy's own check
 * gives) long before a deploy would.
 */
function handlerCheckTarget(
  config: FunctionConfig,
  layers: FunctionLayer[],
  handler: string,
  location: SourceLocation,
): TargetDefinition {
  return {
    key: handlerCheckKey(config.name),
    kind: 'check',
    description: `check that handler ${handler} is in the zip of bundle ${config.bundle}${layers.length ? ' or its layers' : ''}`,
    deps: [zipKeyOf(config), ...layerDeps(layers, false)],
    location,
    missingDependency: missingLayer(config, layers),
    // The layers' order decides which module Python imports.
    recipe: () => ({ handler, ...(config.layers ? { layers: config.layers } : {}) }),
    run: async (ctx) => {
      const { checkHandlerInZip } = await import('./handler-check.js');
      const check = await checkHandlerInZip(zipOf(config, ctx.deps).path, handler, config.runtime, {
        zips: layerZips(layers, ctx.deps),
        unseen: unseenLayers(layers),
      });
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
  layers: FunctionLayer[],
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
    deps: [zipKey, ...layerDeps(layers, true)],
    buildByDefault: false,
    keepStampOnFailure: true,
    location,
    missingDependency: missingLayer(config, layers),
    // Before anything runs: the zip's and the layers' wheels must suit the function's runtime
    // and CPU.
    checkDependencies: (deps) => {
      const artifact = artifactOf(deps);
      const [first, ...others] = [
        ...(artifact ? configMismatches(config, artifact, (key) => entry.location(key)) : []),
        ...layerMismatches(config, layers, artifact, deps),
      ];
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
        const planLayers = await resolveLayers(
          config,
          layers,
          ctx.deps,
          () => Promise.resolve(c),
          ctx.signal,
        );
        const differences = await remoteDifferences(
          config,
          c,
          { sha256Base64: value.codeSha256, size: value.size, unzippedSize: value.unzippedSize },
          { signal: ctx.signal, artifact: artifactOf(ctx.deps), layers: planLayers },
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
        const planLayers = await resolveLayers(
          config,
          layers,
          ctx.deps,
          () => Promise.resolve(c),
          ctx.signal,
        );
        const result = await deployFunction({
          config,
          ...(artifact ? { artifact } : {}),
          ...(planLayers ? { layers: planLayers } : {}),
          layerZips: layerZips(layers, ctx.deps),
          unseenLayers: unseenLayers(layers),
          zipPath: zip.path,
          ...(zip.value.unzippedSize !== undefined ? { unzippedSize: zip.value.unzippedSize } : {}),
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
            ...(result.layers ? { layers: result.layers } : {}),
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
