import { constants, copyFile, mkdir, readdir, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { ProcessRunner } from '@lbuild/core';
import { findLocalWheels, replaceDirectory } from './local-projects.js';
import { checkPip, diagnosePipFailure, pipError } from './pip-errors.js';
import { writePipRequirements } from './pip-requirements.js';
import { PIP_PROGRESS_ARGS, PIP_QUIET_ARGS, pipEnvironment, runPip } from './pip-run.js';
import { platformPipArgs } from './platform.js';
import type { RuntimePlatform, WheelhouseStrategy } from './platform.js';
import type { BuildPython } from './python.js';
import { MINIMUM_PIP } from './python.js';
import { readRequirements } from './requirements.js';
import { checkRuntimeWheels } from './runtime-wheels.js';
import type { Requirements } from './requirements.js';
import { resolveForTarget } from './target-closure.js';
import { lambdaMarkerEnvironment } from './target-environment.js';
import { makeScratch, resolveStrategy, sortPaths, wheelhousePath } from './wheelhouse.js';

export interface ResolveStagingArgs {
  python: BuildPython;
  requirements: Requirements | string;
  platform: RuntimePlatform;
  /** The wheelhouse root, as given to `fillWheelhouse`. */
  wheelhouseDir: string;
  /** Replaced as a whole by exactly the resolved wheels. */
  stagingDir: string;
  /** The project root: pip runs here. */
  cwd: string;
  /** Must be what `fillWheelhouse` used (default: the same automatic choice). */
  strategy?: WheelhouseStrategy | undefined;
  /** Accept `linux_<machine>` wheels (see `checkRuntimeWheels`); default false. */
  allowHostBuiltWheels?: boolean | undefined;
  signal?: AbortSignal | undefined;
  onOutput?: ((line: string) => void) | undefined;
  env?: Readonly<Record<string, string | undefined>> | undefined;
  runner?: ProcessRunner | undefined;
}

export interface StagingResult {
  dir: string;
  /** Absolute paths of the wheels in `dir`, sorted bytewise. */
  wheels: string[];
}

/**
 * Puts exactly the wheels the current requirements resolve to into a fresh staging directory,
 * so wheels of removed requirements, left in the wheelhouse cache, stay out of the bundle.
 *
 * It runs pip's resolver once more, offline: `pip download --no-index --find-links <wheelhouse>
 * --only-binary=:all: -d <staging>` (with the runtime's `--platform …` options when the wheelhouse
 * was filled by download), on copies of the requirements files whose own index options are
 * dropped, so nothing but the wheelhouse can be chosen. pip copies the chosen files. This is the
 * seed Makefile's approach, and it is the same resolver, with the same inputs, that filled the
 * wheelhouse; `--report` JSON plus hard links would save the copy but needs pip ≥ 22.2 and a
 * second interpretation of pip's choices in lbuild.
 *
 * Markers are judged for the runtime, as when the wheelhouse was filled (`resolveForTarget`):
 * only the wheels the runtime needs are staged.
 *
 * The needed wheels fill a temporary sibling of `stagingDir`, which replaces `stagingDir` only
 * when everything succeeded and every wheel suits the runtime (`checkRuntimeWheels`); on failure or abort the old staging directory is left as it was.
 */
export async function resolveStaging(args: ResolveStagingArgs): Promise<StagingResult> {
  const pipProblem = checkPip(args.python.pip, MINIMUM_PIP);
  if (pipProblem !== undefined) throw pipProblem;
  const { env } = pipEnvironment(args.env ?? process.env);
  const requirements =
    typeof args.requirements === 'string'
      ? await readRequirements(args.requirements, { cwd: args.cwd, env: args.env })
      : args.requirements;
  const { strategy } = resolveStrategy(args.python, args.platform, args.strategy);
  const wheelhouse = wheelhousePath(args.wheelhouseDir, args.platform);
  const localWheels = await findLocalWheels(requirements, wheelhouse);
  await mkdir(wheelhouse, { recursive: true });
  await mkdir(dirname(args.stagingDir), { recursive: true });
  const work = await makeScratch(wheelhouse);
  let names: string[] = [];
  try {
    const reqFile = await writePipRequirements(requirements, work, {
      localWheels,
      mode: 'wheelhouse-only',
    });
    await replaceDirectory(args.stagingDir, async (tmp) => {
      const resolution = await resolveForTarget({
        requirements,
        localWheels,
        platform: args.platform,
        env: args.env ?? process.env,
        reqFile,
        work,
        signal: args.signal,
        resolve: async (file, out) => {
          const result = await runPip({
            python: args.python,
            args: [
              'download',
              '--no-index',
              '--find-links',
              wheelhouse,
              '--only-binary=:all:',
              ...(strategy === 'pip-download' ? platformPipArgs(args.platform) : []),
              '-d',
              out,
              ...PIP_QUIET_ARGS,
              ...PIP_PROGRESS_ARGS,
              '-r',
              file,
            ],
            cwd: args.cwd,
            env,
            markerEnvironment: lambdaMarkerEnvironment(args.platform),
            signal: args.signal,
            runner: args.runner,
            onOutput: args.onOutput,
          });
          if (result.exitCode !== 0) {
            throw await diagnosePipFailure(result.lines, {
              platform: args.platform,
              strategy,
              searchDirs: [wheelhouse],
              usedIndex: false,
              step: 'staging',
              requirementsFile: requirements.file,
              exitCode: result.exitCode,
            });
          }
          const strays = (await readdir(out)).filter((name) => !name.endsWith('.whl'));
          if (strays.length > 0) {
            throw pipError({
              reason: 'pip-failed',
              kind: 'build',
              message: `pip put files that are not wheels into staging: ${strays.join(', ')}.`,
            });
          }
        },
      });
      names = resolution.needed.map((w) => basename(w.file));
      checkRuntimeWheels(names, args.platform, {
        allowHostBuilt: args.allowHostBuiltWheels ?? false,
      });
      for (const wheel of resolution.needed) {
        await copyFile(wheel.file, join(tmp, basename(wheel.file)), constants.COPYFILE_FICLONE);
      }
    });
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  return {
    dir: args.stagingDir,
    wheels: sortPaths(names.map((name) => join(args.stagingDir, name))),
  };
}
