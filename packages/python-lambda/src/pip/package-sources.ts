import { isAbsolute, relative, resolve, sep } from 'node:path';
import { configError } from '@lbuild/core';
import type { Json, SourceLocation } from '@lbuild/core';
import type { IndexOptions } from './index-options.js';
import { DEFAULT_INDEX_URL, indexIdentity, redactUrl } from './index-options.js';
import type { PipConfigOrigin, PipConfigValue } from './pip-config.js';
import { describeOrigin, pipBoolean, pipList, readPipConfiguration } from './pip-config.js';

/** The package-source keys of `[bundle.NAME]`, as written (before `${VAR}` expansion). */
export interface BundleSourceKeys {
  'index-url'?: string | undefined;
  'extra-index-url'?: readonly string[] | undefined;
  'find-links'?: readonly string[] | undefined;
  'no-index'?: boolean | undefined;
}

/** Whether pip's own configuration (files and PIP_* variables) counts, key `pip-config`. */
export type PipConfigMode = 'use' | 'ignore';

/** Where one effective package source came from. */
export type SourceOrigin =
  | { kind: 'lbuild.toml'; key: string }
  | { kind: 'pip'; origin: PipConfigOrigin }
  | { kind: 'default' };

export interface PackageSources {
  /** The effective sources; URLs may hold credentials (never log or fingerprint these). */
  index: IndexOptions;
  /** Constraint files of pip's configuration, absolute, in pip's order. */
  constraints: string[];
  origins: {
    indexUrl: SourceOrigin;
    extraIndexUrls: SourceOrigin;
    findLinks: SourceOrigin;
    noIndex: SourceOrigin;
    constraints: SourceOrigin;
  };
  /**
   * How pip reaches the network, from pip's config files, as PIP_* variables for pip: `cert`,
   * `client-cert`, `proxy`, `trusted-host`, `keyring-provider`, `timeout`, `retries`. They do not
   * choose packages, so they are not identity (a renewed certificate rebuilds nothing).
   */
  env: Record<string, string>;
  /** PIP_* variable names lbuild applied itself: pip's environment need not warn about them. */
  applied: string[];
  /** Settings of pip's config files that choose packages and that lbuild does not apply. */
  ignored: string[];
}

export interface ResolvePackageSourcesOptions {
  keys: BundleSourceKeys;
  mode: PipConfigMode;
  env: Readonly<Record<string, string | undefined>>;
  /** `sys.prefix` of the build Python (pip's site configuration file lives there). */
  prefix: string | undefined;
  /** The pip command that resolves (`download` or `wheel`): its config section counts. */
  command: string;
  projectRoot: string;
  /** Where a key of the bundle's table is, for config errors. */
  location: (key: string) => SourceLocation;
  /** The table, e.g. `[bundle.api]`, for messages. */
  table: string;
}

const VARIABLE = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

/**
 * `${VAR}` and `${VAR:-default}` in a package-source value of lbuild.toml, as a shell expands
 * them (the default also replaces an empty value). An unset variable without a default is a
 * config error naming the variable and the key. The result may hold a secret: callers keep it
 * out of logs and fingerprints (see stripCredentials).
 */
export function expandVariables(
  text: string,
  env: Readonly<Record<string, string | undefined>>,
  where: { table: string; key: string; location: SourceLocation },
): string {
  return text.replace(VARIABLE, (_whole, name: string, fallback: string | undefined) => {
    const value = env[name];
    if (fallback !== undefined) return value === undefined || value === '' ? fallback : value;
    if (value === undefined) {
      throw configError(
        'unset-variable',
        `${where.table} ${where.key} uses \${${name}}, which is not set in the environment.`,
        {
          hint: `Set ${name} (e.g. export ${name}=…), or give a default: \${${name}:-value}.`,
          location: where.location,
        },
      );
    }
    return value;
  });
}

/** pip options that choose packages and that lbuild applies from pip's configuration. */
const APPLIED = ['index-url', 'extra-index-url', 'find-links', 'no-index', 'constraint'] as const;

/** pip options about the network, passed on to pip as variables (see PackageSources.env). */
const TRANSPORT = [
  'cert',
  'client-cert',
  'proxy',
  'trusted-host',
  'keyring-provider',
  'timeout',
  'default-timeout',
  'retries',
] as const;

/** pip options in config files that would choose other packages; lbuild warns about these. */
const UNAPPLIED = new Set([
  'no-binary',
  'only-binary',
  'prefer-binary',
  'pre',
  'require-hashes',
  'no-deps',
  'upgrade-strategy',
  'use-feature',
  'use-deprecated',
  'no-build-isolation',
  'config-settings',
  'global-option',
  'build-option',
  'platform',
  'python-version',
  'implementation',
  'abi',
]);

function variableName(option: string): string {
  return `PIP_${option.toUpperCase().replace(/-/g, '_')}`;
}

/**
 * The package sources a bundle's pip uses: lbuild.toml's keys (with `${VAR}` expanded) over
 * pip's configuration (files and PIP_* variables, with pip's own precedence), per key. With
 * `mode = 'ignore'` only lbuild.toml counts, as before lbuild read pip's configuration.
 */
export function resolvePackageSources(opts: ResolvePackageSourcesOptions): PackageSources {
  const { keys, env } = opts;
  const expand = (value: string, key: string) =>
    expandVariables(value, env, { table: opts.table, key, location: opts.location(key) });
  const toml = (key: string): SourceOrigin => ({ kind: 'lbuild.toml', key });
  const values =
    opts.mode === 'use'
      ? readPipConfiguration({ env, prefix: opts.prefix, command: opts.command }).values
      : new Map<string, PipConfigValue>();
  const fromPip = (option: string): PipConfigValue | undefined => {
    const found = values.get(option);
    return found === undefined || found.value.trim() === '' ? undefined : found;
  };
  const pipOrigin = (found: PipConfigValue): SourceOrigin => ({
    kind: 'pip',
    origin: found.origin,
  });

  let indexUrl: string | undefined;
  let indexOrigin: SourceOrigin = { kind: 'default' };
  const indexValue = fromPip('index-url');
  if (keys['index-url'] !== undefined && keys['index-url'] !== '') {
    indexUrl = expand(keys['index-url'], 'index-url');
    indexOrigin = toml('index-url');
  } else if (indexValue !== undefined) {
    indexUrl = indexValue.value.trim();
    indexOrigin = pipOrigin(indexValue);
  }

  let extraIndexUrls: string[] = [];
  let extraOrigin: SourceOrigin = { kind: 'default' };
  const extraValue = fromPip('extra-index-url');
  if (keys['extra-index-url'] !== undefined) {
    extraIndexUrls = keys['extra-index-url'].map((u) => expand(u, 'extra-index-url'));
    extraOrigin = toml('extra-index-url');
  } else if (extraValue !== undefined) {
    extraIndexUrls = pipList(extraValue.value);
    extraOrigin = pipOrigin(extraValue);
  }

  let findLinks: string[] = [];
  let findOrigin: SourceOrigin = { kind: 'default' };
  const findValue = fromPip('find-links');
  if (keys['find-links'] !== undefined) {
    findLinks = keys['find-links'].map((u) => expand(u, 'find-links'));
    findOrigin = toml('find-links');
  } else if (findValue !== undefined) {
    findLinks = pipList(findValue.value);
    findOrigin = pipOrigin(findValue);
  }

  let noIndex = false;
  let noIndexOrigin: SourceOrigin = { kind: 'default' };
  const noIndexValue = fromPip('no-index');
  if (keys['no-index'] !== undefined) {
    noIndex = keys['no-index'];
    noIndexOrigin = toml('no-index');
  } else if (noIndexValue !== undefined) {
    noIndex = pipBoolean(noIndexValue.value) ?? false;
    noIndexOrigin = pipOrigin(noIndexValue);
  }

  const constraintValue = fromPip('constraint');
  const constraints =
    constraintValue === undefined
      ? []
      : pipList(constraintValue.value).map((path) => resolve(opts.projectRoot, path));

  const transport: Record<string, string> = {};
  const ignored: string[] = [];
  for (const [option, found] of values) {
    if (found.origin.kind !== 'file') continue;
    if ((TRANSPORT as readonly string[]).includes(option))
      transport[variableName(option)] = found.value.trim();
    else if (UNAPPLIED.has(option)) ignored.push(`${option} (${describeOrigin(found.origin)})`);
  }
  return {
    index: {
      ...(indexUrl === undefined ? {} : { indexUrl }),
      extraIndexUrls,
      findLinks,
      noIndex,
    },
    constraints,
    origins: {
      indexUrl: indexOrigin,
      extraIndexUrls: extraOrigin,
      findLinks: findOrigin,
      noIndex: noIndexOrigin,
      constraints: constraintValue === undefined ? { kind: 'default' } : pipOrigin(constraintValue),
    },
    env: transport,
    applied: opts.mode === 'use' ? APPLIED.map(variableName) : [],
    ignored: ignored.sort(),
  };
}

function projectRelative(path: string, projectRoot: string): string {
  const rel = relative(projectRoot, path);
  if (rel === '') return '.';
  return isAbsolute(rel) ? rel : rel.split(sep).join('/');
}

/**
 * The identity of the effective sources for the wheelhouse fingerprint: {@link indexIdentity}
 * (URLs without credentials, so a rotated token rebuilds nothing and another index does), plus
 * the constraint files of pip's configuration by path (their contents are inputs). Where a
 * setting came from is not identity: moving `index-url` from pip.conf to lbuild.toml changes no
 * wheel.
 */
export function packageSourcesIdentity(sources: PackageSources, projectRoot: string): Json {
  const identity = indexIdentity(sources.index, projectRoot);
  if (sources.constraints.length === 0) return identity;
  return {
    ...(identity as Record<string, Json>),
    constraints: sources.constraints.map((path) => projectRelative(path, projectRoot)),
  };
}

/** `lbuild.toml index-url`, `PIP_INDEX_URL`, `/etc/pip.conf [global]`, `pip's default`. */
export function describeSourceOrigin(origin: SourceOrigin): string {
  switch (origin.kind) {
    case 'lbuild.toml':
      return `lbuild.toml ${origin.key}`;
    case 'pip':
      return describeOrigin(origin.origin);
    case 'default':
      return "pip's default";
  }
}

/**
 * One line per package source, with where it came from and credentials masked, e.g.
 * `index-url https://****@pkgs.example.com/simple/ (from PIP_INDEX_URL)`.
 */
export function describePackageSources(sources: PackageSources): string[] {
  const { index, origins } = sources;
  const lines: string[] = [];
  const from = (origin: SourceOrigin) => ` (from ${describeSourceOrigin(origin)})`;
  if (index.noIndex) lines.push(`no-index${from(origins.noIndex)}`);
  else {
    lines.push(
      `index-url ${redactUrl(index.indexUrl ?? DEFAULT_INDEX_URL)}${from(origins.indexUrl)}`,
    );
    if (index.extraIndexUrls.length > 0)
      lines.push(
        `extra-index-url ${index.extraIndexUrls.map(redactUrl).join(' ')}${from(origins.extraIndexUrls)}`,
      );
  }
  if (index.findLinks.length > 0)
    lines.push(`find-links ${index.findLinks.map(redactUrl).join(' ')}${from(origins.findLinks)}`);
  if (sources.constraints.length > 0)
    lines.push(`constraint ${sources.constraints.join(' ')}${from(origins.constraints)}`);
  return lines;
}

/** Whether any effective source came from pip's configuration rather than lbuild.toml. */
export function usesPipConfiguration(sources: PackageSources): boolean {
  return Object.values(sources.origins).some((origin) => origin.kind === 'pip');
}
