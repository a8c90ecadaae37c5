import { constants, copyFile, mkdir, readdir, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { ProcessRunner } from '@lbuild/core';
import { findLocalWheels, replaceDirectory } from '../../src/pip/local-projects.js';
import { checkPip, diagnosePipFailure, pipError } from '../../src/pip/pip-errors.js';
import { writePipRequirements } from '../../src/pip/pip-requirements.js';
import {
  PIP_PROGRESS_ARGS,
  PIP_QUIET_ARGS,
  pipEnvironment,
  runPip,
} from '../../src/pip/pip-run.js';
import { platformPipArgs } from '../../src/pip/platform.js';
import type { RuntimePlatform, WheelhouseStrategy } from '../../src/pip/platform.js';
import type { BuildPython } from '../../src/pip/python.js';
import { MINIMUM_PIP } from '../../src/pip/python.js';
import { readRequirements } from '../../src/pip/requirements.js';
import { checkRuntimeWheels } from '../../src/pip/runtime-wheels.js';
import type { Requirements } from '../../src/pip/requirements.js';
import { resolveForTarget } from '../../src/pip/target-closure.js';
import { lambdaMarkerEnvironment } from '../../src/pip/target-environment.js';
import {
  makeScratch,
  resolveStrategy,
  sortPaths,
  wheelhousePath,
} from '../../src/pip/wheelhouse.js';

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
 * For the tests: resolves the requirements once more, offline, against the filled wheelhouse
 * (`pip download --no-index --find-links <wheelhouse> --only-binary=:all:`, markers judged for
 * the runtime as when it was filled), and puts exactly the wheels chosen into a fresh staging
 * directory. The same resolver with the same inputs must choose what the wheelhouse recorded;
 * lbuild itself stages the recorded wheels.
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
