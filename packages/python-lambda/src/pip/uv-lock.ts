/**
 * uv.lock (uv's lock file, `version = 1`): the closure one Lambda target installs, as
 * `uv export --no-dev [--package NAME]` gives it, with every marker judged for the target.
 *
 * The lock holds one graph for every platform: each `[[package]]` lists its `dependencies` (with
 * markers, and with `version`/`source` when the name alone is ambiguous), its
 * `optional-dependencies` per extra and, for projects, `dev-dependencies` per dependency group.
 * A package resolved differently in different forks appears once per version, each with the
 * `resolution-markers` of its forks. The walk starts at the project and follows the edges whose
 * marker holds for the target.
 */
import { access } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { configError } from '@lbuild/core';
import type { DependencySpecifier } from './dependency-specifier.js';
import { RequirementSyntaxError, parseDependencySpecifier } from './dependency-specifier.js';
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
import type { MarkerEnvironment } from './markers.js';
import { MarkerSyntaxError, evaluateMarker, parseMarker } from './markers.js';
import type { VersionSpecifier } from './pep440.js';
import {
  VersionSyntaxError,
  formatVersion,
  parseSpecifierSet,
  specifierSetContains,
} from './pep440.js';
import { normalizeProjectName } from './wheel-name.js';

interface UvDependency {
  project: string;
  version?: string | undefined;
  source?: string | undefined;
  marker?: string | undefined;
  extras: string[];
}

interface UvPackage {
  name: string;
  project: string;
  version: string;
  source: Record<string, unknown>;
  /** The source's canonical JSON, to match a dependency's `source`. */
  sourceKey: string;
  dependencies: UvDependency[];
  optional: Map<string, UvDependency[]>;
  groups: Map<string, UvDependency[]>;
  resolutionMarkers: string[];
  table: Record<string, unknown>;
}

const canonical = (value: unknown): string =>
  JSON.stringify(value, (_key, v: unknown) =>
    isTable(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : 1))) : v,
  );

function dependenciesOf(value: unknown): UvDependency[] {
  return tablesOf(value).map((dep) => ({
    project: normalizeProjectName(stringOf(dep.name) ?? ''),
    version: stringOf(dep.version),
    source: dep.source === undefined ? undefined : canonical(dep.source),
    marker: stringOf(dep.marker),
    extras: stringsOf(dep.extra).map(normalizeProjectName),
  }));
}

function groupsOf(value: unknown): Map<string, UvDependency[]> {
  const groups = new Map<string, UvDependency[]>();
  if (isTable(value))
    for (const [name, deps] of Object.entries(value))
      groups.set(normalizeProjectName(name), dependenciesOf(deps));
  return groups;
}

function packagesOf(file: string, lock: Record<string, unknown>): UvPackage[] {
  return tablesOf(lock.package).map((table) => {
    const name = stringOf(table.name);
    if (name === undefined) throw lockFormatError(file, 'a [[package]] has no name.');
    const source = isTable(table.source) ? table.source : {};
    return {
      name,
      project: normalizeProjectName(name),
      // Dynamic versions of workspace members are left out of the lock.
      version: stringOf(table.version) ?? '',
      source,
      sourceKey: canonical(source),
      dependencies: dependenciesOf(table.dependencies),
      optional: groupsOf(table['optional-dependencies']),
      groups: groupsOf(table['dev-dependencies']),
      resolutionMarkers: stringsOf(table['resolution-markers']),
      table,
    };
  });
}

/** The project directory a local source names, relative to the lock's directory. */
function localPath(pkg: UvPackage): { kind: string; path: string } | undefined {
  for (const kind of ['editable', 'virtual', 'directory', 'path']) {
    const path = stringOf(pkg.source[kind]);
    if (path !== undefined) return { kind, path };
  }
  return undefined;
}

const isRoot = (pkg: UvPackage, lockDir: string) => {
  const local = localPath(pkg);
  return local !== undefined && local.kind !== 'path' && resolve(lockDir, local.path) === lockDir;
};

function holds(
  file: string,
  marker: string | undefined,
  environment: MarkerEnvironment,
  conflicts: readonly string[] = [],
): boolean {
  if (marker === undefined) return true;
  try {
    return evaluateMarker(parseMarker(marker), environment, { extra: conflicts });
  } catch (error) {
    if (error instanceof MarkerSyntaxError) throw lockFormatError(file, error.message);
    throw error;
  }
}

/** The key a dependency is compared by: name, extras, versions (normalised), URL, and its extra. */
function requirementKey(spec: DependencySpecifier, extra: string | undefined): string {
  const versions = spec.specifiers.map(specifierText).sort().join(',');
  return `${spec.project}[${spec.extras.join(',')}]${versions}${spec.url === undefined ? '' : ` @ ${spec.url}`}${extra === undefined ? '' : ` (extra ${extra})`}`;
}

const specifierText = (s: VersionSpecifier) =>
  `${s.operator}${s.version === undefined ? s.text : formatVersion(s.version)}${s.wildcard ? '.*' : ''}`;

/** The extra a requires-dist entry belongs to, from its `extra == "x"` marker. */
function extraOfMarker(marker: string | undefined): string | undefined {
  const match = marker === undefined ? null : /\bextra\s*==\s*['"]([^'"]+)['"]/.exec(marker);
  return match?.[1] === undefined ? undefined : normalizeProjectName(match[1]);
}

function lockRequirementKey(file: string, entry: Record<string, unknown>): string {
  const name = stringOf(entry.name) ?? '';
  let specifiers: VersionSpecifier[] = [];
  try {
    specifiers = parseSpecifierSet(stringOf(entry.specifier) ?? '');
  } catch (error) {
    if (error instanceof VersionSyntaxError) throw lockFormatError(file, error.message);
    throw error;
  }
  return requirementKey(
    {
      name,
      project: normalizeProjectName(name),
      extras: [...new Set(stringsOf(entry.extras).map(normalizeProjectName))].sort(),
      specifiers,
      url: stringOf(entry.url),
    },
    extraOfMarker(stringOf(entry.marker)),
  );
}

function pyprojectKey(file: string, text: string, extra: string | undefined): string {
  try {
    return requirementKey(parseDependencySpecifier(text), extra);
  } catch (error) {
    if (error instanceof RequirementSyntaxError)
      throw configError('pyproject-syntax', `${file}: ${error.message}`, { location: { file } });
    throw error;
  }
}

/** `[dependency-groups]` with `{ include-group = … }` expanded, and uv's legacy dev-dependencies. */
function pyprojectGroups(pyproject: Record<string, unknown>): Map<string, string[]> {
  const declared = isTable(pyproject['dependency-groups']) ? pyproject['dependency-groups'] : {};
  const byName = new Map(Object.entries(declared).map(([k, v]) => [normalizeProjectName(k), v]));
  const expand = (name: string, seen: string[]): string[] => {
    if (seen.includes(name)) return [];
    return (Array.isArray(byName.get(name)) ? (byName.get(name) as unknown[]) : []).flatMap(
      (entry) => {
        if (typeof entry === 'string') return [entry];
        const include = isTable(entry) ? stringOf(entry['include-group']) : undefined;
        return include === undefined ? [] : expand(normalizeProjectName(include), [...seen, name]);
      },
    );
  };
  const groups = new Map<string, string[]>();
  for (const name of byName.keys()) groups.set(name, expand(name, []));
  const tool = isTable(pyproject.tool) && isTable(pyproject.tool.uv) ? pyproject.tool.uv : {};
  const legacy = stringsOf(tool['dev-dependencies']);
  if (legacy.length > 0) groups.set('dev', [...(groups.get('dev') ?? []), ...legacy]);
  return groups;
}

const sorted = (keys: string[]) => [...keys].sort().join('\n');

/**
 * Whether the lock still says what the member's pyproject.toml says: its `requires-dist` (with
 * the optional dependencies) against `[project]`, its `requires-dev` against the dependency
 * groups, as `uv sync --locked` checks before it installs anything.
 */
async function checkFresh(
  lockFile: string,
  pkg: UvPackage,
  projectDir: string,
): Promise<string | undefined> {
  const file = join(projectDir, 'pyproject.toml');
  const exists = await access(file).then(
    () => true,
    () => false,
  );
  const metadata = isTable(pkg.table.metadata) ? pkg.table.metadata : undefined;
  if (!exists) return undefined;
  const pyproject = await readToml(file);
  const project = isTable(pyproject.project) ? pyproject.project : undefined;
  const stale = () => {
    throw configError(
      'lock-out-of-date',
      `uv.lock is out of date with pyproject.toml: run \`uv lock\` (${pkg.name} in ${file} differs from its entry in ${lockFile}).`,
      {
        location: { file: lockFile },
        hint: 'lbuild installs exactly what the lock says, so the lock must match the dependencies the project declares. Run uv lock and commit the new uv.lock.',
      },
    );
  };
  if (metadata === undefined) return file;
  const dynamic = project === undefined ? [] : stringsOf(project.dynamic);
  if (project !== undefined && !dynamic.includes('dependencies')) {
    const declared = stringsOf(project.dependencies).map((d) => pyprojectKey(file, d, undefined));
    const optional = isTable(project['optional-dependencies'])
      ? project['optional-dependencies']
      : {};
    for (const [extra, deps] of Object.entries(optional))
      for (const d of stringsOf(deps))
        declared.push(pyprojectKey(file, d, normalizeProjectName(extra)));
    const locked = tablesOf(metadata['requires-dist']).map((e) => lockRequirementKey(lockFile, e));
    if (sorted(declared) !== sorted(locked)) stale();
  }
  const groups = pyprojectGroups(pyproject);
  const lockedGroups = isTable(metadata['requires-dev']) ? metadata['requires-dev'] : {};
  const names = new Set([...groups.keys(), ...Object.keys(lockedGroups).map(normalizeProjectName)]);
  for (const name of names) {
    const declared = (groups.get(name) ?? []).map((d) => pyprojectKey(file, d, undefined));
    const lockedEntry = Object.entries(lockedGroups).find(
      ([k]) => normalizeProjectName(k) === name,
    )?.[1];
    const locked = tablesOf(lockedEntry).map((e) => lockRequirementKey(lockFile, e));
    if (sorted(declared) !== sorted(locked)) stale();
  }
  return file;
}

function wheelsOf(file: string, pkg: UvPackage, lockDir: string): LockedWheel[] {
  const registry = stringOf(pkg.source.registry);
  const localRegistry =
    registry !== undefined && !/^[a-z][a-z0-9+.-]*:\/\//i.test(registry)
      ? resolve(lockDir, registry)
      : undefined;
  return tablesOf(pkg.table.wheels).map((wheel) => {
    const url = stringOf(wheel.url);
    const path = stringOf(wheel.path);
    const name = stringOf(wheel.filename) ?? fileNameOf(url ?? path ?? '');
    const hash = stringOf(wheel.hash);
    if (hash === undefined || !hash.startsWith('sha256:'))
      throw lockFormatError(file, `the wheel ${name} of ${pkg.name} has no sha256 hash.`);
    const location =
      url ??
      (path === undefined
        ? undefined
        : pathToFileURL(resolve(localRegistry ?? lockDir, path)).href);
    return { file: name, sha256: hash.slice('sha256:'.length).toLowerCase(), url: location };
  });
}

/** Reads uv.lock and returns what the target installs (see the module comment). */
export async function readUvLock(
  file: string,
  options: LockOptions,
  environment: MarkerEnvironment,
): Promise<LockedSet> {
  const lock = await readToml(file);
  const lockDir = dirname(file);
  if (lock.version !== 1)
    throw lockFormatError(
      file,
      `version ${String(lock.version)} is not a uv.lock version lbuild reads (1).`,
    );
  const requiresPython = stringOf(lock['requires-python']);
  if (requiresPython !== undefined) {
    const specs = parseSpecifierSet(requiresPython);
    if (!specifierSetContains(specs, environment.python_full_version)) {
      throw configError(
        'lock-python-mismatch',
        `uv.lock is for Python ${requiresPython}; the bundle's runtime is Python ${environment.python_version}.`,
        {
          location: { file },
          hint: "Set python in the bundle to a version the project supports, or widen the project's requires-python and run uv lock.",
        },
      );
    }
  }
  const environments = stringsOf(lock['supported-environments']);
  if (environments.length > 0 && !environments.some((m) => holds(file, m, environment))) {
    throw configError(
      'lock-environment-mismatch',
      `uv.lock was made only for ${environments.join(' or ')}, which excludes Lambda (${environment.sys_platform} ${environment.platform_machine}, Python ${environment.python_version}).`,
      {
        location: { file },
        hint: 'Add the Lambda target to tool.uv.environments in pyproject.toml and run uv lock.',
      },
    );
  }
  const packages = packagesOf(file, lock);
  const byProject = new Map<string, UvPackage[]>();
  for (const pkg of packages)
    byProject.set(pkg.project, [...(byProject.get(pkg.project) ?? []), pkg]);

  const members = stringsOf(isTable(lock.manifest) ? lock.manifest.members : undefined);
  const locals = packages.filter(
    (p) => localPath(p) !== undefined && localPath(p)?.kind !== 'path',
  );
  let root: UvPackage | undefined;
  if (options.package !== undefined) {
    const wanted = normalizeProjectName(options.package);
    root = locals.find((p) => p.project === wanted);
    if (root === undefined) {
      throw configError(
        'lock-unknown-package',
        `uv.lock has no workspace member ${JSON.stringify(options.package)}.`,
        {
          hint: `Set package to one of: ${(members.length > 0 ? members : locals.map((p) => p.name)).join(', ')}.`,
        },
      );
    }
  } else {
    root = packages.find((p) => isRoot(p, lockDir));
    if (root === undefined) {
      throw configError(
        'lock-no-root-project',
        `uv.lock has no project at its root (a virtual workspace), so which member's dependencies the bundle gets is not clear.`,
        {
          hint: `Set package in the bundle to one of: ${(members.length > 0 ? members : locals.map((p) => p.name)).join(', ')}.`,
        },
      );
    }
  }

  const known = (map: Map<string, UvDependency[]>, metadataKey: string) => {
    const metadata = isTable(root.table.metadata) ? root.table.metadata : {};
    const declared = metadata[metadataKey];
    return new Set([
      ...map.keys(),
      ...(Array.isArray(declared)
        ? stringsOf(declared)
        : isTable(declared)
          ? Object.keys(declared)
          : []
      ).map(normalizeProjectName),
    ]);
  };
  const extras = options.extras.map(normalizeProjectName);
  const groups = options.groups.map(normalizeProjectName);
  const knownExtras = known(root.optional, 'provides-extras');
  const knownGroups = known(root.groups, 'requires-dev');
  for (const [what, asked, have, key] of [
    ['extra', extras, knownExtras, 'extras'],
    ['dependency group', groups, knownGroups, 'groups'],
  ] as const) {
    const unknown = asked.filter((name) => !have.has(name));
    if (unknown.length > 0) {
      throw configError(
        `lock-unknown-${key}`,
        `${root.name} in uv.lock has no ${what} ${unknown.map((u) => JSON.stringify(u)).join(', ')}.`,
        { hint: `Set ${key} to some of: ${[...have].sort().join(', ') || `(it declares none)`}.` },
      );
    }
  }

  const resolveDependency = (dep: UvDependency, from: UvPackage): UvPackage => {
    let candidates = byProject.get(dep.project) ?? [];
    if (dep.version !== undefined) candidates = candidates.filter((c) => c.version === dep.version);
    if (dep.source !== undefined) candidates = candidates.filter((c) => c.sourceKey === dep.source);
    if (candidates.length > 1) {
      // One version per fork: the one whose fork the target is in.
      candidates = candidates.filter(
        (c) =>
          c.resolutionMarkers.length === 0 ||
          c.resolutionMarkers.some((m) => holds(file, m, environment)),
      );
    }
    const [only] = candidates;
    if (only === undefined || candidates.length > 1) {
      throw lockFormatError(
        file,
        `${from.name} ${from.version} depends on ${dep.project}${dep.version === undefined ? '' : ` ${dep.version}`}, which the lock holds ${candidates.length === 0 ? 'no entry' : 'more than one entry'} for.`,
      );
    }
    return only;
  };

  // uv marks the edges of declared conflicting extras and groups with `extra == "extra-N-PKG-X"`
  // (`group-N-PKG-X` for groups, N the length of the project name): they hold when the bundle
  // chose that extra or group of its project.
  const encode = (kind: string, name: string) =>
    `${kind}-${root.project.length}-${root.project}-${name}`;
  const conflicts = [
    ...extras.map((e) => encode('extra', e)),
    ...groups.map((g) => encode('group', g)),
  ];
  const selected = new Map<UvPackage, Set<string>>();
  const queue: UvPackage[] = [];
  const visit = (pkg: UvPackage, requested: readonly string[]) => {
    const have = selected.get(pkg);
    const fresh = requested.filter((e) => have?.has(e) !== true);
    if (have !== undefined && fresh.length === 0) return;
    selected.set(pkg, new Set([...(have ?? []), ...fresh]));
    queue.push(pkg);
  };
  visit(root, extras);
  for (let pkg = queue.shift(); pkg !== undefined; pkg = queue.shift()) {
    const edges = [
      ...pkg.dependencies,
      ...[...(selected.get(pkg) ?? [])].flatMap((e) => pkg.optional.get(e) ?? []),
      ...(pkg === root ? groups.flatMap((g) => root.groups.get(g) ?? []) : []),
    ];
    for (const dep of edges) {
      if (!holds(file, dep.marker, environment, conflicts)) continue;
      visit(resolveDependency(dep, pkg), dep.extras);
    }
  }

  const files = [file];
  const lockedPackages: LockedPackage[] = [];
  const lockedLocals: LockedLocal[] = [];
  for (const pkg of selected.keys()) {
    const local = localPath(pkg);
    if (local !== undefined) {
      const path = resolve(lockDir, local.path);
      if (local.kind !== 'path') {
        const checked = await checkFresh(file, pkg, path);
        if (checked !== undefined) files.push(checked);
      }
      // The project at the root ships from `sources`; a virtual member has nothing to build.
      if (local.kind === 'virtual' || path === lockDir) continue;
      lockedLocals.push({
        name: pkg.name,
        path,
        type: local.kind === 'path' ? 'archive' : 'directory',
        spec: local.path,
      });
      continue;
    }
    if (stringOf(pkg.source.git) !== undefined) {
      throw configError(
        'lock-git-source',
        `${pkg.name} comes from git (${String(pkg.source.git)}) in uv.lock; lbuild installs locked packages from wheels only.`,
        {
          location: { file },
          hint: 'Publish a wheel of it to your index, or make it a workspace member or path source.',
        },
      );
    }
    const sdist = isTable(pkg.table.sdist) ? pkg.table.sdist : undefined;
    const sdistName =
      sdist === undefined
        ? undefined
        : (stringOf(sdist.filename) ??
          fileNameOf(stringOf(sdist.url) ?? stringOf(sdist.path) ?? ''));
    lockedPackages.push({
      name: pkg.name,
      project: pkg.project,
      version: pkg.version,
      wheels: wheelsOf(file, pkg, lockDir),
      ...(sdistName === undefined ? {} : { sdist: sdistName }),
    });
  }
  return {
    kind: 'uv.lock',
    file,
    files: [...new Set(files)],
    packages: lockedPackages.sort((a, b) =>
      a.project < b.project ? -1 : a.project > b.project ? 1 : 0,
    ),
    locals: lockedLocals.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0)),
  };
}
