import { homedir } from 'node:os';
import { isAbsolute, join, sep } from 'node:path';
import {
  configError,
  LocalDirStore,
  type CacheOptions,
  type CacheStore,
  type Project,
} from '@lbuild/core';
import { remoteStoreFor } from './cache-remote.js';

/** How long one request to the remote cache may take before it counts as a dead endpoint. */
export const REMOTE_TIMEOUT_MS = 10_000;

const MODES = ['read-write', 'read', 'off'] as const;
type Mode = (typeof MODES)[number];

/**
 * The shared cache as the project's `[cache]` and the environment set it (the environment
 * wins): LBUILD_CACHE_MODE, LBUILD_CACHE_URL, LBUILD_CACHE_DIR, LBUILD_CACHE_SIGNING_KEY. The
 * signing key is only ever passed on, never printed.
 */
export interface CacheSetup {
  mode: Mode;
  /** The local directory store's directory. */
  dir: string;
  /** The remote store's URL, when one is set. */
  url?: string;
  signingKey?: string;
}

export function cacheSetup(
  project: Pick<Project, 'cache'>,
  env: NodeJS.ProcessEnv = process.env,
): CacheSetup {
  const fromEnv = env.LBUILD_CACHE_MODE;
  if (fromEnv && !(MODES as readonly string[]).includes(fromEnv)) {
    throw configError(
      'invalid-cache-setting',
      `LBUILD_CACHE_MODE is "${fromEnv}", expected one of ${MODES.join(', ')}`,
      { hint: 'set LBUILD_CACHE_MODE to read-write, read or off, or unset it' },
    );
  }
  const url = env.LBUILD_CACHE_URL || project.cache?.url;
  if (env.LBUILD_CACHE_URL && !/^s3:\/\/[^/\s]+(\/\S*)?$/.test(env.LBUILD_CACHE_URL)) {
    throw configError(
      'invalid-cache-setting',
      `LBUILD_CACHE_URL is not an S3 URL: ${displayUrl(env.LBUILD_CACHE_URL)}`,
      { hint: 'set it to s3://bucket or s3://bucket/prefix, or unset it' },
    );
  }
  const signingKey = env.LBUILD_CACHE_SIGNING_KEY;
  return {
    mode: (fromEnv as Mode | undefined) || project.cache?.mode || 'read-write',
    dir: env.LBUILD_CACHE_DIR || defaultCacheDir(env),
    ...(url ? { url } : {}),
    ...(signingKey ? { signingKey } : {}),
  };
}

/**
 * The local cache directory: `$XDG_CACHE_HOME/lbuild` when that is set (and absolute, as the
 * spec asks), else the platform's place for caches.
 */
export function defaultCacheDir(
  env: NodeJS.ProcessEnv = process.env,
  platform: NodeJS.Platform = process.platform,
  home: string = homedir(),
): string {
  const xdg = env.XDG_CACHE_HOME;
  if (xdg && isAbsolute(xdg)) return join(xdg, 'lbuild');
  if (platform === 'darwin') return join(home, 'Library', 'Caches', 'lbuild');
  if (platform === 'win32')
    return join(env.LOCALAPPDATA || join(home, 'AppData', 'Local'), 'lbuild', 'cache');
  return join(home, '.cache', 'lbuild');
}

/**
 * The stores a build uses: the local directory, then the remote one (not with `--offline`,
 * which makes no calls to remote services). Undefined when the cache is off.
 */
export async function cacheOptionsFor(
  setup: CacheSetup,
  options: { offline?: boolean },
): Promise<CacheOptions | undefined> {
  if (setup.mode === 'off') return undefined;
  const stores: CacheStore[] = [new LocalDirStore(setup.dir, displayPath(setup.dir))];
  if (setup.url && !options.offline)
    stores.push(await remoteStoreFor(setup.url, { timeoutMs: REMOTE_TIMEOUT_MS }));
  return {
    stores,
    mode: setup.mode,
    ...(setup.signingKey ? { signingKey: setup.signingKey } : {}),
  };
}

/** A URL as messages show it: no user or password, should one have been written into it. */
export function displayUrl(url: string): string {
  return url.replace(/^([a-z0-9]+:\/\/)[^@/]*@/i, '$1');
}

/** A path under the home directory as `~/…`. */
export function displayPath(path: string, home: string = homedir()): string {
  return path === home || path.startsWith(home + sep) ? '~' + path.slice(home.length) : path;
}
