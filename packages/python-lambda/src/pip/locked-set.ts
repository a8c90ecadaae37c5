/**
 * Lock files (uv.lock, pylock.toml) as a bundle's requirement source: what they lock, reduced to
 * the set one Lambda target installs. Nothing here resolves: the lock is the resolution, and the
 * markers in it are judged for the runtime (see target-environment.ts), never the build machine.
 */
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { configError } from '@lbuild/core';
import { describeTagMisfit, misfitHint, pipError, tagMisfit } from './pip-errors.js';
import type { Misfit } from './pip-errors.js';
import type { RuntimePlatform } from './platform.js';
import { parseWheelName } from './wheel-name.js';

/** One wheel file the lock lists for a package. */
export interface LockedWheel {
  /** The file name (what the index and find-links are searched by). */
  file: string;
  /** Lower-case hex. */
  sha256: string;
  /** Where the lock says the file is; a fallback when the configured sources lack it. */
  url?: string | undefined;
}

/** A package of the lock the target needs, from an index (or a URL). */
export interface LockedPackage {
  name: string;
  /** Normalised (PEP 503). */
  project: string;
  version: string;
  wheels: LockedWheel[];
  /** The file name of its source distribution, when the lock lists one. */
  sdist?: string | undefined;
}

/** A workspace member or path source the target needs: built into a wheel as local projects are. */
export interface LockedLocal {
  name: string;
  /** Absolute. */
  path: string;
  type: 'directory' | 'archive';
  /** Where the lock names it, relative to the lock's directory. */
  spec: string;
}

/** What a bundle gets from a lock file, for one target. */
export interface LockedSet {
  kind: 'uv.lock' | 'pylock.toml';
  /** The lock file, absolute. */
  file: string;
  /** Every file read to make the set (the lock, pyproject.toml files checked against it). */
  files: string[];
  /** Sorted by project. */
  packages: LockedPackage[];
  /** Sorted by path. */
  locals: LockedLocal[];
}

/** The bundle's choice within a lock. */
export interface LockOptions {
  /** Dependency groups installed on top of the runtime dependencies (default none). */
  groups: readonly string[];
  /** Extras of the project installed (default none). */
  extras: readonly string[];
  /** uv workspaces: the member whose closure the bundle gets (default: the project at the root). */
  package?: string | undefined;
}

/** Which reader a lock file name calls for: PEP 751 names `pylock.toml` and `pylock.<name>.toml`. */
export function lockKind(file: string): LockedSet['kind'] | undefined {
  const name = basename(file);
  if (name === 'uv.lock') return 'uv.lock';
  if (name === 'pylock.toml' || /^pylock\.[^.]+\.toml$/.test(name)) return 'pylock.toml';
  return undefined;
}

/** Reads and parses a TOML file; a syntax error is a config error pointing at the file. */
export async function readToml(file: string): Promise<Record<string, unknown>> {
  const { parse, TomlError } = await import('smol-toml');
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    // No location: the caller points at the key that names the file.
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw configError('lock-missing', `${basename(file)} does not exist (${file}).`, {
        hint: 'Create it (uv lock, or uv export --format pylock.toml), or fix the path: it is relative to the project root.',
      });
    }
    throw configError('lock-unreadable', `Cannot read ${file}: ${(error as Error).message}`);
  }
  try {
    return parse(text);
  } catch (error) {
    if (error instanceof TomlError) {
      throw configError('lock-syntax', `${basename(file)} is not valid TOML: ${error.message}`, {
        location: { file, line: error.line, column: error.column },
      });
    }
    throw error;
  }
}

/** A lock that does not have the shape its format documents. */
export function lockFormatError(file: string, problem: string) {
  return configError('lock-format', `${basename(file)}: ${problem}`, {
    location: { file },
    hint: `Regenerate it with the tool that wrote it (uv lock, or uv export --format pylock.toml).`,
  });
}

export const isTable = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

export const stringOf = (value: unknown): string | undefined =>
  typeof value === 'string' ? value : undefined;

export const tablesOf = (value: unknown): Record<string, unknown>[] =>
  Array.isArray(value) ? value.filter(isTable) : [];

export const stringsOf = (value: unknown): string[] =>
  Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];

/** The file name at the end of a URL or path. */
export function fileNameOf(location: string): string {
  return decodeURIComponent(location.split(/[?#]/, 1)[0]?.split('/').pop() ?? '');
}

/**
 * How well a wheel suits the runtime, lower first: the interpreter's own ABI before abi3 before
 * pure Python, and the newest manylinux the runtime runs before older ones (pip's order for
 * `--platform`). Undefined when no tag suits.
 */
function rank(file: string, platform: RuntimePlatform, linuxTagOk: boolean): number | undefined {
  const wheel = parseWheelName(file);
  if (wheel === undefined) return undefined;
  let best: number | undefined;
  for (const tag of wheel.tags) {
    if (tagMisfit(tag, platform, linuxTagOk) !== undefined) continue;
    const [, abi = '', plat = ''] = tag.split('-');
    const abiRank = abi === 'none' ? 2 : abi === 'abi3' ? 1 : 0;
    const index = platform.platforms.indexOf(plat);
    const platRank = plat === 'any' ? platform.platforms.length + 1 : index === -1 ? 0 : index;
    const score = abiRank * 1000 + platRank;
    if (best === undefined || score < best) best = score;
  }
  return best;
}

/**
 * The wheels of each package that run on the target, best first; a package with none is the
 * `no-suitable-wheel` failure a requirements file gets, naming the files the lock lists and what
 * they were built for.
 */
export function runtimeWheels(
  set: LockedSet,
  platform: RuntimePlatform,
  linuxTagOk: boolean,
): Map<string, LockedWheel[]> {
  const chosen = new Map<string, LockedWheel[]>();
  for (const pkg of set.packages) {
    const ranked = pkg.wheels
      .map((wheel) => ({ wheel, rank: rank(wheel.file, platform, linuxTagOk) }))
      .filter((r): r is { wheel: LockedWheel; rank: number } => r.rank !== undefined)
      .sort((a, b) => a.rank - b.rank || (a.wheel.file < b.wheel.file ? -1 : 1));
    if (ranked.length > 0) {
      chosen.set(
        pkg.project,
        ranked.map((r) => r.wheel),
      );
      continue;
    }
    const misfits = new Set<Misfit>();
    const found = pkg.wheels.map((wheel) => {
      const parsed = parseWheelName(wheel.file);
      const misfit =
        parsed?.tags.map((t) => tagMisfit(t, platform, linuxTagOk)).find((m) => m) ?? 'python';
      misfits.add(misfit);
      return `${wheel.file}: ${describeTagMisfit(misfit, parsed?.tag ?? '')}`;
    });
    if (pkg.sdist !== undefined) {
      misfits.add('sdist');
      found.push(`${pkg.sdist}: ${describeTagMisfit('sdist', '')}`);
    }
    const requirement = `${pkg.name}==${pkg.version}`;
    throw pipError({
      reason: 'no-suitable-wheel',
      kind: 'build',
      requirement,
      platforms: platform.platforms,
      found: [...pkg.wheels.map((w) => w.file), ...(pkg.sdist === undefined ? [] : [pkg.sdist])],
      message: `No wheel of ${requirement} (locked in ${basename(set.file)}) suits the Lambda runtime ${platform.runtime} ${platform.architecture}. Found: ${found.length > 0 ? found.join('; ') : 'no files'}.`,
      hint: misfitHint(misfits, platform, requirement),
    });
  }
  return chosen;
}
