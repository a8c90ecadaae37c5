/** The CPU architectures Lambda runs functions on (its `Architectures` values). */
export const LAMBDA_ARCHITECTURES = ['x86_64', 'arm64'] as const;
export type LambdaArchitecture = (typeof LAMBDA_ARCHITECTURES)[number];

/** The operating system image a runtime runs on. */
export type AmazonLinux = 'amazonlinux2' | 'amazonlinux2023';

export interface PythonRuntime {
  /** `major.minor`: what `python` in `[bundle.NAME]` says. */
  readonly python: string;
  /** Lambda's runtime identifier: what `runtime` in `[function.NAME]` says. */
  readonly runtime: string;
  readonly os: AmazonLinux;
  /**
   * The newest glibc of the OS image, as [major, minor]: wheels tagged up to
   * `manylinux_<major>_<minor>` load there (Amazon Linux 2: 2.26, Amazon Linux 2023: 2.34).
   */
  readonly glibc: readonly [number, number];
  readonly architectures: readonly LambdaArchitecture[];
  /**
   * AWS's dates (YYYY-MM-DD, projected until they pass): from `deprecated` Lambda no longer
   * patches the runtime, from `blockCreate` it refuses CreateFunction, from `blockUpdate` it
   * also refuses code and configuration updates. Functions keep running after all three.
   */
  readonly deprecated: string;
  readonly blockCreate: string;
  readonly blockUpdate: string;
}

const BOTH = LAMBDA_ARCHITECTURES;
const AL2 = { os: 'amazonlinux2', glibc: [2, 26] } as const;
const AL2023 = { os: 'amazonlinux2023', glibc: [2, 34] } as const;

/**
 * Lambda's Python runtimes for zip packages, oldest first: the one list both the bundle
 * (`python`) and the function (`runtime`) settings are checked against. Dates are those of AWS's
 * runtime table ("Lambda runtimes" and "Runtime deprecation" in the Lambda developer guide) as of
 * mid-2026; python3.8 is deprecated but AWS moved its blocks to 2027, so it still deploys.
 */
export const LAMBDA_PYTHON_RUNTIMES = [
  {
    python: '3.8',
    runtime: 'python3.8',
    ...AL2,
    architectures: BOTH,
    deprecated: '2024-10-14',
    blockCreate: '2027-02-01',
    blockUpdate: '2027-03-03',
  },
  {
    python: '3.9',
    runtime: 'python3.9',
    ...AL2,
    architectures: BOTH,
    deprecated: '2025-12-15',
    blockCreate: '2027-02-01',
    blockUpdate: '2027-03-03',
  },
  {
    python: '3.10',
    runtime: 'python3.10',
    ...AL2,
    architectures: BOTH,
    deprecated: '2026-10-31',
    blockCreate: '2027-02-01',
    blockUpdate: '2027-03-03',
  },
  {
    python: '3.11',
    runtime: 'python3.11',
    ...AL2,
    architectures: BOTH,
    deprecated: '2027-06-30',
    blockCreate: '2027-07-31',
    blockUpdate: '2027-08-31',
  },
  {
    python: '3.12',
    runtime: 'python3.12',
    ...AL2023,
    architectures: BOTH,
    deprecated: '2028-10-31',
    blockCreate: '2028-11-30',
    blockUpdate: '2029-01-10',
  },
  {
    python: '3.13',
    runtime: 'python3.13',
    ...AL2023,
    architectures: BOTH,
    deprecated: '2029-06-30',
    blockCreate: '2029-07-31',
    blockUpdate: '2029-08-31',
  },
  {
    python: '3.14',
    runtime: 'python3.14',
    ...AL2023,
    architectures: BOTH,
    deprecated: '2029-06-30',
    blockCreate: '2029-07-31',
    blockUpdate: '2029-08-31',
  },
] as const satisfies readonly PythonRuntime[];

export type LambdaPythonVersion = (typeof LAMBDA_PYTHON_RUNTIMES)[number]['python'];
export type LambdaPythonRuntimeId = (typeof LAMBDA_PYTHON_RUNTIMES)[number]['runtime'];

/** `python` values, oldest first (a non-empty tuple, as schema enums want). */
export const LAMBDA_PYTHON_VERSIONS = LAMBDA_PYTHON_RUNTIMES.map((r) => r.python) as [
  LambdaPythonVersion,
  ...LambdaPythonVersion[],
];

/** `runtime` values, oldest first. */
export const LAMBDA_PYTHON_RUNTIME_IDS = LAMBDA_PYTHON_RUNTIMES.map((r) => r.runtime) as [
  LambdaPythonRuntimeId,
  ...LambdaPythonRuntimeId[],
];

/** The newest runtime: what a deprecation notice suggests moving to. */
export const NEWEST_PYTHON_RUNTIME: PythonRuntime =
  LAMBDA_PYTHON_RUNTIMES[LAMBDA_PYTHON_RUNTIMES.length - 1] ?? LAMBDA_PYTHON_RUNTIMES[0];

/** The runtime of a `python` version (`3.12`) or runtime identifier (`python3.12`). */
export function pythonRuntime(versionOrId: string): PythonRuntime | undefined {
  return LAMBDA_PYTHON_RUNTIMES.find((r) => r.python === versionOrId || r.runtime === versionOrId);
}

export function isLambdaArchitecture(value: unknown): value is LambdaArchitecture {
  return (LAMBDA_ARCHITECTURES as readonly unknown[]).includes(value);
}

export type LifecycleStage = 'supported' | 'deprecated' | 'create-blocked' | 'update-blocked';

/** Where a runtime stands on `today` (a Date, compared by its UTC calendar day). */
export function lifecycleStage(runtime: PythonRuntime, today: Date): LifecycleStage {
  const day = today.toISOString().slice(0, 10);
  if (day >= runtime.blockUpdate) return 'update-blocked';
  if (day >= runtime.blockCreate) return 'create-blocked';
  if (day >= runtime.deprecated) return 'deprecated';
  return 'supported';
}

/**
 * A one-line warning for a runtime AWS has deprecated, or undefined while it is supported. The
 * blocks themselves are refused where they apply (creating or updating a function).
 */
export function deprecationNotice(runtime: PythonRuntime, today: Date): string | undefined {
  const stage = lifecycleStage(runtime, today);
  if (stage === 'supported') return undefined;
  const move = `move to ${NEWEST_PYTHON_RUNTIME.runtime}`;
  if (stage === 'update-blocked') {
    return `${runtime.runtime} is deprecated: since ${runtime.blockUpdate} Lambda refuses to create or update functions that use it; ${move}`;
  }
  if (stage === 'create-blocked') {
    return `${runtime.runtime} is deprecated: since ${runtime.blockCreate} Lambda refuses to create functions that use it, and from ${runtime.blockUpdate} to update them; ${move}`;
  }
  return `${runtime.runtime} is deprecated since ${runtime.deprecated} (Lambda no longer patches it): Lambda refuses new functions that use it from ${runtime.blockCreate} and updates from ${runtime.blockUpdate}; ${move}`;
}
