import { access, mkdir, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join, relative, sep } from 'node:path';
import { configError } from '@lbuild/core';
import type { Json } from '@lbuild/core';
import { PipCredentials } from './credentials.js';
import { localFindLinksDir, pipSourceOptions } from './index-options.js';
import { buildLocalProjects, sha256File } from './local-projects.js';
import type { LockOptions, LockedPackage, LockedSet, LockedWheel } from './locked-set.js';
import { lockKind, runtimeWheels } from './locked-set.js';
import { checkPip, diagnosePipFailure, pipError } from './pip-errors.js';
import type { LocalWheel } from './pip-requirements.js';
import { PIP_PROGRESS_ARGS, PIP_QUIET_ARGS, pipEnvironment, runPip } from './pip-run.js';
import { platformPipArgs } from './platform.js';
import type { RuntimePlatform, WheelhouseStrategy } from './platform.js';
import { MINIMUM_PIP, freeThreadedProblem } from './python.js';
import { readPylock } from './pylock.js';
import type { Requirements } from './requirements.js';
import type { FillWheelhouseArgs, PipConfigApplied } from './wheelhouse.js';
import { lambdaMarkerEnvironment } from './target-environment.js';
import { readUvLock } from './uv-lock.js';
import { makeScratch, resolveStrategy, sortPaths, wheelhousePath } from './wheelhouse.js';
import { normalizeProjectName, parseWheelName } from './wheel-name.js';

/** Reads a lock file (uv.lock, pylock.toml, pylock.NAME.toml) for one Lambda target. */
export async function readLockFile(
  file: string,
  options: LockOptions,
  platform: RuntimePlatform,
): Promise<LockedSet> {
  const environment = lambdaMarkerEnvironment(platform);
  switch (lockKind(file)) {
    case 'uv.lock':
      return readUvLock(file, options, environment);
    case 'pylock.toml':
      return readPylock(file, options, environment);
    case undefined:
      throw configError(
        'lock-unknown-format',
        `${basename(file)} is not a lock file lbuild reads: it takes uv.lock, pylock.toml and pylock.<name>.toml.`,
        {
          hint: 'For a requirements file (pip-compile, uv export, poetry export), set requirements instead of lock.',
        },
      );
  }
}

/** As for fillWheelhouse, with the lock in place of requirements and pip's strategy. */
export interface FillFromLockArgs extends Omit<
  FillWheelhouseArgs,
  'requirements' | 'strategy' | 'onProgress' | 'pipConfig'
> {
  lock: LockedSet;
  /** `allow-host-built-wheels`: a locked `linux_<machine>` wheel counts as suiting the runtime. */
  allowHostBuilt?: boolean | undefined;
  /** As for fillWheelhouse; constraint files do not apply: a lock is the exact set. */
  pipConfig?: Omit<PipConfigApplied, 'constraints'> | undefined;
}

export interface FillFromLockResult {
  dir: string;
  /** How local projects were built (locked packages are always fetched as ready-made wheels). */
  strategy: WheelhouseStrategy;
  mismatches: string[];
  /** The wheels of the locked set, sorted: locked packages in `dir`, then built local projects. */
  wheels: string[];
  localWheels: LocalWheel[];
  /** Locked wheels found in the wheelhouse with the lock's hash, and those fetched by this run. */
  cached: number;
  fetched: number;
}

/**
 * What the lock decides for the wheelhouse fingerprint: the bundle's choice within it and the
 * set it gives the target (each package's version and the hashes of its wheels that suit the
 * runtime), so that a lock edit that changes another target's set leaves this one's recipe as it
 * was. The files themselves are inputs too (see {@link lockRequirements}).
 */
export function lockIdentity(lock: LockedSet, options: LockOptions, projectRoot: string): Json {
  return {
    file: relative(projectRoot, lock.file).split(sep).join('/'),
    kind: lock.kind,
    groups: [...options.groups].sort(),
    extras: [...options.extras].sort(),
    package: options.package ?? null,
    packages: lock.packages.map((pkg) => ({
      name: pkg.project,
      version: pkg.version,
      wheels: pkg.wheels.map((w) => `${w.file} sha256:${w.sha256}`),
    })),
    locals: lock.locals.map((local) => relative(projectRoot, local.path).split(sep).join('/')),
  };
}

/**
 * The lock as the requirements the local-project builder and the wheelhouse inputs take: the
 * files read, and the workspace members and path sources as local path requirements.
 */
export function lockRequirements(lock: LockedSet): Requirements {
  return {
    file: lock.file,
    cwd: dirname(lock.file),
    files: lock.files,
    lines: [],
    requirements: [],
    localPaths: lock.locals.map((local) => ({
      path: local.path,
      type: local.type,
      name: local.name,
      extras: [],
      editable: false,
      spec: local.spec,
      file: lock.file,
      line: 0,
    })),
    index: { extraIndexUrls: [], findLinks: [], noIndex: false },
    usesHashes: true,
  };
}

function hashMismatch(lock: LockedSet, file: string, expected: string, got: string) {
  return pipError({
    reason: 'hash-mismatch',
    kind: 'build',
    requirement: file,
    message: `${file} does not match ${basename(lock.file)}: the lock says sha256 ${expected}, the file has sha256 ${got}.`,
    hint: `If the package was republished or the lock edited by hand, lock again (${lock.kind === 'uv.lock' ? 'uv lock' : 'uv export --format pylock.toml'}); otherwise the file may have been tampered with, in the index or the find-links folder.`,
  });
}

/** pip's report of a file whose hash is not among those it was given. */
function parsePipMismatch(lines: readonly string[]): { file: string; got: string } | undefined {
  const text = lines.join('\n');
  if (!/THESE PACKAGES DO NOT MATCH THE HASHES/.test(text)) return undefined;
  const from = /^\s+\S+ from (\S+)/m.exec(text)?.[1];
  const got = /^\s+Got\s+([0-9a-f]{64})/m.exec(text)?.[1];
  if (from === undefined || got === undefined) return undefined;
  return { file: decodeURIComponent(from.split(/[?#]/, 1)[0]?.split('/').pop() ?? from), got };
}

const exists = (path: string) =>
  access(path).then(
    () => true,
    () => false,
  );

/**
 * Fills the wheelhouse with exactly the locked set, for the runtime: no resolver runs.
 *
 * Each locked package's wheels are narrowed to those whose tags suit the runtime; one already in
 * the wheelhouse with the lock's sha256 is used as it is. The rest are fetched in one
 * `pip download --no-deps --only-binary=:all: --platform …` of `name==version` with the lock's
 * hashes of those wheels: pip rather than lbuild's own HTTP client, so that locked packages come
 * from the same package sources, with the same logins, certificates and proxies, as requirements
 * do; `--no-deps` because the lock already is the resolution; the hashes so that pip takes only a
 * locked file and checks it. A package the configured sources do not have is fetched from the
 * URL the lock gives (`name @ url`, hash checked too). Every fetched file is then checked again
 * against the lock by name and sha256 before it enters the wheelhouse. Workspace members and
 * path sources are built into wheels as local path requirements are.
 */
export async function fillWheelhouseFromLock(args: FillFromLockArgs): Promise<FillFromLockResult> {
  const { lock, platform } = args;
  const pythonProblem = freeThreadedProblem(args.python) ?? checkPip(args.python.pip, MINIMUM_PIP);
  if (pythonProblem !== undefined) throw pythonProblem;
  const chosen = runtimeWheels(lock, platform, args.allowHostBuilt ?? false);
  const { strategy, mismatches } = resolveStrategy(args.python, platform, undefined);
  const dir = wheelhousePath(args.wheelhouseDir, platform);
  await mkdir(dir, { recursive: true });

  const wheels: string[] = [];
  const missing: LockedPackage[] = [];
  for (const pkg of lock.packages) {
    let found: string | undefined;
    for (const wheel of chosen.get(pkg.project) ?? []) {
      const path = join(dir, wheel.file);
      if ((await exists(path)) && (await sha256File(path)) === wheel.sha256) {
        found = path;
        break;
      }
    }
    if (found === undefined) missing.push(pkg);
    else wheels.push(found);
  }
  const cached = wheels.length;
  if (missing.length === 0 && lock.locals.length === 0) {
    return {
      dir,
      strategy,
      mismatches,
      wheels: sortPaths(wheels),
      localWheels: [],
      cached,
      fetched: 0,
    };
  }

  const work = await makeScratch(dir);
  try {
    const { env: baseEnv, ignored } = pipEnvironment(args.env ?? process.env, {
      applied: args.pipConfig?.applied,
    });
    if (ignored.length > 0) {
      args.onWarning?.(
        args.pipConfig === undefined
          ? `Ignoring ${ignored.join(', ')} from the environment, and pip config files: package sources come from lbuild.toml only.`
          : `Ignoring ${ignored.join(', ')} from the environment: lbuild applies pip's package sources (index-url, extra-index-url, find-links, no-index) and network settings, not options that change how pip picks packages.`,
      );
    }
    const logins = new PipCredentials();
    const sources = pipSourceOptions(args.index, args.cwd, logins);
    const lines = new Map<string, string>();
    const fromUrl = new Set<string>();
    const lineOf = (pkg: LockedPackage, candidates: readonly LockedWheel[]) => {
      const url = candidates[0]?.url;
      if (fromUrl.has(pkg.project) && url !== undefined)
        return `${pkg.name} @ ${logins.take(url)} --hash=sha256:${candidates[0]?.sha256 ?? ''}`;
      return `${pkg.name}==${pkg.version} ${candidates.map((w) => `--hash=sha256:${w.sha256}`).join(' ')}`;
    };
    for (const pkg of missing) lines.set(pkg.project, lineOf(pkg, chosen.get(pkg.project) ?? []));
    const env = {
      ...baseEnv,
      ...args.pipConfig?.env,
      ...sources.env,
      ...(await logins.write(work, {
        pythonVersion: args.python.pythonVersion,
        env: args.env ?? process.env,
      })),
    };
    const requirements = lockRequirements(lock);
    const localWheels = await buildLocalProjects({
      python: args.python,
      requirements,
      platform,
      strategy,
      mismatches,
      index: args.index,
      wheelhouse: dir,
      work,
      cwd: args.cwd,
      env,
      sourceArgs: sources.args,
      noBuildIsolation: args.noBuildIsolation ?? false,
      signal: args.signal,
      onOutput: args.onOutput,
      runner: args.runner,
    });

    const out = join(work, 'locked');
    for (let round = 0; missing.length > 0; round++) {
      args.signal?.throwIfAborted();
      const reqFile = join(work, `locked-${round}.txt`);
      await writeFile(reqFile, [...lines.values(), ''].join('\n'));
      const result = await runPip({
        python: args.python,
        args: [
          'download',
          '--no-deps',
          '--only-binary=:all:',
          ...platformPipArgs(platform),
          '-d',
          out,
          ...sources.args,
          ...PIP_QUIET_ARGS,
          ...PIP_PROGRESS_ARGS,
          '-r',
          reqFile,
        ],
        cwd: args.cwd,
        env,
        signal: args.signal,
        runner: args.runner,
        onOutput: args.onOutput,
      });
      if (result.exitCode === 0) break;
      const mismatch = parsePipMismatch(result.lines);
      if (mismatch !== undefined) {
        const expected = [...chosen.values()].flat().find((w) => w.file === mismatch.file);
        throw hashMismatch(
          lock,
          mismatch.file,
          expected?.sha256 ?? '(not in the lock)',
          mismatch.got,
        );
      }
      // Not in the configured sources: the lock's own URL for it, once.
      const notFound = /No matching distribution found for ([A-Za-z0-9._-]+)/.exec(
        result.lines.join('\n'),
      )?.[1];
      const pkg =
        notFound === undefined
          ? undefined
          : missing.find((p) => p.project === normalizeProjectName(notFound));
      const candidates = pkg === undefined ? [] : (chosen.get(pkg.project) ?? []);
      if (pkg !== undefined && !fromUrl.has(pkg.project) && candidates[0]?.url !== undefined) {
        fromUrl.add(pkg.project);
        lines.set(pkg.project, lineOf(pkg, candidates));
        args.onOutput?.(
          `${pkg.name} ${pkg.version} is not in the package sources; fetching it from the URL in ${basename(lock.file)}`,
        );
        continue;
      }
      throw await diagnosePipFailure(result.lines, {
        platform,
        strategy: 'pip-download',
        searchDirs: args.index.findLinks.flatMap(
          (entry) => localFindLinksDir(entry, args.cwd) ?? [],
        ),
        usedIndex: !args.index.noIndex,
        step: 'wheelhouse',
        requirementsFile: lock.file,
        exitCode: result.exitCode,
      });
    }

    // pip checked the hashes it was given; this checks that what it left is exactly the lock's.
    const byFile = new Map<string, LockedWheel>();
    for (const list of chosen.values()) for (const w of list) byFile.set(w.file, w);
    const fetched = new Set<string>();
    for (const file of (await readdir(out).catch(() => [] as string[])).sort()) {
      const locked = byFile.get(file);
      const project = parseWheelName(file)?.project;
      if (
        locked === undefined ||
        project === undefined ||
        !missing.some((p) => p.project === project)
      ) {
        throw pipError({
          reason: 'lock-unexpected-file',
          kind: 'build',
          message: `pip fetched ${file}, which ${basename(lock.file)} does not list for ${platform.runtime} ${platform.architecture}.`,
          hint: 'Lock again; if the lock is current, report this as a bug in lbuild.',
        });
      }
      const got = await sha256File(join(out, file));
      if (got !== locked.sha256) throw hashMismatch(lock, file, locked.sha256, got);
      await rename(join(out, file), join(dir, file));
      wheels.push(join(dir, file));
      fetched.add(project);
    }
    const absent = missing.filter((p) => !fetched.has(p.project));
    if (absent.length > 0) {
      throw pipError({
        reason: 'wheelhouse-incomplete',
        kind: 'build',
        message: `pip did not fetch ${absent.map((p) => `${p.name}==${p.version}`).join(', ')}.`,
        hint: 'See the pip output (-v).',
      });
    }
    const locals = [...localWheels.values()];
    return {
      dir,
      strategy,
      mismatches,
      wheels: sortPaths([...wheels, ...locals.map((w) => w.wheel)]),
      localWheels: locals,
      cached,
      fetched: fetched.size,
    };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
