import {
  configError,
  LbuildError,
  type Described,
  type Failure,
  type SourceLocation,
} from '@lbuild/core';
import {
  artifactSource,
  deprecationNotice,
  lifecycleStage,
  NEWEST_PYTHON_RUNTIME,
  pythonRuntime,
  type LambdaArchitecture,
  type LambdaArtifact,
  type PythonRuntime,
} from '@lbuild/lambda-runtimes';
import type { FunctionConfig } from './config.js';

/**
 * Where a function's runtime and architecture must agree with the zip its bundle builds: the
 * zip's wheels were chosen for one Python ABI and one CPU, and Lambda would load them on another
 * without complaint until an import fails in production.
 */

/** The runtime the bundle builds for: python3.11 for `python = "3.11"`. */
export function bundleRuntime(artifact: LambdaArtifact): PythonRuntime {
  const runtime = pythonRuntime(artifact.python);
  // lambdaArtifactOf only accepts versions of the table.
  if (runtime === undefined) throw new Error(`unknown Python ${artifact.python} in a zip artifact`);
  return runtime;
}

/**
 * What `[function.NAME]` says that contradicts its bundle, from the config alone (before anything
 * runs or any AWS call): one failure per key, located at the function's key, naming both values
 * and where the bundle's comes from.
 */
export function configMismatches(
  config: FunctionConfig,
  artifact: LambdaArtifact,
  locate: (key: string) => SourceLocation,
): Failure[] {
  const failures: Failure[] = [];
  const fn = `[function.${config.name}]`;
  const bundle = `[${artifact.table}]`;
  const runtime = config.runtime !== undefined ? pythonRuntime(config.runtime) : undefined;
  if (runtime !== undefined && runtime.python !== artifact.python) {
    failures.push({
      reason: 'runtime-mismatch',
      kind: 'config',
      message: `${fn} runtime ${runtime.runtime} does not match ${bundle} python ${artifact.python}`,
      hint: `the zip is built for Python ${artifact.python} (${artifactSource(artifact, 'python')}): set runtime = "${bundleRuntime(artifact).runtime}" in ${fn}, or python = "${runtime.python}" in ${bundle}`,
      location: locate('runtime'),
    });
  }
  if (config.architecture !== undefined && config.architecture !== artifact.architecture) {
    failures.push({
      reason: 'architecture-mismatch',
      kind: 'config',
      message: `${fn} architecture ${config.architecture} does not match ${bundle} architecture ${artifact.architecture}`,
      hint: `the zip's wheels are for ${artifact.architecture} (${artifactSource(artifact, 'architecture')}): set architecture = "${artifact.architecture}" in ${fn}, or architecture = "${config.architecture}" in ${bundle}`,
      location: locate('architecture'),
    });
  }
  return failures;
}

/** What Lambda reports about a function that decides whether the zip runs there. */
export interface RemotePlatform {
  Runtime?: string | undefined;
  Architectures?: string[] | undefined;
}

/**
 * A deployed function whose runtime or architecture (where lbuild.toml sets neither, so the
 * deploy would keep them) is not what the bundle builds for: refused before any change. Returns
 * undefined when they agree.
 */
export function remoteMismatch(
  config: FunctionConfig,
  artifact: LambdaArtifact,
  remote: RemotePlatform,
): Described<'config', 'runtime-mismatch' | 'architecture-mismatch'> | undefined {
  const fn = `[function.${config.name}]`;
  const bundle = `[${artifact.table}]`;
  const wanted = bundleRuntime(artifact).runtime;
  const problems: string[] = [];
  const fixes: string[] = [];
  const sources: string[] = [];
  if (config.runtime === undefined && remote.Runtime !== wanted) {
    problems.push(
      `runs ${remote.Runtime ?? 'no runtime'}, but ${bundle} python ${artifact.python} builds the zip for ${wanted}`,
    );
    fixes.push(`runtime = "${wanted}" in ${fn}`);
    sources.push(artifactSource(artifact, 'python'));
  }
  // Lambda reports no Architectures for functions created before arm64 existed: those are x86_64.
  const actual = (remote.Architectures?.[0] ?? 'x86_64') as LambdaArchitecture;
  if (config.architecture === undefined && actual !== artifact.architecture) {
    problems.push(
      `runs on ${actual}, but the wheels in the zip of ${bundle} are for ${artifact.architecture}`,
    );
    fixes.push(`architecture = "${artifact.architecture}" in ${fn}`);
    sources.push(artifactSource(artifact, 'architecture'));
  }
  if (problems.length === 0) return undefined;
  return {
    reason: fixes.some((f) => f.startsWith('runtime'))
      ? 'runtime-mismatch'
      : 'architecture-mismatch',
    kind: 'config',
    message: `Lambda function ${config.functionName} ${problems.join('; it ')}`,
    hint: `set ${fixes.join(' and ')} to switch the function with this deploy, or change ${bundle} to match the function (${sources.join('; ')}); nothing was changed`,
  };
}

/** Throws when `remoteMismatch` finds one. */
export function refuseRemoteMismatch(
  config: FunctionConfig,
  artifact: LambdaArtifact | undefined,
  remote: RemotePlatform,
): void {
  if (artifact === undefined) return;
  const failure = remoteMismatch(config, artifact, remote);
  if (failure) throw new LbuildError(failure);
}

/**
 * The runtime a deploy gives the function: the configured one, else the bundle's (for a
 * function it creates; an existing one must already run it, see {@link remoteMismatch}).
 */
export function effectiveRuntime(
  config: FunctionConfig,
  artifact: LambdaArtifact | undefined,
): PythonRuntime | undefined {
  if (config.runtime !== undefined) return pythonRuntime(config.runtime);
  return artifact ? bundleRuntime(artifact) : undefined;
}

/**
 * Refuses a runtime past the date AWS blocks what this deploy would do (`create` or
 * `update`); returns the deprecation warning to show otherwise, if any.
 */
export function runtimeLifecycle(
  config: FunctionConfig,
  runtime: PythonRuntime | undefined,
  action: 'create' | 'update',
  today: Date,
): string | undefined {
  if (runtime === undefined) return undefined;
  const stage = lifecycleStage(runtime, today);
  const blocked = stage === 'update-blocked' || (action === 'create' && stage === 'create-blocked');
  if (blocked) {
    const since = stage === 'update-blocked' ? runtime.blockUpdate : runtime.blockCreate;
    throw configError(
      'runtime-blocked',
      `Lambda refuses to ${action} functions that use ${runtime.runtime} since ${since} (the runtime is deprecated)`,
      {
        hint: `move [function.${config.name}] and its bundle to a supported runtime, e.g. runtime = "${NEWEST_PYTHON_RUNTIME.runtime}" and python = "${NEWEST_PYTHON_RUNTIME.python}"`,
      },
    );
  }
  return deprecationNotice(runtime, today);
}
