import type { LbuildError } from '@lbuild/core';
import {
  describeTagMisfit,
  misfitHint,
  pipError,
  pipFailureOf,
  tagMisfit,
  type Misfit,
} from './pip-errors.js';
import type { RuntimePlatform, WheelhouseStrategy } from './platform.js';
import { normalizeProjectName, parseWheelName, requirementProject } from './wheel-name.js';

/** pip's `-vv` line for a file of the project it passed over, with the file's URL last. */
const SKIPPED =
  /^Skipping link: (?:none of the wheel's tags|No sources permitted|No binaries permitted).*?: (\S+?)(?: \(from \S+\))?$/;
const SDIST = /^(.+)-([^-]+)\.(tar\.gz|tgz|zip|tar\.bz2|tar\.xz)$/;

/** The file names pip saw for `project` on the indexes and passed over, from `-vv` output. */
export function skippedFiles(lines: readonly string[], project: string): string[] {
  const files = new Set<string>();
  for (const line of lines) {
    const url = SKIPPED.exec(line.trim())?.[1];
    if (url === undefined) continue;
    const name = decodeURIComponent(
      url
        .replace(/[#?].*$/, '')
        .split('/')
        .at(-1) ?? '',
    );
    const owner = parseWheelName(name)?.project ?? SDIST.exec(name)?.[1];
    if (owner !== undefined && normalizeProjectName(owner) === project) files.add(name);
  }
  return [...files].sort();
}

export interface MissingWheelContext {
  platform: RuntimePlatform;
  strategy: WheelhouseStrategy;
  /** Runs pip for `requirement` alone, for the runtime, with `-vv`; its output lines. */
  probe: (requirement: string) => Promise<readonly string[]>;
}

/**
 * An index answered, but pip found "no distribution" for a requirement: pip says nothing about
 * the files it passed over unless asked with `-vv`, so it is asked once more, for that
 * requirement alone. When the index has files of it that do not suit the runtime, the error
 * becomes `no-suitable-wheel` and names them with what they were built for ("only cp311 wheels
 * exist"); otherwise the error stays as it was.
 */
export async function explainMissingWheel(
  error: LbuildError,
  ctx: MissingWheelContext,
): Promise<LbuildError> {
  const failure = pipFailureOf(error);
  const requirement = failure?.requirement;
  if (failure?.reason !== 'requirement-not-found' || requirement === undefined) return error;
  const project = requirementProject(requirement);
  if (project === undefined) return error;
  let lines: readonly string[];
  try {
    lines = await ctx.probe(requirement);
  } catch {
    return error;
  }
  const pinned = /^[^=<>!~;]*===?\s*([^\s,;]+)\s*$/.exec(requirement.split(';')[0] ?? '')?.[1];
  const files = skippedFiles(lines, project).filter((file) => {
    const version = parseWheelName(file)?.version ?? SDIST.exec(file)?.[2];
    return pinned === undefined || version === pinned;
  });
  if (files.length === 0) return error;
  const misfits = new Set<Misfit>();
  const found = files.map((file) => {
    const wheel = parseWheelName(file);
    if (wheel === undefined) {
      misfits.add('sdist');
      return `${file}: ${describeTagMisfit('sdist', '')}`;
    }
    const misfit =
      wheel.tags
        .map((tag) => tagMisfit(tag, ctx.platform, ctx.strategy === 'pip-wheel'))
        .find((m) => m !== undefined) ?? 'python';
    misfits.add(misfit);
    return `${file}: ${describeTagMisfit(misfit, wheel.tag)}`;
  });
  return pipError(
    {
      ...failure,
      reason: 'no-suitable-wheel',
      found: files,
      message: `No wheel of ${requirement} suits the Lambda runtime ${ctx.platform.runtime} ${ctx.platform.architecture}; only these exist: ${found.join('; ')}.`,
      hint: misfitHint(misfits, ctx.platform, requirement),
    },
    error,
  );
}
