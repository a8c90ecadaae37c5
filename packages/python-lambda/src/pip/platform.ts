import { configError } from '@lbuild/core';
import {
  LAMBDA_PYTHON_VERSIONS,
  isLambdaArchitecture,
  pythonRuntime,
  type AmazonLinux,
  type LambdaArchitecture,
} from '@lbuild/lambda-runtimes';
import type { BuildPython } from './python.js';

/** The Lambda `architecture` setting. */
export type { LambdaArchitecture };

export interface RuntimePlatform {
  /** The Lambda runtime identifier, e.g. `python3.12`. */
  runtime: string;
  /** `major.minor`, passed to pip as `--python-version`. */
  pythonVersion: string;
  architecture: LambdaArchitecture;
  /** The machine name in platform tags: `x86_64` or `aarch64`. */
  machine: 'x86_64' | 'aarch64';
  /** The operating system image of the runtime. */
  os: AmazonLinux;
  /** The newest glibc of the runtime image, as [major, minor]: wheels up to manylinux_2_<minor> run. */
  glibc: readonly [number, number];
  /** `--implementation`. */
  implementation: 'cp';
  /** `--abi` values: the interpreter ABI, then `abi3` and `none`. */
  abis: string[];
  /** `--platform` values, most specific (newest glibc) first, as pip itself orders them. */
  platforms: string[];
  /**
   * A short name for this tag set, used as the wheelhouse subdirectory: e.g.
   * `cp312-manylinux_2_34_x86_64`.
   */
  key: string;
}

/** The Lambda Python versions lbuild knows (the shared runtime table's), oldest first. */
export { LAMBDA_PYTHON_VERSIONS };

/** Legacy manylinux names that alias a glibc minor version, per PEP 600. */
const LEGACY_ALIASES: Readonly<Record<number, string>> = {
  17: 'manylinux2014',
  12: 'manylinux2010',
  5: 'manylinux1',
};

/**
 * The wheel tags a Lambda runtime accepts. `python` is the runtime's Python (`3.12`, or
 * `python3.12`); an unknown version or architecture is a config error.
 *
 * Platforms: `manylinux_2_X_<machine>` for every X from the runtime's glibc down to 17 (the oldest
 * that aarch64 wheels exist for), and on x86_64 further down to 5, with the legacy aliases
 * (`manylinux2014` = 2_17, and on x86_64 `manylinux2010` = 2_12, `manylinux1` = 2_5) placed where
 * pip places them. `linux_<machine>` is deliberately absent: such wheels were built for one
 * machine and say nothing about the glibc they need.
 */
export function runtimePlatform(python: string, architecture: string): RuntimePlatform {
  const runtime = pythonRuntime(python);
  if (runtime === undefined) {
    throw configError(
      'unknown-python-runtime',
      `Unknown Lambda Python runtime: ${JSON.stringify(python)}.`,
      {
        hint: `Set python to one of ${LAMBDA_PYTHON_VERSIONS.map((v) => JSON.stringify(v)).join(', ')}.`,
      },
    );
  }
  if (!isLambdaArchitecture(architecture) || !runtime.architectures.includes(architecture)) {
    throw configError(
      'unknown-architecture',
      `Unknown Lambda architecture: ${JSON.stringify(architecture)}.`,
      {
        hint: 'Set architecture to "x86_64" or "arm64".',
      },
    );
  }
  const machine = architecture === 'arm64' ? 'aarch64' : 'x86_64';
  const oldest = machine === 'x86_64' ? 5 : 17;
  const platforms: string[] = [];
  for (let minor = runtime.glibc[1]; minor >= oldest; minor--) {
    platforms.push(`manylinux_2_${minor}_${machine}`);
    const alias = LEGACY_ALIASES[minor];
    if (alias !== undefined && (minor === 17 || machine === 'x86_64'))
      platforms.push(`${alias}_${machine}`);
  }
  const abi = `cp${runtime.python.replace('.', '')}`;
  return {
    runtime: runtime.runtime,
    pythonVersion: runtime.python,
    architecture,
    machine,
    os: runtime.os,
    glibc: runtime.glibc,
    implementation: 'cp',
    abis: [abi, 'abi3', 'none'],
    platforms,
    key: `${abi}-manylinux_${runtime.glibc[0]}_${runtime.glibc[1]}_${machine}`,
  };
}

/** The pip options that make `pip download` choose wheels for `platform` instead of the build machine. */
export function platformPipArgs(platform: RuntimePlatform): string[] {
  return [
    ...platform.platforms.flatMap((p) => ['--platform', p]),
    '--python-version',
    platform.pythonVersion,
    '--implementation',
    platform.implementation,
    ...platform.abis.flatMap((abi) => ['--abi', abi]),
  ];
}

/**
 * How the wheelhouse is filled:
 * - `pip-wheel`: `pip wheel` on the build machine: builds sdists too, produces wheels for the build
 *   machine's interpreter. Only right when that interpreter is what Lambda runs.
 * - `pip-download`: `pip download --only-binary=:all: --platform …`: only ready-made wheels that
 *   suit the runtime's tags; local projects are built separately and must be pure Python.
 */
export type WheelhouseStrategy = 'pip-wheel' | 'pip-download';

export interface StrategyChoice {
  strategy: WheelhouseStrategy;
  /** Why the build machine does not match the runtime (empty when it does). */
  mismatches: string[];
}

/**
 * `pip-wheel` when the build Python is CPython of the runtime's major.minor on Linux, same CPU,
 * glibc no newer than the runtime's (so anything it compiles also loads on Lambda); otherwise
 * `pip-download`.
 */
export function chooseStrategy(python: BuildPython, platform: RuntimePlatform): StrategyChoice {
  const mismatches: string[] = [];
  if (python.implementation !== 'cpython')
    mismatches.push(`the build Python is ${python.implementation}, Lambda runs CPython`);
  if (python.pythonVersion !== platform.pythonVersion) {
    mismatches.push(
      `the build Python is ${python.pythonVersion}, the runtime is ${platform.runtime}`,
    );
  }
  if (python.system !== 'linux')
    mismatches.push(`the build machine runs ${python.system}, Lambda runs Linux`);
  if (python.machine !== platform.machine) {
    mismatches.push(`the build machine is ${python.machine}, the runtime is ${platform.machine}`);
  }
  if (python.glibc === undefined) {
    if (python.system === 'linux') mismatches.push('the build machine does not use glibc');
  } else if (compareVersions(python.glibc, `${platform.glibc[0]}.${platform.glibc[1]}`) > 0) {
    mismatches.push(
      `the build machine has glibc ${python.glibc}, newer than ${platform.os}'s ${platform.glibc[0]}.${platform.glibc[1]}`,
    );
  }
  return { strategy: mismatches.length === 0 ? 'pip-wheel' : 'pip-download', mismatches };
}

/** Compares dotted numeric versions (`2.36` vs `2.34`); non-numeric parts compare as 0. */
export function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map((x) => Number.parseInt(x, 10) || 0);
  const pb = b.split('.').map((x) => Number.parseInt(x, 10) || 0);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}
