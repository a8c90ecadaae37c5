import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { cp, mkdir, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { temporarySibling } from '@lbuild/core';
import type { ProcessRunner } from '@lbuild/core';
import type { IndexOptions } from './index-options.js';
import { diagnosePipFailure, pipError, pipFailureOf } from './pip-errors.js';
import type { LocalWheel, PipRequirementsOptions } from './pip-requirements.js';
import { sourceOptionValue } from './pip-requirements.js';
import { PIP_PROGRESS_ARGS, PIP_QUIET_ARGS, runPip } from './pip-run.js';
import type { RuntimePlatform, WheelhouseStrategy } from './platform.js';
import type { BuildPython } from './python.js';
import type { LocalRequirement, Requirements } from './requirements.js';
import { describeLocal, shellQuote } from './requirements.js';
import { isPureWheel, parseWheelName } from './wheel-name.js';
import { SKIP_ANY, SKIP_TOP } from './copy-rule.js';

/** The wheelhouse subdirectory holding built local projects: `local/<hash of the path>/<wheel>`. */
export const LOCAL_WHEELS_DIR = 'local';

export { isCopiedFromLocalProject } from './copy-rule.js';

export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Where the built wheel of a local project lives in a wheelhouse (per-platform) directory. */
export function localWheelDir(wheelhouse: string, local: LocalRequirement): string {
  const key = createHash('sha256').update(local.path).digest('hex').slice(0, 16);
  return join(wheelhouse, LOCAL_WHEELS_DIR, key);
}

function isWheelFile(local: LocalRequirement): boolean {
  return local.type === 'archive' && local.path.toLowerCase().endsWith('.whl');
}

async function wheelFor(source: string, wheel: string): Promise<LocalWheel> {
  const parsed = parseWheelName(basename(wheel));
  return {
    source,
    wheel,
    name: parsed?.distribution ?? basename(wheel),
    sha256: await sha256File(wheel),
  };
}

/** Replaces a directory by a freshly filled one: fill a sibling, then swap with two renames. */
export async function replaceDirectory(
  target: string,
  fill: (tmp: string) => Promise<void>,
): Promise<void> {
  const tmp = temporarySibling(target);
  await mkdir(tmp, { recursive: true });
  try {
    await fill(tmp);
    const old = temporarySibling(target);
    let hadOld = true;
    try {
      await rename(target, old);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      hadOld = false;
    }
    await rename(tmp, target);
    if (hadOld) await rm(old, { recursive: true, force: true });
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

/**
 * The wheels of the local path requirements as the last {@link buildLocalProjects} left them
 * (wheel files given directly are used in place). A project not built yet is `wheelhouse-incomplete`.
 */
export async function findLocalWheels(
  requirements: Requirements,
  wheelhouse: string,
): Promise<Map<string, LocalWheel>> {
  const found = new Map<string, LocalWheel>();
  for (const local of requirements.localPaths) {
    if (isWheelFile(local)) {
      found.set(local.path, await wheelFor(local.path, local.path));
      continue;
    }
    const dir = localWheelDir(wheelhouse, local);
    const wheels = (await readdir(dir).catch(() => [] as string[])).filter((f) =>
      f.endsWith('.whl'),
    );
    const wheel = wheels[0];
    if (wheels.length !== 1 || wheel === undefined) {
      throw pipError({
        reason: 'wheelhouse-incomplete',
        kind: 'build',
        message: `The wheelhouse has no built wheel for the local project ${describeLocal(local)}.`,
        hint: 'Fill the wheelhouse first (it may have been cleaned).',
      });
    }
    found.set(local.path, await wheelFor(local.path, join(dir, wheel)));
  }
  return found;
}

export interface BuildLocalArgs {
  python: BuildPython;
  requirements: Requirements;
  platform: RuntimePlatform;
  strategy: WheelhouseStrategy;
  mismatches: readonly string[];
  index: IndexOptions;
  /** The per-platform wheelhouse directory. */
  wheelhouse: string;
  /** A scratch directory, removed by the caller. */
  work: string;
  cwd: string;
  /** pip's environment, with the sources' variables (see `pipSourceOptions`). */
  env: Readonly<Record<string, string>>;
  /** The sources' command-line options (see `pipSourceOptions`). */
  sourceArgs: readonly string[];
  /** Takes the logins out of the requirements files' index URLs. */
  credentials?: PipRequirementsOptions['credentials'];
  noBuildIsolation: boolean;
  signal?: AbortSignal | undefined;
  onOutput?: ((line: string) => void) | undefined;
  runner?: ProcessRunner | undefined;
}

/** Index options of the requirements files, for the build of a local project's own build requirements. */
function sourceOptionLines(
  requirements: Requirements,
  credentials: PipRequirementsOptions['credentials'],
): string[] {
  const names = new Set([
    '--index-url',
    '--extra-index-url',
    '--find-links',
    '--no-index',
    '--trusted-host',
  ]);
  const lines: string[] = [];
  for (const line of requirements.lines) {
    for (const option of line.options) {
      if (!names.has(option.name)) continue;
      const value =
        option.name === '--find-links' && option.path !== undefined
          ? option.path
          : sourceOptionValue(option, credentials);
      lines.push(value === undefined ? option.name : `${option.name}=${shellQuote(value)}`);
    }
  }
  return lines;
}

/**
 * Builds each local path requirement into a wheel with `pip wheel --no-deps` (dependencies are
 * resolved later with everything else) and stores it under `local/<hash>/` in the wheelhouse,
 * replacing the previous build. The project is copied to a scratch directory first: pip builds
 * in place, and setuptools would leave `build/` and `*.egg-info` in the user's tree (changing the
 * inputs lbuild fingerprints, and letting stale files into the next wheel). When the build
 * machine does not match the runtime, the wheel must be pure Python (`local-project-not-pure`).
 */
export async function buildLocalProjects(args: BuildLocalArgs): Promise<Map<string, LocalWheel>> {
  const built = new Map<string, LocalWheel>();
  let n = 0;
  for (const local of args.requirements.localPaths) {
    if (isWheelFile(local)) {
      built.set(local.path, await wheelFor(local.path, local.path));
      continue;
    }
    n++;
    let source = local.path;
    if (local.type === 'directory') {
      source = join(args.work, `src-${n}`, basename(local.path));
      await cp(local.path, source, {
        recursive: true,
        filter: (from) => {
          const rel = from
            .slice(local.path.length + 1)
            .split('\\')
            .join('/');
          if (rel === '') return true;
          if (!rel.includes('/') && SKIP_TOP.has(rel)) return false;
          return !SKIP_ANY.test(rel);
        },
      });
    }
    const out = join(args.work, `built-${n}`);
    const reqFile = join(args.work, `build-${n}.txt`);
    await writeFile(
      reqFile,
      [
        ...sourceOptionLines(args.requirements, args.credentials),
        pathToFileURL(source).href,
        '',
      ].join('\n'),
    );
    const result = await runPip({
      python: args.python,
      args: [
        'wheel',
        '--no-deps',
        '-w',
        out,
        ...(args.noBuildIsolation ? ['--no-build-isolation'] : []),
        '--find-links',
        args.wheelhouse,
        ...args.sourceArgs,
        ...PIP_QUIET_ARGS,
        ...PIP_PROGRESS_ARGS,
        '-r',
        reqFile,
      ],
      cwd: args.cwd,
      env: args.env,
      signal: args.signal,
      runner: args.runner,
      onOutput: args.onOutput,
    });
    if (result.exitCode !== 0) {
      const cause = await diagnosePipFailure(result.lines, {
        platform: args.platform,
        strategy: args.strategy,
        searchDirs: [args.wheelhouse],
        usedIndex: !args.index.noIndex,
        step: 'wheelhouse',
        requirementsFile: args.requirements.file,
        exitCode: result.exitCode,
      });
      throw pipError(
        {
          reason: 'local-project-build-failed',
          kind: 'build',
          message: `Building the local project ${describeLocal(local)} failed: ${pipFailureOf(cause)?.message ?? cause.message}`,
          hint: args.noBuildIsolation
            ? 'See the pip output above. With no-build-isolation the build uses what the build Python has installed.'
            : 'See the pip output above. pip builds in an isolated environment: its build requirements (e.g. setuptools, wheel) must come from find-links or the index, or set no-build-isolation = true to use those installed in the build Python.',
        },
        cause,
      );
    }
    const wheels = (await readdir(out)).filter((f) => f.endsWith('.whl'));
    const wheelName = wheels[0];
    if (wheels.length !== 1 || wheelName === undefined) {
      throw pipError({
        reason: 'local-project-build-failed',
        kind: 'build',
        message: `Building the local project ${describeLocal(local)} gave ${wheels.length} wheels instead of one.`,
      });
    }
    const parsed = parseWheelName(wheelName);
    if (args.strategy === 'pip-download' && (parsed === undefined || !isPureWheel(parsed))) {
      throw pipError({
        reason: 'local-project-not-pure',
        kind: 'build',
        message:
          `The local project ${describeLocal(local)} is not pure Python: it built ${wheelName}, which would only run on the build machine. ` +
          `lbuild builds local projects for ${args.platform.runtime} ${args.platform.architecture} only when they are pure Python, because ${args.mismatches.join('; ')}.`,
        hint: `Build its wheel on a machine that matches the runtime (e.g. the public.ecr.aws/lambda/python:${args.platform.pythonVersion} image), put it in a find-links folder and require it by name; or run lbuild on such a machine.`,
      });
    }
    const target = localWheelDir(args.wheelhouse, local);
    await mkdir(join(args.wheelhouse, LOCAL_WHEELS_DIR), { recursive: true });
    await replaceDirectory(target, async (tmp) => {
      await rename(join(out, wheelName), join(tmp, wheelName));
    });
    built.set(local.path, await wheelFor(local.path, join(target, wheelName)));
  }
  return built;
}
