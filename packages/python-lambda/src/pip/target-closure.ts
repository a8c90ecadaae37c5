import { readdir, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { LbuildError, buildError, configError, describedFailure } from '@lbuild/core';
import type { Closure, Demand } from './dependency-closure.js';
import { walkClosure } from './dependency-closure.js';
import type { DependencySpecifier } from './dependency-specifier.js';
import {
  RequirementSyntaxError,
  formatDependency,
  parseDependencySpecifier,
} from './dependency-specifier.js';
import {
  MarkerEvaluationError,
  MarkerSyntaxError,
  evaluateMarker,
  parseMarker,
} from './markers.js';
import type { MarkerEnvironment } from './markers.js';
import type { LocalWheel } from './pip-requirements.js';
import type { RuntimePlatform } from './platform.js';
import type { RequirementLine, Requirements } from './requirements.js';
import { expandEnv } from './requirements.js';
import { lambdaMarkerEnvironment } from './target-environment.js';
import type { WheelMetadata } from './wheel-metadata.js';
import { readWheelMetadata } from './wheel-metadata.js';
import { normalizeProjectName, parseWheelName } from './wheel-name.js';

/** The requirements files' requirement lines as demands: roots and constraints. */
export interface RequirementDemands {
  roots: Demand[];
  constraints: Demand[];
}

function where(requirements: Requirements, line: RequirementLine): string {
  return `${relative(requirements.cwd, line.file) || line.file} line ${line.line}`;
}

function lineError(requirements: Requirements, line: RequirementLine, problem: string) {
  return configError('requirements-syntax', `${where(requirements, line)}: ${problem}`, {
    location: { file: line.file, line: line.line },
    hint: 'Requirements are PEP 508 dependency specifiers: name[extras] <versions> ; <marker>, or name @ URL ; <marker>.',
  });
}

/** A URL requirement without `name @`: the name from `#egg=` or from a wheel file name. */
function namedUrl(text: string): DependencySpecifier | undefined {
  const [url = '', markerText] = text.trim().split(/\s+;\s*/, 2);
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(url) && !/^(git|hg|svn|bzr)\+/i.test(url)) return undefined;
  const egg = /[#&]egg=([A-Za-z0-9][A-Za-z0-9._-]*)/.exec(url)?.[1];
  const file = decodeURIComponent(url.split(/[?#]/, 1)[0]?.split('/').pop() ?? '');
  const name = egg ?? parseWheelName(file)?.distribution;
  if (name === undefined) return undefined;
  return {
    name,
    project: normalizeProjectName(name),
    extras: [],
    specifiers: [],
    url,
    ...(markerText === undefined ? {} : { marker: parseMarker(markerText) }),
  };
}

/**
 * Reads every requirement line as a dependency specifier. Local path requirements take the
 * name of their built wheel. A line that names no project (a bare URL without `#egg=` or a wheel
 * file name) is a config error: what it pulls in could not be checked for the runtime.
 */
export function requirementDemands(
  requirements: Requirements,
  localWheels: ReadonlyMap<string, LocalWheel>,
  env: Readonly<Record<string, string | undefined>>,
): RequirementDemands {
  const roots: Demand[] = [];
  const constraints: Demand[] = [];
  for (const line of requirements.lines) {
    if (line.requirement === undefined) continue;
    let spec: DependencySpecifier | undefined;
    try {
      if (line.local !== undefined) {
        const wheel = localWheels.get(line.local.path);
        if (wheel === undefined) continue;
        const marker = line.local.marker;
        spec = {
          name: wheel.name,
          project: normalizeProjectName(wheel.name),
          extras: [...new Set(line.local.extras.map(normalizeProjectName))].sort(),
          specifiers: [],
          ...(marker === undefined ? {} : { marker: parseMarker(marker) }),
        };
      } else {
        const text = expandEnv(line.requirement, env);
        try {
          spec = parseDependencySpecifier(text);
        } catch (error) {
          if (!(error instanceof RequirementSyntaxError)) throw error;
          spec = namedUrl(text);
          if (spec === undefined) {
            if (/^[a-z][a-z0-9+.-]*:\/\/|^(git|hg|svn|bzr)\+/i.test(text.trim())) {
              throw configError(
                'requirement-without-name',
                `${where(requirements, line)}: ${line.requirement} names no project, so lbuild cannot check its dependencies for the Lambda runtime.`,
                {
                  location: { file: line.file, line: line.line },
                  hint: 'Write it as NAME @ URL (PEP 508), e.g. mypkg @ git+https://example.com/mypkg.git',
                },
              );
            }
            throw lineError(requirements, line, error.message);
          }
        }
      }
    } catch (error) {
      if (error instanceof MarkerSyntaxError) throw lineError(requirements, line, error.message);
      throw error;
    }
    (line.constraint ? constraints : roots).push({ spec, by: where(requirements, line) });
  }
  return { roots, constraints };
}

/** Whether a top-level line applies on the runtime (its marker holds there). */
export function appliesTo(demand: Demand, environment: MarkerEnvironment): boolean {
  if (demand.spec.marker === undefined) return true;
  try {
    return evaluateMarker(demand.spec.marker, environment);
  } catch (error) {
    if (error instanceof MarkerEvaluationError)
      throw configError('requirements-syntax', `${demand.by}: ${error.message}`);
    throw error;
  }
}

export interface TargetResolveArgs {
  requirements: Requirements;
  localWheels: ReadonlyMap<string, LocalWheel>;
  platform: RuntimePlatform;
  /** For `${VAR}` in requirement lines. */
  env: Readonly<Record<string, string | undefined>>;
  /** pip's copy of the top-level requirements file (see writePipRequirements). */
  reqFile: string;
  /** A scratch directory for the rounds' requirement files and output directories. */
  work: string;
  /** Runs pip on a requirements file, filling `out` with the wheels it resolved; throws its failure. */
  resolve: (reqFile: string, out: string, round: number) => Promise<void>;
  signal?: AbortSignal | undefined;
}

export interface TargetResolution {
  /** The directory of the last pip round: holds `needed` (and `dropped`). */
  dir: string;
  /** The wheels the runtime needs. */
  needed: WheelMetadata[];
  /** Wheels pip chose that the runtime does not need (markers that hold only on the build machine). */
  dropped: WheelMetadata[];
  /** Requirements the runtime needs that pip had to be given explicitly (with who needs them). */
  added: string[];
}

/** Rounds of pip before lbuild gives up adding what the runtime needs (each adds at least one line). */
const MAX_ROUNDS = 20;

function describeDemand(d: Demand): string {
  return `${formatDependency(d.spec, false)} (required by ${d.by})`;
}

/**
 * Resolves the requirements for the Lambda runtime and checks the result: pip resolves (its own
 * marker evaluation is pointed at the runtime where pip allows it, see runPip), then the
 * `Requires-Dist` metadata of what it chose is walked from the top-level requirements with every
 * marker evaluated for the runtime ({@link lambdaMarkerEnvironment}). That walk is the check of
 * record: a wheel it does not reach is dropped; a dependency it needs that pip did not provide
 * (or at a version that does not satisfy every requirer) is given to pip as a top-level
 * requirement, without its marker, and pip resolves again, until nothing is missing. A
 * requirement pip cannot satisfy fails naming who needs it.
 */
export async function resolveForTarget(args: TargetResolveArgs): Promise<TargetResolution> {
  const environment = lambdaMarkerEnvironment(args.platform);
  const { roots, constraints } = requirementDemands(args.requirements, args.localWheels, args.env);
  for (const demand of [...roots, ...constraints]) appliesTo(demand, environment);
  const added = new Map<string, Demand[]>();
  const target = `${args.platform.runtime} ${args.platform.architecture}`;
  for (let round = 1; ; round++) {
    args.signal?.throwIfAborted();
    let reqFile = args.reqFile;
    if (added.size > 0) {
      reqFile = join(args.work, `requirements-target-${round}.txt`);
      const lines = [
        '# lbuild: what the Lambda runtime needs on top of the requirements (markers judged for it)',
        `-r ${args.reqFile}`,
        ...added.keys(),
      ];
      await writeFile(reqFile, `${lines.join('\n')}\n`);
    }
    const out = join(args.work, `resolved-${round}`);
    try {
      await args.resolve(reqFile, out, round);
    } catch (error) {
      const failure = error instanceof LbuildError ? describedFailure(error.failure) : undefined;
      if (failure === undefined || added.size === 0) throw error;
      const needs = [...added.values()].flat().map(describeDemand).join('; ');
      throw new LbuildError(
        {
          ...failure,
          message: `${target} needs ${needs}, which pip skipped on this machine (its marker is false here); given explicitly, pip failed: ${failure.message}`,
        },
        { cause: error },
      );
    }
    const files = (await readdir(out).catch(() => [] as string[])).filter((f) =>
      f.endsWith('.whl'),
    );
    const wheels = await Promise.all(files.sort().map((f) => readWheelMetadata(join(out, f))));
    const closure: Closure = walkClosure({ roots, constraints, wheels, environment });
    const problems = [...closure.missing, ...closure.unsatisfied];
    if (problems.length === 0) {
      return {
        dir: out,
        needed: closure.needed,
        dropped: closure.unused,
        added: [...added].map(([line, by]) => `${line} (for ${by.map((d) => d.by).join(', ')})`),
      };
    }
    const fresh = problems.filter((d) => !added.has(formatDependency(d.spec, false)));
    if (fresh.length === 0 || round >= MAX_ROUNDS) {
      const found = (d: Demand) => {
        const wheel = wheels.find((w) => w.project === d.spec.project);
        return wheel === undefined ? 'not provided' : `got ${wheel.name} ${wheel.version}`;
      };
      throw buildError(
        'target-dependency-unsatisfied',
        `${target} needs ${problems.map((d) => `${describeDemand(d)}: ${found(d)}`).join('; ')}.`,
        {
          hint: `Markers are evaluated for ${target}, not this machine. Pin a version that satisfies every requirer in ${args.requirements.file}, or make the wheels available in the package sources.`,
        },
      );
    }
    for (const d of fresh) {
      const line = formatDependency(d.spec, false);
      added.set(line, [...(added.get(line) ?? []), d]);
    }
  }
}
