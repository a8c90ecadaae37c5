import { mkdir, rename, rm } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { temporaryName } from '@lbuild/core';
import type { ProcessRunner } from '@lbuild/core';
import type { IndexOptions } from './index-options.js';
import { PipCredentials } from './credentials.js';
import { DEFAULT_INDEX_URL, localFindLinksDir, pipSourceOptions } from './index-options.js';
import { buildLocalProjects } from './local-projects.js';
import { checkPip, diagnosePipFailure } from './pip-errors.js';
import { explainMissingWheel } from './missing-wheel.js';
import { PipOutputWatcher, type PipProgress } from './pip-progress.js';
import { takeRequirementsCredentials, writePipRequirements } from './pip-requirements.js';
import type { LocalWheel } from './pip-requirements.js';
import {
  MARKER_BOOTSTRAP_FAILED,
  PIP_PROGRESS_ARGS,
  PIP_QUIET_ARGS,
  pipEnvironment,
  runPip,
} from './pip-run.js';
import { chooseStrategy, platformPipArgs } from './platform.js';
import type { RuntimePlatform, StrategyChoice, WheelhouseStrategy } from './platform.js';
import type { BuildPython } from './python.js';
import { MINIMUM_PIP, freeThreadedProblem } from './python.js';
import { readRequirements } from './requirements.js';
import type { Requirements } from './requirements.js';
import { resolveForTarget } from './target-closure.js';
import { lambdaMarkerEnvironment } from './target-environment.js';

/** What lbuild applies of pip's own configuration (see resolvePackageSources). */
export interface PipConfigApplied {
  /** Network settings for pip's environment (cert, proxy, …). */
  env: Readonly<Record<string, string>>;
  constraints: readonly string[];
  /** The PIP_* variables applied. */
  applied: readonly string[];
  /** Config-file settings not applied (they would change how pip picks packages). */
  ignored: readonly string[];
}

export interface FillWheelhouseArgs {
  python: BuildPython;
  /** Parsed requirements, or the path of the requirements file (relative paths in it against `cwd`). */
  requirements: Requirements | string;
  platform: RuntimePlatform;
  /** The bundle's package sources (lbuild.toml); find-links relative to `cwd`. */
  index: IndexOptions;
  /** The wheelhouse root shared by all bundles; wheels go to `<root>/<platform.key>/`. */
  wheelhouseDir: string;
  /** The project root: pip runs here. */
  cwd: string;
  /**
   * Build local projects (and, with `pip-wheel`, sdists) with the build Python's installed
   * setuptools/wheel instead of an isolated build environment (config `no-build-isolation`,
   * default false).
   */
  noBuildIsolation?: boolean | undefined;
  /** Override the choice made by {@link chooseStrategy}. */
  strategy?: WheelhouseStrategy | undefined;
  signal?: AbortSignal | undefined;
  /** pip's output, line by line, credentials masked. */
  onOutput?: ((line: string) => void) | undefined;
  /** What pip works on, and how far it got, as its output says (for a cold wheelhouse). */
  onProgress?: ((progress: PipProgress) => void) | undefined;
  /** Things the user should know, e.g. PIP_* variables that were ignored, or an index retried. */
  onWarning?: ((message: string) => void) | undefined;
  /**
   * What lbuild applies of pip's own configuration (see resolvePackageSources; `index` already
   * holds the effective sources): network settings for pip's environment, constraint files, the
   * PIP_* variables it applied, and config-file settings it did not. Without it, pip's
   * configuration is ignored (`pip-config = "ignore"`).
   */
  pipConfig?: PipConfigApplied | undefined;
  /** The environment pip starts from (default `process.env`); see `pipEnvironment`. */
  env?: Readonly<Record<string, string | undefined>> | undefined;
  runner?: ProcessRunner | undefined;
}

export interface FillWheelhouseResult {
  /** The per-platform wheelhouse directory that was filled. */
  dir: string;
  strategy: WheelhouseStrategy;
  /** Why the build machine does not match the runtime (empty for `pip-wheel` by choice). */
  mismatches: string[];
  /** The wheels the requirements resolved to in this run (in `dir`, and built local projects), sorted. */
  wheels: string[];
  /** The built local projects the runtime needs (a local line whose marker is false for it is not). */
  localWheels: LocalWheel[];
  /** Wheels pip chose that the runtime does not need: their markers hold only on the build machine. */
  dropped: string[];
  /** Requirements the runtime needs that pip had to be given explicitly, with who needs them. */
  added: string[];
}

/** The per-platform directory of a wheelhouse root: one tag set per directory. */
export function wheelhousePath(wheelhouseDir: string, platform: RuntimePlatform): string {
  return join(wheelhouseDir, platform.key);
}

export function resolveStrategy(
  python: BuildPython,
  platform: RuntimePlatform,
  forced: WheelhouseStrategy | undefined,
): StrategyChoice {
  const choice = chooseStrategy(python, platform);
  return forced === undefined ? choice : { strategy: forced, mismatches: choice.mismatches };
}

/**
 * A scratch directory inside a wheelhouse, `.tmp-scratch.…` (pip's find-links skips it). A
 * killed run's are removed by the next run that makes one (see temporaryName).
 */
export async function makeScratch(wheelhouse: string): Promise<string> {
  const dir = temporaryName(wheelhouse, 'tmp-scratch');
  // Private: pip's netrc of index logins lives here while pip runs.
  await mkdir(dir, { mode: 0o700 });
  return dir;
}

/** Sorts paths by their bytes (code units), independent of locale. */
export function sortPaths(paths: string[]): string[] {
  return paths.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/** The local directories pip searches, for diagnosing a missing requirement. */
export function localSearchDirs(
  wheelhouse: string,
  index: IndexOptions,
  requirements: Requirements,
  cwd: string,
): string[] {
  const dirs = [wheelhouse];
  for (const entry of index.findLinks) {
    const dir = localFindLinksDir(entry, cwd);
    if (dir !== undefined) dirs.push(dir);
  }
  for (const entry of requirements.index.findLinks) {
    const dir = localFindLinksDir(entry, cwd);
    if (dir !== undefined) dirs.push(dir);
  }
  return [...new Set(dirs)];
}

/** The index URLs pip gets, credentials included (for diagnosis only, never shown). */
function indexUrlsOf(index: IndexOptions, requirements: Requirements): string[] {
  if (index.noIndex || requirements.index.noIndex) return [];
  return [
    requirements.index.indexUrl ?? index.indexUrl ?? DEFAULT_INDEX_URL,
    ...index.extraIndexUrls,
    ...requirements.index.extraIndexUrls,
  ];
}

/**
 * Fills the persistent wheelhouse with wheels for every requirement, suited to the Lambda
 * runtime:
 * 1. local path requirements are built into wheels (see `buildLocalProjects`);
 * 2. `pip-download` (build machine differs from the runtime): `pip download --only-binary=:all:
 *    --platform … --python-version … --implementation cp --abi …`; `pip-wheel` (it matches):
 *    `pip wheel`, which also builds sdists;
 * 3. environment markers are judged for the runtime, not this machine: pip evaluates them for
 *    it where it can, and the wheels' `Requires-Dist` are walked to drop what the runtime does
 *    not need and add what it does (see `resolveForTarget`).
 * pip always gets `--find-links <wheelhouse>` first, so wheels already there are reused without
 * network. pip writes into a scratch directory inside the wheelhouse; only when it succeeds are
 * the files renamed into place, so an abort or failure never leaves a truncated wheel in the
 * cache.
 */
export async function fillWheelhouse(args: FillWheelhouseArgs): Promise<FillWheelhouseResult> {
  const pythonProblem = freeThreadedProblem(args.python) ?? checkPip(args.python.pip, MINIMUM_PIP);
  if (pythonProblem !== undefined) throw pythonProblem;
  const { env: baseEnv, ignored } = pipEnvironment(args.env ?? process.env, {
    applied: args.pipConfig?.applied,
  });
  const watcher = new PipOutputWatcher(args.onProgress, args.onWarning);
  const onOutput = (line: string) => {
    args.onOutput?.(line);
    watcher.line(line);
  };
  const requirements =
    typeof args.requirements === 'string'
      ? await readRequirements(args.requirements, { cwd: args.cwd, env: args.env })
      : args.requirements;
  if (ignored.length > 0) {
    args.onWarning?.(
      args.pipConfig === undefined
        ? `Ignoring ${ignored.join(', ')} from the environment, and pip config files: package sources come from lbuild.toml and the requirements files only.`
        : `Ignoring ${ignored.join(', ')} from the environment: lbuild applies pip's package sources (index-url, extra-index-url, find-links, no-index, constraint) and network settings, not options that change how pip picks packages.`,
    );
  }
  if (args.pipConfig !== undefined && args.pipConfig.ignored.length > 0) {
    args.onWarning?.(
      `Ignoring ${args.pipConfig.ignored.join(', ')} of pip's configuration: lbuild applies pip's package sources and network settings, not options that change how pip picks packages.`,
    );
  }
  const { strategy, mismatches } = resolveStrategy(args.python, args.platform, args.strategy);
  const dir = wheelhousePath(args.wheelhouseDir, args.platform);
  await mkdir(dir, { recursive: true });
  const work = await makeScratch(dir);
  try {
    // Logins of index URLs reach pip through a private file in the scratch directory (0700),
    // removed with it, also on abort; a killed run's is swept by the next (sweepScratch).
    const logins = new PipCredentials();
    const sources = pipSourceOptions(args.index, args.cwd, logins);
    const credentials = { take: logins.take.bind(logins), env: args.env ?? process.env };
    takeRequirementsCredentials(requirements, credentials);
    const env = {
      ...baseEnv,
      ...args.pipConfig?.env,
      ...sources.env,
      ...(await logins.write(work, {
        pythonVersion: args.python.pythonVersion,
        env: args.env ?? process.env,
      })),
    };
    const localWheels = await buildLocalProjects({
      python: args.python,
      requirements,
      platform: args.platform,
      strategy,
      mismatches,
      index: args.index,
      wheelhouse: dir,
      work,
      cwd: args.cwd,
      env,
      sourceArgs: sources.args,
      credentials,
      noBuildIsolation: args.noBuildIsolation ?? false,
      signal: args.signal,
      onOutput,
      runner: args.runner,
    });
    const reqFile = await writePipRequirements(requirements, work, {
      localWheels,
      mode: 'sources',
      credentials,
    });
    const sourceArgs = [
      '--find-links',
      dir,
      ...sources.args,
      ...(args.pipConfig?.constraints ?? []).flatMap((file) => ['--constraint', file]),
    ];
    const markerOverride = { failed: false };
    const resolution = await resolveForTarget({
      requirements,
      localWheels,
      platform: args.platform,
      env: args.env ?? process.env,
      reqFile,
      work,
      signal: args.signal,
      resolve: async (file, out) => {
        const command =
          strategy === 'pip-download'
            ? ['download', '--only-binary=:all:', ...platformPipArgs(args.platform), '-d', out]
            : [
                'wheel',
                '-w',
                out,
                ...(args.noBuildIsolation === true ? ['--no-build-isolation'] : []),
              ];
        const result = await runPip({
          python: args.python,
          args: [...command, ...sourceArgs, ...PIP_QUIET_ARGS, ...PIP_PROGRESS_ARGS, '-r', file],
          cwd: args.cwd,
          env,
          markerEnvironment: lambdaMarkerEnvironment(args.platform),
          signal: args.signal,
          runner: args.runner,
          onOutput,
        });
        if (result.lines.some((line) => line.startsWith(MARKER_BOOTSTRAP_FAILED)))
          markerOverride.failed = true;
        if (result.exitCode !== 0) {
          const usedIndex = !args.index.noIndex && !requirements.index.noIndex;
          const error = await diagnosePipFailure(result.lines, {
            platform: args.platform,
            strategy,
            searchDirs: localSearchDirs(dir, args.index, requirements, args.cwd),
            usedIndex,
            step: 'wheelhouse',
            requirementsFile: requirements.file,
            exitCode: result.exitCode,
            indexUrls: indexUrlsOf(args.index, requirements),
          });
          // Files on an index that pip passed over are named only in its -vv output.
          if (!usedIndex) throw error;
          throw await explainMissingWheel(error, {
            platform: args.platform,
            strategy,
            probe: async (requirement) => {
              const probe = await runPip({
                python: args.python,
                args: [
                  'download',
                  '--no-deps',
                  '--only-binary=:all:',
                  ...platformPipArgs(args.platform),
                  '-d',
                  join(work, 'probe'),
                  '-vv',
                  ...sourceArgs,
                  ...PIP_QUIET_ARGS,
                  ...PIP_PROGRESS_ARGS,
                  requirement,
                ],
                cwd: args.cwd,
                env,
                signal: args.signal,
                runner: args.runner,
              });
              return probe.lines;
            },
          });
        }
      },
    });
    if (markerOverride.failed) {
      args.onWarning?.(
        `pip ${args.python.pip?.version ?? ''} cannot evaluate environment markers for ${args.platform.runtime} ${args.platform.architecture}; lbuild checked and completed its choice from the wheels' metadata instead.`,
      );
    }
    // pip also copies the local projects' wheels (given by URL) into its output: they stay out
    // of the shared wheelhouse, where another bundle could take one for a same-named index project.
    // Wheels the runtime does not need are cached too: a pip that cannot judge markers for the
    // runtime asks for them again when staging resolves from the wheelhouse alone.
    const needed = new Set(resolution.needed.map((w) => basename(w.file)));
    const locals = [...localWheels.values()].filter((w) => needed.has(basename(w.wheel)));
    const localNames = new Set([...localWheels.values()].map((w) => basename(w.wheel)));
    const wheels: string[] = [];
    for (const wheel of [...resolution.needed, ...resolution.dropped]) {
      const file = basename(wheel.file);
      if (localNames.has(file)) continue;
      await rename(wheel.file, join(dir, file));
      if (needed.has(file)) wheels.push(join(dir, file));
    }
    wheels.push(...locals.map((w) => w.wheel));
    return {
      dir,
      strategy,
      mismatches,
      wheels: sortPaths(wheels),
      localWheels: locals,
      dropped: resolution.dropped.map((w) => basename(w.file)).sort(),
      added: resolution.added,
    };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
