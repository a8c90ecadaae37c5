import {
  configError,
  formatBytes,
  LbuildError,
  localCacheStats,
  pruneLocalCache,
  type Project,
} from '@lbuild/core';
import { cacheSetup, displayPath, displayUrl } from '../cache-settings.js';
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

/** `lbuild cache`: what the local cache holds, and which remote one builds use. */
export async function cacheCommand(options: GlobalOptions): Promise<number> {
  const setup = cacheSetup(await settingsOf(options));
  const stats = await localCacheStats(setup.dir);
  const remote = setup.url ? displayUrl(setup.url) : undefined;
  if (options.json) {
    process.stdout.write(
      JSON.stringify(
        {
          mode: setup.mode,
          local: {
            dir: setup.dir,
            entries: stats.entries,
            blobs: stats.blobs,
            bytes: stats.bytes,
            ...(stats.oldest ? { oldest: stats.oldest.toISOString() } : {}),
            ...(stats.newest ? { newest: stats.newest.toISOString() } : {}),
          },
          ...(remote ? { remote: { url: remote } } : {}),
          signed: setup.signingKey !== undefined,
        },
        null,
        2,
      ) + '\n',
    );
    return 0;
  }
  const lines = [
    `mode:   ${setup.mode}${setup.signingKey ? ' (entries signed)' : ''}`,
    `local:  ${displayPath(setup.dir)}: ${stats.entries} entries, ${stats.blobs} blobs, ${formatBytes(stats.bytes)}`,
    ...(stats.oldest && stats.newest
      ? [
          `        last used ${stats.oldest.toISOString()} (oldest) to ${stats.newest.toISOString()}`,
        ]
      : []),
    `remote: ${remote ?? 'none (set [cache] url or LBUILD_CACHE_URL)'}`,
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
