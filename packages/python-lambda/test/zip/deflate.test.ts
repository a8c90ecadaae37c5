import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { EntryCache } from '../../src/zip/cache.js';
import { Deflate } from 'fflate';
import {
  DeflatePool,
  STREAM_CHUNK,
  STREAM_THRESHOLD,
  deflateHere,
  deflateToCacheHere,
} from '../../src/zip/deflate.js';
import type { DeflateJob } from '../../src/zip/deflate.js';
import { noise, withTempDir } from '../tree/fixtures.js';
import { PY_SOURCE } from './zip-fixtures.js';

describe('deflate jobs', () => {
  it('write the same cache file on the main thread and in a worker', () =>
    withTempDir(async (dir) => {
      const pool = new DeflatePool(2);
      try {
        const cases: [string, Buffer][] = [
          ['text', Buffer.from(PY_SOURCE.repeat(20))],
          ['noise', noise(300_000, 9)],
          ['tiny', Buffer.from('x = 1\n')],
        ];
        for (const [name, content] of cases) {
          const source = join(dir, `${name}.src`);
          await writeFile(source, Buffer.concat([Buffer.from('prefix'), content]));
          const job = (cacheFile: string): DeflateJob => ({
            path: source,
            start: 6,
            size: content.length,
            wholeFile: false,
            expectedCrc: crc32(content),
            level: 6,
            cacheFile,
          });
          const here = deflateToCacheHere(job(join(dir, 'main', name)));
          const there = await pool.run(job(join(dir, 'worker', name)));
          expect(there).toEqual(here);
          const hereBytes = await readFile(join(dir, 'main', name));
          expect(await readFile(join(dir, 'worker', name))).toEqual(hereBytes);
          if (here.ok && here.method === 8)
            expect(hereBytes.subarray(32)).toEqual(Buffer.from(deflateHere(content, 6)));
          expect(here).toMatchObject({
            ok: true,
            method: name === 'text' ? 8 : 0,
            crc32: crc32(content),
          });
        }
      } finally {
        await pool.close();
      }
    }));

  it('stream contents over the threshold in fixed chunks', { timeout: 120_000 }, () =>
    withTempDir(async (dir) => {
      const pool = new DeflatePool(1);
      try {
        const text = Buffer.from(
          PY_SOURCE.repeat(
            Math.ceil((STREAM_THRESHOLD + 3 * STREAM_CHUNK + 123) / PY_SOURCE.length),
          ),
        ).subarray(0, STREAM_THRESHOLD + 3 * STREAM_CHUNK + 123);
        const random = noise(STREAM_THRESHOLD + 1, 4);
        for (const [name, content] of [
          ['text', text],
          ['random', random],
        ] as const) {
          const source = join(dir, name);
          await writeFile(source, content);
          const cacheFile = join(dir, 'cache', name);
          const outcome = await pool.run({
            path: source,
            start: 0,
            size: content.length,
            wholeFile: true,
            expectedCrc: null,
            level: 6,
            cacheFile,
          });
          // The reference: fflate's streaming Deflate fed STREAM_CHUNK bytes at a time.
          const parts: Uint8Array[] = [];
          const reference = new Deflate({ level: 6 }, (data) => parts.push(data));
          for (let at = 0; at < content.length; at += STREAM_CHUNK) {
            reference.push(
              content.subarray(at, at + STREAM_CHUNK),
              at + STREAM_CHUNK >= content.length,
            );
          }
          const expected = Buffer.concat(parts);
          const written = await readFile(cacheFile);
          if (name === 'text') {
            expect(outcome).toEqual({
              ok: true,
              method: 8,
              crc32: crc32(content),
              compressedSize: expected.length,
            });
            expect(written.subarray(32)).toEqual(expected);
          } else {
            expect(outcome).toEqual({
              ok: true,
              method: 0,
              crc32: crc32(content),
              compressedSize: content.length,
            });
            expect(written.length).toBe(32);
          }
        }
        expect(() =>
          deflateToCacheHere({
            path: join(dir, 'text'),
            start: 0,
            size: text.length,
            wholeFile: true,
            expectedCrc: null,
            level: 6,
            cacheFile: join(dir, 'x'),
          }),
        ).toThrow(/workers/);
      } finally {
        await pool.close();
      }
    }),
  );

  it('report content that is not what the tree said', () =>
    withTempDir(async (dir) => {
      const source = join(dir, 'file.py');
      await writeFile(source, 'twelve bytes');
      const pool = new DeflatePool(1);
      try {
        const base = { path: source, start: 0, level: 6, cacheFile: join(dir, 'c', 'x') };
        const wrongSize: DeflateJob = { ...base, size: 5, wholeFile: true, expectedCrc: null };
        const wrongCrc: DeflateJob = { ...base, size: 12, wholeFile: false, expectedCrc: 1 };
        expect(deflateToCacheHere(wrongSize)).toEqual({ ok: false, problem: 'size', actual: 12 });
        expect(await pool.run(wrongSize)).toEqual({ ok: false, problem: 'size', actual: 12 });
        expect(deflateToCacheHere(wrongCrc)).toEqual({ ok: false, problem: 'crc' });
        expect(await pool.run(wrongCrc)).toEqual({ ok: false, problem: 'crc' });
      } finally {
        await pool.close();
      }
    }));

  it('are found by the cache afterwards', () =>
    withTempDir(async (dir) => {
      const cache = new EntryCache(join(dir, 'cache'), 6);
      const source = join(dir, 'a.py');
      const content = Buffer.from(PY_SOURCE);
      await writeFile(source, content);
      expect(cache.lookup('key-a', content.length)).toBeNull();
      const outcome = deflateToCacheHere({
        path: source,
        start: 0,
        size: content.length,
        wholeFile: true,
        expectedCrc: null,
        level: 6,
        cacheFile: cache.fileFor('key-a'),
      });
      expect(cache.lookup('key-a', content.length)).toEqual({
        ...outcome,
        ok: undefined,
        size: content.length,
        file: cache.fileFor('key-a'),
      });
      expect(cache.lookup('key-a', content.length + 1)).toBeNull(); // another size: a miss
      expect(new EntryCache(join(dir, 'cache'), 9).lookup('key-a', content.length)).toBeNull(); // another level
    }));
});
