import {
  LbuildError,
  configError,
  type Json,
  type SourceLocation,
  type TargetDefinition,
  type TargetKey,
} from '@lbuild/core';
import { lambdaArtifactOf, pythonRuntime, type LambdaArtifact } from '@lbuild/lambda-runtimes';
import type { DeployTuning } from './apply.js';
import { DESTINATION_ENV } from './clients.js';
import type { FunctionConfig } from './config.js';
import type { LayerPublishValue, LayerVersion } from './layer-versions.js';
import { zipDependency } from './zip-dep.js';

/**
 * `NAME:publish` (or `NAME:publish:REGION` for functions that set a region): publishes a new
 * version of the `[layer.NAME]` zip when, and only when, its SHA-256 differs from the newest
 * version's CodeSha256. Its value is the version ARN the functions that use the layer get.
 * One per layer and region: a layer used by functions in two regions is published in each.
 */

/** The zip target of `[layer.NAME]`. */
export const layerZipKey = (layer: string): TargetKey => `${layer}:zip`;

/** The publish target of a layer for functions in `region` (undefined: the SDK's region). */
export const publishKey = (layer: string, region: string | undefined): TargetKey =>
  region === undefined ? `${layer}:publish` : `${layer}:publish:${region}`;

const short = (sha: string) => `${sha.slice(0, 8)}…`;

/** The layer artifact of a dependency, or a config error when the zip is not a layer's. */
export function layerArtifact(
  layer: string,
  fn: string,
  artifact: TargetDefinition['artifact'] | undefined,
  location: SourceLocation,
): LambdaArtifact {
  const found = lambdaArtifactOf(artifact);
  if (found?.layer === true) return found;
  throw new LbuildError({
    reason: 'not-a-layer',
    kind: 'config',
    message: `[function.${fn}] layers names ${JSON.stringify(layer)}, but ${layer}:zip is ${found ? `the zip of [${found.table}]` : 'not the zip of a [layer.NAME] table'}, not a layer`,
    hint: `add a [layer.${layer}] table (its zip has its files under python/), or name an existing layer`,
    location,
  });
}

/** What the engine reports for a `layers` name with no `[layer.NAME]` table. */
export function unknownLayer(
  layer: string,
  fn: string,
  targets: ReadonlyMap<TargetKey, TargetDefinition>,
  location: SourceLocation,
): LbuildError {
  const layers = [...targets.values()]
    .map((t) => lambdaArtifactOf(t.artifact))
    .filter((a) => a?.layer === true)
    .map((a) => a?.table ?? '');
  return configError(
    'unknown-layer',
    `[function.${fn}] layers names ${JSON.stringify(layer)}, which is neither a [layer.NAME] table nor a layer version ARN`,
    {
      hint: layers.length
        ? `layer tables: ${layers.map((t) => `[${t}]`).join(', ')}`
        : `add a [layer.${layer}] table, or write the layer's version ARN (arn:aws:lambda:REGION:ACCOUNT_ID:layer:NAME:VERSION)`,
      location,
    },
  );
}

export interface PublishTargetArgs {
  layer: string;
  region: string | undefined;
  /** The first function (in file order) that uses the layer there: its S3 settings are used. */
  definer: FunctionConfig;
  location: SourceLocation;
  env: Readonly<Record<string, string | undefined>>;
  tuning: DeployTuning | undefined;
}

export function publishLayerTarget(a: PublishTargetArgs): TargetDefinition {
  const zipKey = layerZipKey(a.layer);
  const where = a.region ? ` in ${a.region}` : '';
  const zipOf = (deps: Parameters<typeof zipDependency>[0]) =>
    zipDependency(deps, zipKey, `layer ${a.layer}`, zipKey);
  const clients = async (maxAttempts?: number) => {
    const { createClients } = await import('./clients.js');
    return createClients(
      { functionName: a.layer, ...(a.region ? { region: a.region } : {}) },
      { env: a.env, ...(maxAttempts !== undefined ? { maxAttempts } : {}) },
    );
  };
  return {
    key: publishKey(a.layer, a.region),
    kind: 'publish',
    description: `publish the zip of [layer.${a.layer}] as a new version of Lambda layer ${a.layer}${where} when its CodeSha256 differs from the newest version's`,
    deps: [zipKey],
    buildByDefault: false,
    keepStampOnFailure: true,
    location: a.location,
    checkDependencies: (deps) => {
      layerArtifact(a.layer, a.definer.name, deps.get(zipKey)?.artifact, a.location);
    },
    recipe: () => ({
      layer: a.layer,
      region: a.region ?? null,
      s3Bucket: a.definer.s3Bucket ?? null,
      env: Object.fromEntries(DESTINATION_ENV.map((name) => [name, a.env[name] ?? null])),
    }),
    checkExternal: async (ctx) => {
      const { readLatestLayerVersion } = await import('./layer-versions.js');
      const { value } = zipOf(ctx.deps);
      const c = await clients();
      try {
        const latest = await readLatestLayerVersion(c, a.layer, { signal: ctx.signal });
        if (!latest) return `layer ${a.layer} has no version yet${where}`;
        if (latest.codeSha256 !== value.codeSha256) {
          return `layer ${a.layer} CodeSha256 differs: version ${latest.version} ${short(latest.codeSha256)} local ${short(value.codeSha256)}`;
        }
        const recorded = (ctx.value as LayerPublishValue | undefined)?.layerVersionArn;
        if (recorded !== undefined && recorded !== latest.layerVersionArn) {
          return `layer ${a.layer}'s newest version with this zip is now ${latest.layerVersionArn} (recorded: ${recorded})`;
        }
        return undefined;
      } finally {
        c.destroy();
      }
    },
    run: async (ctx) => {
      const { readFile } = await import('node:fs/promises');
      const { readLatestLayerVersion, publishLayerVersion } = await import('./layer-versions.js');
      const { retrying } = await import('./retry.js');
      const { retryTuning } = await import('./apply.js');
      const zip = zipOf(ctx.deps);
      const artifact = layerArtifact(
        a.layer,
        a.definer.name,
        ctx.deps.get(zipKey)?.artifact,
        a.location,
      );
      const tuning = retryTuning(a.tuning ?? {});
      const run = <T>(what: string, attempt: () => Promise<T>) =>
        retrying(what, attempt, {
          tuning,
          functionName: `layer ${a.layer}`,
          signal: ctx.signal,
          onRetry: (r) =>
            ctx.log('info', `${r.what}: ${r.why} (${r.error}); retrying in ${r.delayMs} ms`),
        });
      // One attempt per SDK call: PublishLayerVersion is not idempotent, so retries are lbuild's
      // own, which first look whether the lost attempt made the version.
      const c = await clients(1);
      try {
        const latest = await readLatestLayerVersion(c, a.layer, { signal: ctx.signal, run });
        const done = (version: LayerVersion, summary: string) => ({
          value: {
            layerVersionArn: version.layerVersionArn,
            codeSha256: version.codeSha256,
            codeSize: version.codeSize,
          } satisfies LayerPublishValue as unknown as Json,
          summary,
        });
        if (latest?.codeSha256 === zip.value.codeSha256) {
          return done(
            latest,
            `layer ${a.layer}${where}: version ${latest.version} already has this zip (CodeSha256 ${zip.value.codeSha256})`,
          );
        }
        const body = await readFile(zip.path);
        let content: { ZipFile: Uint8Array } | { S3Bucket?: string; S3Key?: string };
        if (zip.value.size <= a.definer.directUploadLimit) {
          content = { ZipFile: body };
        } else if (a.definer.s3Bucket !== undefined) {
          const { uploadToS3 } = await import('./s3-upload.js');
          content = await uploadToS3({
            config: a.definer,
            clients: c,
            key: `${a.definer.s3Prefix}layers/${a.layer}/${zip.value.sha256}.zip`,
            zipPath: zip.path,
            body,
            sha256Hex: zip.value.sha256,
            sha256Base64: zip.value.codeSha256,
            signal: ctx.signal,
            retry: run,
            onProgress: (message) => ctx.log('info', message),
          });
        } else {
          throw new LbuildError({
            kind: 'config',
            reason: 'zip-too-large',
            limit: 'direct-upload-limit',
            size: zip.value.size,
            max: a.definer.directUploadLimit,
            table: `function.${a.definer.name}`,
          });
        }
        const runtime = pythonRuntime(artifact.python)?.runtime ?? `python${artifact.python}`;
        const published = await publishLayerVersion(
          c,
          a.layer,
          {
            content,
            runtime,
            architecture: artifact.architecture,
            description: `[layer.${a.layer}] sha256 ${zip.value.sha256}`,
          },
          {
            signal: ctx.signal,
            run,
            // A publish whose answer was lost may have made the version: never make two.
            alreadyPublished: async () => {
              const now = await readLatestLayerVersion(c, a.layer, { signal: ctx.signal, run });
              return now &&
                now.codeSha256 === zip.value.codeSha256 &&
                now.version > (latest?.version ?? 0)
                ? now
                : undefined;
            },
          },
        );
        if (published.codeSha256 !== zip.value.codeSha256) {
          const { buildError } = await import('@lbuild/core');
          throw buildError(
            'code-sha-mismatch',
            `Lambda reports CodeSha256 ${published.codeSha256} for the new version ${published.version} of layer ${a.layer}, but the zip's is ${zip.value.codeSha256}`,
            { hint: 'the zip changed during the upload; deploy again' },
          );
        }
        ctx.log('info', `published layer ${a.layer}${where} version ${published.version}`);
        return done(
          published,
          `published layer ${a.layer}${where} version ${published.version} (${runtime}, ${artifact.architecture})`,
        );
      } finally {
        c.destroy();
      }
    },
  };
}
