import {
  configError,
  formatBytes,
  LbuildError,
  localCacheStats,
  pruneLocalCache,
  type Project,
  type StoreContents,
} from '@lbuild/core';
import { remoteStoreFor } from '../cache-remote.js';
import { cacheSetup, displayPath, displayUrl, REMOTE_TIMEOUT_MS } from '../cache-settings.js';
import { openProject, type GlobalOptions } from '../context.js';

/** The project's `[cache]` when there is a project here; the environment alone otherwise. */
async function settingsOf(options: GlobalOptions): Promise<Pick<Project, 'cache'>> {
  try {
    return await openProject(options);
  } catch (error) {
    if (error instanceof LbuildError && error.failure.reason === 'no-config') return {};
    throw error;
  }
}

/** The remote store's contents, or why they could not be listed; nothing with `--offline`. */
async function remoteContents(
  url: string | undefined,
  offline: boolean,
): Promise<{ contents: StoreContents } | { problem: string } | undefined> {
  if (url === undefined || offline) return undefined;
  const store = await remoteStoreFor(url, { timeoutMs: REMOTE_TIMEOUT_MS });
  if (store.contents === undefined) return undefined;
  try {
    return { contents: await store.contents(new AbortController().signal) };
  } catch (error) {
    return { problem: error instanceof Error ? error.message : String(error) };
  }
}

const asJson = (what: StoreContents) => ({
  entries: what.entries,
  blobs: what.blobs,
  bytes: what.bytes,
  ...(what.oldest && what.newest
    ? { oldest: what.oldest.toISOString(), newest: what.newest.toISOString() }
    : {}),
});

const counts = (what: StoreContents) =>
  `${what.entries} entries, ${what.blobs} blobs, ${formatBytes(what.bytes)}`;

/** The line under a store's counts: `last used` (local) or `written` (remote), oldest to newest. */
const timeLines = (verb: string, what: StoreContents): string[] =>
  what.oldest && what.newest
    ? [`        ${verb} ${what.oldest.toISOString()} (oldest) to ${what.newest.toISOString()}`]
    : [];

/**
 * `lbuild cache`: what the local cache holds, and the remote store builds use with what it
 * holds (listed; not with `--offline`). A remote store that cannot be listed is said, and is not
 * an error: the local part is still the answer.
 */
export async function cacheCommand(options: GlobalOptions): Promise<number> {
  const setup = cacheSetup(await settingsOf(options));
  const [stats, listed] = await Promise.all([
    localCacheStats(setup.dir),
    remoteContents(setup.url, options.offline === true),
  ]);
  const remote = setup.url ? displayUrl(setup.url) : undefined;
  if (options.json) {
    process.stdout.write(
      JSON.stringify(
        {
          mode: setup.mode,
          local: {
            dir: setup.dir,
            ...asJson(stats),
          },
          ...(remote
            ? {
                remote: {
                  url: remote,
                  ...(listed && 'contents' in listed ? asJson(listed.contents) : {}),
                  ...(listed && 'problem' in listed ? { problem: listed.problem } : {}),
                },
              }
            : {}),
          signed: setup.signingKey !== undefined,
        },
        null,
        2,
      ) + '\n',
    );
    return 0;
  }
  const remoteLines = (): string[] => {
    if (remote === undefined) return ['remote: none (set [cache] url or LBUILD_CACHE_URL)'];
    if (listed === undefined)
      return [`remote: ${remote}${options.offline ? ' (not listed: --offline)' : ''}`];
    if ('problem' in listed) return [`remote: ${remote} (could not list it: ${listed.problem})`];
    return [
      `remote: ${remote}: ${counts(listed.contents)}`,
      ...timeLines('written', listed.contents),
    ];
  };
  const lines = [
    `mode:   ${setup.mode}${setup.signingKey ? ' (entries signed)' : ''}`,
    `local:  ${displayPath(setup.dir)}: ${counts(stats)}`,
    ...timeLines('last used', stats),
    ...remoteLines(),
  ];
  process.stdout.write(lines.join('\n') + '\n');
  return 0;
}

/** `lbuild cache prune --older-than 30d`: removes what builds have not used for that long. */
export async function cachePruneCommand(
  options: GlobalOptions & { olderThan?: string },
): Promise<number> {
  const setup = cacheSetup(await settingsOf(options));
  const age = parseAge(options.olderThan ?? '30d');
  const removed = await pruneLocalCache(setup.dir, age);
  if (options.json)
    process.stdout.write(JSON.stringify({ dir: setup.dir, removed }, null, 2) + '\n');
  else
    process.stdout.write(
      `lbuild: pruned ${displayPath(setup.dir)}: ${removed.entries} entries, ${removed.blobs} blobs, ${formatBytes(removed.bytes)}\n`,
    );
  return 0;
}

const UNITS: Record<string, number> = { m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** `30d`, `12h`, `2w`, `90m`: an age in milliseconds. */
export function parseAge(text: string): number {
  const match = /^(\d+)([mhdw])$/.exec(text.trim());
  const unit = match ? UNITS[match[2] ?? ''] : undefined;
  if (!match || unit === undefined) {
    throw configError('invalid-cache-setting', `--older-than ${text} is not an age`, {
      hint: 'give a number and a unit: 90m, 12h, 30d or 2w',
    });
  }
  return Number(match[1]) * unit;
}
