import { isAbsolute, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Json } from '@lbuild/core';
import type { PipCredentials } from './credentials.js';

/**
 * Where pip looks for packages (`index-url`, `extra-index-url`, `find-links`, `no-index`): for a
 * bundle, the effective sources of lbuild.toml and pip's configuration (see
 * resolvePackageSources); pip gets these, and the options inside the requirements files, only.
 */
export interface IndexOptions {
  /** Replaces the default index (https://pypi.org/simple). */
  indexUrl?: string | undefined;
  extraIndexUrls: readonly string[];
  /** Directories (relative to the project root, or absolute) or URLs of pages with links. */
  findLinks: readonly string[];
  /** Use no index at all: only find-links (and the wheelhouse). */
  noIndex: boolean;
}

/** The index pip uses when none is configured. */
export const DEFAULT_INDEX_URL = 'https://pypi.org/simple';

/** Query parameters that carry credentials (tokens, signatures, keys). */
const CREDENTIAL_PARAM = /token|auth|key|secret|pass|pwd|sig|credential|session|x-amz-/i;

const URL_IN_TEXT = /\b[a-zA-Z][a-zA-Z0-9+.-]*:\/\/[^\s'"<>()]+/g;

function parseUrl(text: string): URL | undefined {
  if (!/^[a-zA-Z][a-zA-Z0-9+.-]*:\/\//.test(text)) return undefined;
  try {
    return new URL(text);
  } catch {
    return undefined;
  }
}

/**
 * The URL with its credentials masked, for log lines: `user:****@` when there is a password,
 * `****@` when the user part alone is the secret (tokens used as user names), and `****` for the
 * values of credential-like query parameters (`token`, `access_token`, `X-Amz-Signature`, …).
 * Anything that is not a URL comes back unchanged.
 */
export function redactUrl(url: string): string {
  const parsed = parseUrl(url);
  if (parsed === undefined) return url;
  let changed = false;
  if (parsed.password !== '') {
    parsed.password = '****';
    changed = true;
  } else if (parsed.username !== '') {
    parsed.username = '****';
    changed = true;
  }
  for (const name of [...parsed.searchParams.keys()]) {
    if (CREDENTIAL_PARAM.test(name)) {
      parsed.searchParams.set(name, '****');
      changed = true;
    }
  }
  if (!changed) return url;
  // URLSearchParams percent-encodes the mask; keep it readable.
  return parsed.toString().replace(/%2A%2A%2A%2A/g, '****');
}

/** {@link redactUrl} applied to every URL inside a line of text (pip output, error messages). */
export function redactText(text: string): string {
  return text.replace(URL_IN_TEXT, (url) => redactUrl(url));
}

/**
 * The URL with credentials removed entirely (user info, credential query parameters, fragment)
 * and a trailing slash dropped, so two spellings of one index compare equal and a rotated token
 * does not change the result.
 */
export function stripCredentials(url: string): string {
  const parsed = parseUrl(url);
  if (parsed === undefined) return url;
  parsed.username = '';
  parsed.password = '';
  parsed.hash = '';
  for (const name of [...parsed.searchParams.keys()]) {
    if (CREDENTIAL_PARAM.test(name)) parsed.searchParams.delete(name);
  }
  parsed.search = parsed.searchParams.toString();
  return parsed.toString().replace(/\/+(?=$|\?)/, '');
}

/** {@link stripCredentials} applied to every URL inside a line of text. */
export function stripCredentialsInText(text: string): string {
  return text.replace(URL_IN_TEXT, (url) => stripCredentials(url));
}

/** Whether a find-links entry is a URL (else it is a local directory path). */
export function isUrl(entry: string): boolean {
  return /^[a-zA-Z][a-zA-Z0-9+.-]*:\/\//.test(entry) && !entry.startsWith('file:');
}

/** A find-links entry as an absolute local directory, or undefined for a remote URL. */
export function localFindLinksDir(entry: string, base: string): string | undefined {
  if (entry.startsWith('file:')) return fileURLToPath(entry);
  if (isUrl(entry)) return undefined;
  return resolve(base, entry);
}

function projectRelative(path: string, projectRoot: string): string {
  const rel = relative(projectRoot, path);
  if (rel === '') return '.';
  // On Windows a path on another drive stays absolute; keep it as it is.
  return isAbsolute(rel) ? rel : rel.split(sep).join('/');
}

/**
 * What identifies the package sources of a bundle, for its wheelhouse fingerprint:
 * - index URLs without credentials: a different index (host or path) rebuilds, a rotated token
 *   does not; when `noIndex` is set the index URLs do not count at all (pip ignores them).
 * - find-links directories relative to `projectRoot` with `/` separators, so two checkouts of
 *   the project at different places agree; find-links URLs without credentials.
 * The contents of find-links directories are not here: fingerprint those as inputs.
 */
export function indexIdentity(options: IndexOptions, projectRoot: string): Json {
  const findLinks = options.findLinks.map((entry) => {
    const dir = localFindLinksDir(entry, projectRoot);
    return dir === undefined ? stripCredentials(entry) : projectRelative(dir, projectRoot);
  });
  if (options.noIndex) return { noIndex: true, findLinks };
  return {
    noIndex: false,
    indexUrl: stripCredentials(options.indexUrl ?? DEFAULT_INDEX_URL),
    extraIndexUrls: options.extraIndexUrls.map(stripCredentials),
    findLinks,
  };
}

/** How pip is told the configured sources: options for its command line, and variables. */
export interface PipSourceOptions {
  /** `--no-index` and local `--find-links` directories (absolute): never a URL. */
  args: string[];
  /** PIP_INDEX_URL, PIP_EXTRA_INDEX_URL, PIP_FIND_LINKS: the URLs, without their logins. */
  env: Record<string, string>;
}

/**
 * The configured sources for pip. URLs go through the environment, which only the same user can
 * read (/proc/PID/environ), not the command line, which every local user can (`ps`); their logins
 * go to `credentials` (a private netrc file), because pip passes its index URLs on to the command
 * line of the pip that installs build requirements. pip splits these variables on whitespace,
 * which a URL does not contain; local directories may, so they stay on the command line.
 */
export function pipSourceOptions(
  options: IndexOptions,
  projectRoot: string,
  credentials: PipCredentials,
): PipSourceOptions {
  const args: string[] = [];
  const env: Record<string, string> = {};
  if (options.noIndex) args.push('--no-index');
  else {
    if (options.indexUrl !== undefined) env.PIP_INDEX_URL = credentials.take(options.indexUrl);
    if (options.extraIndexUrls.length > 0)
      env.PIP_EXTRA_INDEX_URL = options.extraIndexUrls.map((u) => credentials.take(u)).join(' ');
  }
  const urls: string[] = [];
  for (const entry of options.findLinks) {
    const dir = localFindLinksDir(entry, projectRoot);
    if (dir === undefined) urls.push(credentials.take(entry));
    else args.push('--find-links', dir);
  }
  if (urls.length > 0) env.PIP_FIND_LINKS = urls.join(' ');
  return { args, env };
}
