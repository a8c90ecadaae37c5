/**
 * pylock.toml (PEP 751, `lock-version = "1.0"`): the packages one Lambda target installs. The
 * format is a flat list, not a graph: an installer takes every `[[packages]]` entry whose
 * `marker` holds, with the `extras` and `dependency_groups` marker fields set to what was chosen.
 * lbuild judges the markers for the target, and defaults to no dependency groups (the runtime
 * dependencies only), whatever `default-groups` says: development groups do not belong in a
 * Lambda package unless the bundle asks for them.
 */
import { dirname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { configError } from '@lbuild/core';
import type {
  LockOptions,
  LockedLocal,
  LockedPackage,
  LockedSet,
  LockedWheel,
} from './locked-set.js';
import {
  fileNameOf,
  isTable,
  lockFormatError,
  readToml,
  stringOf,
  stringsOf,
  tablesOf,
} from './locked-set.js';
import type { MarkerContext, MarkerEnvironment } from './markers.js';
import {
  MarkerEvaluationError,
  MarkerSyntaxError,
  evaluateMarker,
  parseMarker,
} from './markers.js';
import { VersionSyntaxError, parseSpecifierSet, specifierSetContains } from './pep440.js';
import { normalizeProjectName } from './wheel-name.js';

function holds(
  file: string,
  marker: string | undefined,
  environment: MarkerEnvironment,
  context: MarkerContext,
): boolean {
  if (marker === undefined) return true;
  try {
    return evaluateMarker(parseMarker(marker), environment, context);
  } catch (error) {
    if (error instanceof MarkerSyntaxError || error instanceof MarkerEvaluationError)
      throw lockFormatError(file, error.message);
    throw error;
  }
}

function pythonHolds(file: string, requires: string | undefined, version: string): boolean {
  if (requires === undefined) return true;
  try {
    return specifierSetContains(parseSpecifierSet(requires), version);
  } catch (error) {
    if (error instanceof VersionSyntaxError) throw lockFormatError(file, error.message);
    throw error;
  }
}

function sha256Of(file: string, what: string, table: Record<string, unknown>): string {
  const hashes = isTable(table.hashes) ? table.hashes : {};
  const sha256 = stringOf(hashes.sha256);
  if (sha256 === undefined) throw lockFormatError(file, `${what} has no sha256 in its hashes.`);
  return sha256.toLowerCase();
}

/** Reads a pylock.toml and returns what the target installs (see the module comment). */
export async function readPylock(
  file: string,
  options: LockOptions,
  environment: MarkerEnvironment,
): Promise<LockedSet> {
  const lock = await readToml(file);
  const lockDir = dirname(file);
  const version = stringOf(lock['lock-version']);
  if (version === undefined || !/^1(\.\d+)*$/.test(version))
    throw lockFormatError(
      file,
      `lock-version ${JSON.stringify(lock['lock-version'] ?? null)} is not one lbuild reads (1.x).`,
    );
  if (options.package !== undefined) {
    throw configError(
      'lock-package-not-supported',
      `package selects a member of a uv workspace; ${file} is a pylock.toml, which locks one set of packages.`,
      {
        hint: 'Remove package from the bundle, or export the member: uv export --package NAME --format pylock.toml.',
      },
    );
  }
  const python = environment.python_full_version;
  if (!pythonHolds(file, stringOf(lock['requires-python']), python)) {
    throw configError(
      'lock-python-mismatch',
      `${file} is for Python ${String(lock['requires-python'])}; the bundle's runtime is Python ${environment.python_version}.`,
      { location: { file }, hint: 'Set python in the bundle to a version the lock was made for.' },
    );
  }
  const environments = stringsOf(lock.environments);
  if (environments.length > 0 && !environments.some((m) => holds(file, m, environment, {}))) {
    throw configError(
      'lock-environment-mismatch',
      `${file} was made only for ${environments.join(' or ')}, which excludes Lambda (${environment.sys_platform} ${environment.platform_machine}, Python ${environment.python_version}).`,
      { location: { file }, hint: 'Lock again with the Lambda target among the environments.' },
    );
  }
  const extras = options.extras.map(normalizeProjectName);
  const groups = options.groups.map(normalizeProjectName);
  for (const [what, asked, key] of [
    ['extras', extras, 'extras'],
    ['dependency-groups', groups, 'groups'],
  ] as const) {
    const have = new Set(stringsOf(lock[what]).map(normalizeProjectName));
    const unknown = asked.filter((name) => !have.has(name));
    if (unknown.length > 0) {
      throw configError(
        `lock-unknown-${key}`,
        `${file} locks no ${what} ${unknown.map((u) => JSON.stringify(u)).join(', ')}.`,
        { hint: `Set ${key} to some of: ${[...have].sort().join(', ') || '(it locks none)'}.` },
      );
    }
  }
  const context: MarkerContext = { extras, dependencyGroups: groups };

  const packages: LockedPackage[] = [];
  const locals: LockedLocal[] = [];
  const seen = new Map<string, string>();
  for (const entry of tablesOf(lock.packages)) {
    const name = stringOf(entry.name);
    if (name === undefined) throw lockFormatError(file, 'a [[packages]] entry has no name.');
    if (!holds(file, stringOf(entry.marker), environment, context)) continue;
    const project = normalizeProjectName(name);
    const pkgVersion = stringOf(entry.version) ?? '';
    const other = seen.get(project);
    if (other !== undefined) {
      throw lockFormatError(
        file,
        `two entries of ${name} (${other} and ${pkgVersion}) apply to Lambda ${environment.platform_machine} Python ${environment.python_version}; a lock has one per environment.`,
      );
    }
    seen.set(project, pkgVersion);
    if (!pythonHolds(file, stringOf(entry['requires-python']), python)) {
      throw configError(
        'lock-python-mismatch',
        `${name} ${pkgVersion} in ${file} needs Python ${String(entry['requires-python'])}; the bundle's runtime is Python ${environment.python_version}.`,
        { location: { file } },
      );
    }
    const directory = isTable(entry.directory) ? entry.directory : undefined;
    const archive = isTable(entry.archive) ? entry.archive : undefined;
    if (directory !== undefined) {
      const spec = stringOf(directory.path) ?? '.';
      const path = resolve(lockDir, spec);
      // The project at the lock's root ships from `sources`.
      if (path !== lockDir) locals.push({ name, path, type: 'directory', spec });
      continue;
    }
    if (archive !== undefined && stringOf(archive.path) !== undefined) {
      const spec = stringOf(archive.path) ?? '';
      locals.push({ name, path: resolve(lockDir, spec), type: 'archive', spec });
      continue;
    }
    if (isTable(entry.vcs) || archive !== undefined) {
      throw configError(
        'lock-unsupported-source',
        `${name} comes from ${isTable(entry.vcs) ? 'version control' : 'a remote archive'} in ${file}; lbuild installs locked packages from wheels only.`,
        {
          location: { file },
          hint: 'Publish a wheel of it to your index, or lock it as a local directory.',
        },
      );
    }
    const wheels: LockedWheel[] = tablesOf(entry.wheels).map((wheel) => {
      const url = stringOf(wheel.url);
      const path = stringOf(wheel.path);
      const wheelName = stringOf(wheel.name) ?? fileNameOf(url ?? path ?? '');
      return {
        file: wheelName,
        sha256: sha256Of(file, `the wheel ${wheelName} of ${name}`, wheel),
        url: url ?? (path === undefined ? undefined : pathToFileURL(resolve(lockDir, path)).href),
      };
    });
    const sdist = isTable(entry.sdist) ? entry.sdist : undefined;
    const sdistName =
      sdist === undefined
        ? undefined
        : (stringOf(sdist.name) ?? fileNameOf(stringOf(sdist.url) ?? stringOf(sdist.path) ?? ''));
    packages.push({
      name,
      project,
      version: pkgVersion,
      wheels,
      ...(sdistName === undefined ? {} : { sdist: sdistName }),
    });
  }
  return {
    kind: 'pylock.toml',
    file,
    files: [file],
    packages: packages.sort((a, b) => (a.project < b.project ? -1 : a.project > b.project ? 1 : 0)),
    locals: locals.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0)),
  };
}
