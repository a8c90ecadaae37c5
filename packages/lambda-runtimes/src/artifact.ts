import { isLambdaArchitecture, pythonRuntime, type LambdaArchitecture } from './python-runtimes.js';

/** The key of a zip target's `artifact` under which it describes a Lambda package. */
export const LAMBDA_ARTIFACT = 'lambda';

/**
 * What a Lambda zip was built for, as the config that builds it says: the runtime's Python and
 * the architecture its wheels were chosen for. A zip target publishes it (under
 * {@link LAMBDA_ARTIFACT} in its definition's `artifact`), so a deploy can check it against the
 * function before anything is built or sent, without knowing which plugin made the zip.
 */
export interface LambdaArtifact {
  /** The table that decides it, as messages name it: `bundle.api`. */
  table: string;
  /** `major.minor`, one of the table's `python` values. */
  python: string;
  architecture: LambdaArchitecture;
  /** Where `python` is set (`lbuild.toml:8`), absent when it is the default. */
  pythonAt?: string;
  /** Where `architecture` is set, absent when it is the default. */
  architectureAt?: string;
  /**
   * A layer's zip (entries under `python/`), published with PublishLayerVersion, rather than a
   * function's code. The table is then `layer.NAME`.
   */
  layer?: boolean;
}

/** The Lambda artifact in a target's `artifact` record, or undefined when it has none. */
export function lambdaArtifactOf(
  artifact: Readonly<Record<string, unknown>> | undefined,
): LambdaArtifact | undefined {
  const value = artifact?.[LAMBDA_ARTIFACT];
  if (typeof value !== 'object' || value === null) return undefined;
  const v = value as Record<string, unknown>;
  if (typeof v.table !== 'string' || typeof v.python !== 'string') return undefined;
  if (pythonRuntime(v.python) === undefined || !isLambdaArchitecture(v.architecture))
    return undefined;
  return {
    table: v.table,
    python: v.python,
    architecture: v.architecture,
    ...(typeof v.pythonAt === 'string' ? { pythonAt: v.pythonAt } : {}),
    ...(typeof v.architectureAt === 'string' ? { architectureAt: v.architectureAt } : {}),
    ...(v.layer === true ? { layer: true } : {}),
  };
}

/** How messages name where an artifact's value comes from. */
export function artifactSource(artifact: LambdaArtifact, key: 'python' | 'architecture'): string {
  const at = key === 'python' ? artifact.pythonAt : artifact.architectureAt;
  return at !== undefined
    ? `[${artifact.table}] ${key} at ${at}`
    : `[${artifact.table}] sets no ${key}; ${artifact[key]} is the default`;
}
