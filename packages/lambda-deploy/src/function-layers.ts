import {
  LbuildError,
  configError,
  type Failure,
  type Json,
  type PluginEntry,
  type SourceLocation,
  type TargetDefinition,
  type TargetKey,
} from '@lbuild/core';
import { lambdaArtifactOf, pythonRuntime, type LambdaArtifact } from '@lbuild/lambda-runtimes';
import type { DeployClients } from './clients.js';
import {
  parseLayerRef,
  regionOfArn,
  toFunctionConfig,
  type FunctionConfig,
  type FunctionTable,
} from './config.js';
import type { LayerPublishValue } from './layer-versions.js';
import type { PlanLayer } from './plan.js';
import {
  layerArtifact,
  layerZipKey,
  publishKey,
  publishLayerTarget,
  unknownLayer,
  type PublishTargetArgs,
} from './publish-layer.js';
import { zipDependency } from './zip-dep.js';

/**
 * The `layers` of one `[function.NAME]`: which targets they add (the layers' zips and publish
 * targets), how they are checked against the function, and the version ARNs they resolve to.
 */

/** One `layers` entry of a function, with where it is written. */
export type FunctionLayer = (
  | { kind: 'table'; name: string; zipKey: TargetKey; publishKey: TargetKey }
  | { kind: 'arn'; arn: string }
) & { location: SourceLocation };

/** The region a function's layers are published in: its own (undefined: the SDK's). */
export const functionRegion = (config: FunctionConfig): string | undefined =>
  config.region ?? regionOfArn(config.functionName);

/** The function's `layers`, located; refuses an ARN of another region than the function's. */
export function functionLayers(
  config: FunctionConfig,
  entry: PluginEntry<FunctionTable>,
): FunctionLayer[] {
  const region = functionRegion(config);
  return (config.layers ?? []).map((value, index) => {
    const location = entry.location('layers', String(index));
    const ref = parseLayerRef(value);
    if (ref.kind === 'arn') {
      if (region !== undefined && ref.region !== region) {
        throw configError(
          'layer-region',
          `[function.${config.name}] layer ${ref.arn} is in ${ref.region}, but the function is in ${region}: Lambda only uses layers of the function's region`,
          { hint: `use a version ARN of the layer in ${region}`, location },
        );
      }
      return { kind: 'arn', arn: ref.arn, location };
    }
    return {
      kind: 'table',
      name: ref.name,
      zipKey: layerZipKey(ref.name),
      publishKey: publishKey(ref.name, region),
      location,
    };
  });
}

/**
 * The publish targets this entry defines: one per layer and region, defined by the first
 * function (in file order) that uses the layer in that region.
 */
export function publishTargets(
  config: FunctionConfig,
  layers: FunctionLayer[],
  table: readonly PluginEntry<FunctionTable>[],
  common: Pick<PublishTargetArgs, 'env' | 'tuning'>,
): TargetDefinition[] {
  const region = functionRegion(config);
  const targets: TargetDefinition[] = [];
  for (const layer of layers) {
    if (layer.kind !== 'table') continue;
    const definer = table
      .map((e) => toFunctionConfig(e.name, e.config))
      .find((c) => functionRegion(c) === region && (c.layers ?? []).includes(layer.name));
    if (definer?.name !== config.name) continue;
    const target = publishLayerTarget({
      layer: layer.name,
      region,
      definer: config,
      location: layer.location,
      ...common,
    });
    targets.push({
      ...target,
      missingDependency: (dep, all) =>
        dep === layer.zipKey
          ? unknownLayer(layer.name, config.name, all, layer.location).failure
          : undefined,
    });
  }
  return targets;
}

/** The dependency keys the function's layers add to a target (zips, and publish targets). */
export function layerDeps(layers: FunctionLayer[], withPublish: boolean): TargetKey[] {
  return layers.flatMap((l) =>
    l.kind === 'table' ? (withPublish ? [l.zipKey, l.publishKey] : [l.zipKey]) : [],
  );
}

/** The graph's message for a `layers` name with no `[layer.NAME]` table. */
export function missingLayer(config: FunctionConfig, layers: FunctionLayer[]) {
  return (dep: TargetKey, all: ReadonlyMap<TargetKey, TargetDefinition>): Failure | undefined => {
    const layer = layers.find((l) => l.kind === 'table' && l.zipKey === dep);
    if (layer?.kind !== 'table') return undefined;
    return unknownLayer(layer.name, config.name, all, layer.location).failure;
  };
}

/**
 * Each layer of the project must be a layer's zip built for the Python and CPU the function
 * runs (its runtime, else its bundle's): one failure per layer that is not.
 */
export function layerMismatches(
  config: FunctionConfig,
  layers: FunctionLayer[],
  bundle: LambdaArtifact | undefined,
  deps: ReadonlyMap<TargetKey, TargetDefinition>,
): Failure[] {
  const failures: Failure[] = [];
  const python =
    config.runtime !== undefined ? pythonRuntime(config.runtime)?.python : bundle?.python;
  const architecture = config.architecture ?? bundle?.architecture;
  const fn = `[function.${config.name}]`;
  for (const layer of layers) {
    if (layer.kind !== 'table') continue;
    let artifact: LambdaArtifact;
    try {
      artifact = layerArtifact(
        layer.name,
        config.name,
        deps.get(layer.zipKey)?.artifact,
        layer.location,
      );
    } catch (error) {
      if (error instanceof LbuildError) failures.push(error.failure);
      continue;
    }
    if (python !== undefined && artifact.python !== python) {
      failures.push({
        reason: 'runtime-mismatch',
        kind: 'config',
        message: `${fn} runs Python ${python}, but [${artifact.table}] is built for Python ${artifact.python}`,
        hint: `set python = "${python}" in [${artifact.table}]: its wheels must match the function's runtime`,
        location: layer.location,
      });
    }
    if (architecture !== undefined && artifact.architecture !== architecture) {
      failures.push({
        reason: 'architecture-mismatch',
        kind: 'config',
        message: `${fn} runs on ${architecture}, but [${artifact.table}] is built for ${artifact.architecture}`,
        hint: `set architecture = "${architecture}" in [${artifact.table}]: its wheels must match the function's CPU`,
        location: layer.location,
      });
    }
  }
  return failures;
}

/** The zips of the function's project layers, for the handler check. */
export function layerZips(
  layers: FunctionLayer[],
  deps: ReadonlyMap<TargetKey, { outputs: string[]; value: Json | undefined }>,
): { label: string; path: string }[] {
  return layers.flatMap((l) =>
    l.kind === 'table'
      ? [
          {
            label: `layer ${l.name}`,
            path: zipDependency(deps, l.zipKey, `layer ${l.name}`, l.zipKey).path,
          },
        ]
      : [],
  );
}

/** The ARNs of the function's layers that lbuild cannot look into. */
export const unseenLayers = (layers: FunctionLayer[]): string[] =>
  layers.flatMap((l) => (l.kind === 'arn' ? [l.arn] : []));

/**
 * The function's layers as version ARNs, in order, for the planner. A project layer takes the
 * version its publish target recorded; when that target recorded none (a question asked without
 * a stamp), the newest version in Lambda when it holds this zip, else "to be published".
 */
export async function resolveLayers(
  config: FunctionConfig,
  layers: FunctionLayer[],
  deps: ReadonlyMap<TargetKey, { outputs: string[]; value: Json | undefined }>,
  clients: () => Promise<DeployClients>,
  signal: AbortSignal | undefined,
): Promise<PlanLayer[] | undefined> {
  if (config.layers === undefined) return undefined;
  const out: PlanLayer[] = [];
  for (const layer of layers) {
    if (layer.kind === 'arn') {
      out.push({ label: layer.arn, arn: layer.arn });
      continue;
    }
    const zip = zipDependency(deps, layer.zipKey, `layer ${layer.name}`, layer.zipKey);
    const published = deps.get(layer.publishKey)?.value as LayerPublishValue | undefined;
    let arn =
      published?.codeSha256 === zip.value.codeSha256 ? published.layerVersionArn : undefined;
    if (arn === undefined) {
      const { readLatestLayerVersion } = await import('./layer-versions.js');
      const latest = await readLatestLayerVersion(await clients(), layer.name, { signal });
      if (latest?.codeSha256 === zip.value.codeSha256) arn = latest.layerVersionArn;
    }
    out.push({
      label: `layer ${layer.name}`,
      arn,
      ...(zip.value.unzippedSize !== undefined ? { unzippedSize: zip.value.unzippedSize } : {}),
    });
  }
  return out;
}

/** The lambda artifact of a dependency definition (for checks before anything runs). */
export const artifactOfDep = (
  deps: ReadonlyMap<TargetKey, { artifact?: TargetDefinition['artifact'] }>,
  key: TargetKey,
): LambdaArtifact | undefined => lambdaArtifactOf(deps.get(key)?.artifact);
