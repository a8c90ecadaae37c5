import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startS3rver, type RunningS3 } from '../../packages/lambda-emulator/test/helpers.js';
import { helloProject, ZIP } from '../deploy/rig.js';
import type { JsonSummary, RunResult, TempProject } from '../helpers/project.js';
import { sha256 } from '../bundle/rig.js';

/**
 * The shared cache on S3 end to end: the built CLI against s3rver on 127.0.0.1, each "machine"
 * with its own HOME and local cache directory, so that whatever one restores came through the
 * bucket. Nothing here can reach AWS.
 */
const BUCKET = 'lbuild-cache';
let s3: RunningS3;
let scratch: string;
let machines = 0;
const projects: TempProject[] = [];

beforeAll(async () => {
  s3 = await startS3rver([BUCKET]);
  scratch = mkdtempSync(join(tmpdir(), 'lbuild-s3-cache-'));
});
afterAll(async () => {
  for (const project of projects) project.dispose();
  await s3.close();
  rmSync(scratch, { recursive: true, force: true });
});

/** A fresh clone of the example: no .lbuild, no dist. */
function clone(): TempProject {
  const project = helloProject('');
  projects.push(project);
  return project;
}

/** A machine of its own (HOME, local cache) that shares the bucket's `prefix`. */
function machine(prefix: string, extra: Record<string, string | undefined> = {}) {
  const home = join(scratch, `home-${String(++machines)}`);
  return {
    HOME: home,
    XDG_CACHE_HOME: join(home, '.cache'),
    LBUILD_CACHE_DIR: undefined,
    LBUILD_CACHE_MODE: 'read-write',
    LBUILD_CACHE_URL: `s3://${BUCKET}/${prefix}`,
    LBUILD_CACHE_SIGNING_KEY: undefined,
    AWS_ACCESS_KEY_ID: 'S3RVER',
    AWS_SECRET_ACCESS_KEY: 'S3RVER',
    AWS_SESSION_TOKEN: undefined,
    AWS_PROFILE: undefined,
    AWS_REGION: 'us-east-1',
    AWS_CONFIG_FILE: join(home, 'no-aws-config'),
    AWS_SHARED_CREDENTIALS_FILE: join(home, 'no-aws-credentials'),
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_ENDPOINT_URL: undefined,
    AWS_ENDPOINT_URL_S3: s3.endpoint,
    ...extra,
  };
}

const restored = (summary: JsonSummary) =>
  summary.targets
    .filter((t) => (t as { restored?: unknown }).restored !== undefined)
    .map((t) => t.key)
    .sort();

/** The keys stored under `prefix/`, by a plain ListObjectsV2 (s3rver answers anonymously). */
async function keysUnder(prefix: string): Promise<string[]> {
  const response = await fetch(`${s3.endpoint}/${BUCKET}?list-type=2&prefix=${prefix}/`);
  const xml = await response.text();
  return [...xml.matchAll(/<Key>([^<]+)<\/Key>/g)].map((m) => m[1] as string);
}

/** Warning lines about the cache in a run's output. */
function cacheWarnings(result: RunResult): string[] {
  return `${result.stdout}\n${result.stderr}`
    .split('\n')
    .filter((line) => /warning:.*cache/i.test(line));
}

/** Builds the example on a machine of its own, filling `prefix`; returns the zip's SHA-256. */
async function fill(prefix: string, extra: Record<string, string | undefined> = {}) {
  const first = clone();
  const built = await first.json([], { env: machine(prefix, extra) });
  expect(built.result.code, built.result.stderr).toBe(0);
  expect(restored(built.summary)).toEqual([]);
  return sha256(first.path(ZIP));
}

describe('the shared cache on S3', () => {
  it('a fresh clone on another machine builds the example from the bucket, without pip', async () => {
    const sha = await fill('fresh');
    const keys = await keysUnder('fresh');
    expect(keys.some((k) => k.startsWith('fresh/entries/'))).toBe(true);
    expect(keys.some((k) => k.startsWith('fresh/blobs/'))).toBe(true);

    const fresh = clone();
    const env = machine('fresh');
    const { result, summary } = await fresh.json([], { env });
    expect(result.code, result.stderr).toBe(0);
    // Every target came from the cache: pip (the wheelhouse) never ran.
    expect(restored(summary)).toEqual([
      'hello:staging',
      'hello:tree',
      'hello:wheelhouse',
      'hello:zip',
    ]);
    expect(sha256(fresh.path(ZIP))).toBe(sha);
    expect(cacheWarnings(result)).toEqual([]);
    const q = await fresh.run(['-q'], { env });
    expect(q.code, q.stderr).toBe(0);
  });

  it('tampered blobs are misses with a warning, never a wrong zip', async () => {
    const sha = await fill('tampered');
    for (const key of (await keysUnder('tampered')).filter((k) => k.includes('/blobs/'))) {
      const put = await fetch(`${s3.endpoint}/${BUCKET}/${key}`, {
        method: 'PUT',
        body: 'not what was stored',
      });
      expect(put.ok).toBe(true);
    }
    const fresh = clone();
    const { result, summary } = await fresh.json([], { env: machine('tampered') });
    expect(result.code, result.stderr).toBe(0);
    expect(restored(summary)).not.toContain('hello:zip');
    expect(cacheWarnings(result).length).toBeGreaterThan(0);
    expect(sha256(fresh.path(ZIP))).toBe(sha);
  });

  it('entries signed with another key are ignored, with a warning', async () => {
    const sha = await fill('signed', { LBUILD_CACHE_SIGNING_KEY: 'key-of-main-builds' });
    const other = clone();
    const { result, summary } = await other.json([], {
      env: machine('signed', {
        LBUILD_CACHE_SIGNING_KEY: 'some-other-key',
        LBUILD_CACHE_MODE: 'read',
      }),
    });
    expect(result.code, result.stderr).toBe(0);
    expect(restored(summary)).toEqual([]);
    expect(cacheWarnings(result).length).toBeGreaterThan(0);
    expect(`${result.stdout}${result.stderr}`).not.toContain('some-other-key');
    expect(sha256(other.path(ZIP))).toBe(sha);
  });

  it('read mode restores and writes nothing', async () => {
    const project = clone();
    const { result } = await project.json([], {
      env: machine('read-only', { LBUILD_CACHE_MODE: 'read' }),
    });
    expect(result.code, result.stderr).toBe(0);
    expect(await keysUnder('read-only')).toEqual([]);
  });

  it('`lbuild cache` lists what the bucket holds under the prefix', async () => {
    await fill('listed');
    const keys = await keysUnder('listed');
    const env = machine('listed');
    const shown = await clone().run(['cache', '--json'], { env });
    expect(shown.code, shown.stderr).toBe(0);
    const remote = (
      JSON.parse(shown.stdout) as {
        remote: { url: string; entries: number; blobs: number; bytes: number; newest: string };
      }
    ).remote;
    expect(remote).toMatchObject({
      url: `s3://${BUCKET}/listed`,
      entries: keys.filter((k) => k.startsWith('listed/entries/')).length,
      blobs: keys.filter((k) => k.startsWith('listed/blobs/')).length,
    });
    expect(remote.entries).toBeGreaterThan(0);
    // At least the zip's bytes are there.
    expect(remote.bytes).toBeGreaterThan(1000);
    expect(Date.parse(remote.newest)).toBeGreaterThan(Date.now() - 600_000);
    const text = await clone().run(['cache'], { env });
    expect(text.stdout).toContain(
      `remote: s3://${BUCKET}/listed: ${String(remote.entries)} entries, ${String(remote.blobs)} blobs`,
    );
    // Another prefix in the same bucket is not counted.
    const other = await clone().run(['cache', '--json'], { env: machine('nothing-here') });
    expect(JSON.parse(other.stdout)).toMatchObject({ remote: { entries: 0, blobs: 0, bytes: 0 } });
  });

  describe('a cache that cannot answer: one warning, the build goes on locally', () => {
    let refusing: Server;
    let hanging: Server;
    let endpoints: { refusing: string; hanging: string; dead: string };

    beforeAll(async () => {
      refusing = createServer((_request, response) => {
        response.writeHead(403, { 'content-type': 'application/xml' });
        response.end(
          '<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>',
        );
      });
      hanging = createServer(() => undefined);
      const closed = createServer();
      for (const server of [refusing, hanging, closed])
        await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const url = (server: Server) =>
        `http://127.0.0.1:${String((server.address() as AddressInfo).port)}`;
      endpoints = { refusing: url(refusing), hanging: url(hanging), dead: url(closed) };
      await new Promise((resolve) => closed.close(resolve));
    });
    afterAll(() => {
      refusing.closeAllConnections();
      refusing.close();
      hanging.closeAllConnections();
      hanging.close();
    });

    it.each([
      ['a dead endpoint', 'dead'],
      ['a 403', 'refusing'],
      ['an endpoint that accepts and never answers', 'hanging'],
    ] as const)('%s', async (_what, which) => {
      const project = clone();
      const { result, summary } = await project.json([], {
        env: machine('unreachable', { AWS_ENDPOINT_URL_S3: endpoints[which] }),
      });
      expect(result.code, result.stderr).toBe(0);
      expect(summary.targets.every((t) => t.status === 'built')).toBe(true);
      expect(cacheWarnings(result)).toHaveLength(1);
      expect(project.exists(ZIP)).toBe(true);
    });

    it('`lbuild cache` says it could not list a dead endpoint, and still shows the local cache', async () => {
      const shown = await clone().run(['cache'], {
        env: machine('unreachable', { AWS_ENDPOINT_URL_S3: endpoints.dead }),
      });
      expect(shown.code, shown.stderr).toBe(0);
      expect(shown.stdout).toMatch(/local: .*: 0 entries/);
      expect(shown.stdout).toMatch(
        new RegExp(`remote: s3://${BUCKET}/unreachable \\(could not list it: .*unreachable`),
      );
    });
  });
});
