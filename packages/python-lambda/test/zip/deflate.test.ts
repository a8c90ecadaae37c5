import { existsSync } from 'node:fs';
import { readFile, readdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { crc32, deflateRawSync } from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import { hashFileContent } from '@lbuild/core';
import { CACHE_HEADER_SIZE, EntryCache } from '../../src/zip/cache.js';
import { contentHashOf, loadContentHash } from '../../src/zip/content-hash.js';
import { Deflate } from 'fflate';
import {
  DeflatePool,
  STREAM_CHUNK,
  STREAM_THRESHOLD,
  deflateHere,
  deflateToCacheHere,
} from '../../src/zip/deflate.js';
import type { DeflateJob, DeflateOutcome } from '../../src/zip/deflate.js';
import { noise, withTempDir } from '../tree/fixtures.js';
import { PY_SOURCE } from './zip-fixtures.js';

describe('deflate jobs', () => {
  // The main thread's jobs and cache look-ups hash with it.
  beforeAll(loadContentHash);

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
            expect(hereBytes.subarray(CACHE_HEADER_SIZE)).toEqual(
              Buffer.from(deflateHere(content, 6)),
            );
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
            expect(written.subarray(CACHE_HEADER_SIZE)).toEqual(expected);
          } else {
            expect(outcome).toEqual({
              ok: true,
              method: 0,
              crc32: crc32(content),
              compressedSize: content.length,
            });
            expect(written.length).toBe(CACHE_HEADER_SIZE);
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

  it(
    "check the content against the tree's content hash, on either thread, and write nothing when it differs",
    { timeout: 120_000 },
    () =>
      withTempDir(async (dir) => {
        await loadContentHash();
        const pool = new DeflatePool(1);
        try {
          const big = Buffer.from(
            PY_SOURCE.repeat(Math.ceil((STREAM_THRESHOLD + 1) / PY_SOURCE.length)),
          );
          for (const [name, content] of [
            ['small', Buffer.from("MODE = 'AAAA'\n")],
            ['big', big],
          ] as const) {
            const source = join(dir, `${name}.py`);
            await writeFile(source, content);
            // The engine's hash of the file, as the tree records it.
            const { hash } = await hashFileContent(source);
            expect(contentHashOf(content)).toBe(hash);
            const job = (expectedHash: string, cacheFile: string): DeflateJob => ({
              path: source,
              start: 0,
              size: content.length,
              wholeFile: true,
              expectedCrc: null,
              expectedHash,
              level: 6,
              cacheFile,
            });
            const threads =
              name === 'small'
                ? [
                    (j: DeflateJob) => Promise.resolve(deflateToCacheHere(j)),
                    (j: DeflateJob) => pool.run(j),
                  ]
                : [(j: DeflateJob) => pool.run(j)];
            for (const [index, run] of threads.entries()) {
              const good = join(dir, 'good', String(index), name);
              expect(await run(job(hash, good))).toMatchObject({ ok: true });
              const other = '0123456789abcdef';
              const bad = join(dir, 'bad', String(index), name);
              expect(await run(job(other, bad))).toEqual({
                ok: false,
                problem: 'hash',
                actual: hash,
              });
              // Neither the cache file nor a temporary one.
              expect(existsSync(dirname(bad)) ? await readdir(dirname(bad)) : []).toEqual([]);
            }
          }
        } finally {
          await pool.close();
        }
      }),
  );

  it('inflate a wheel entry first, to the same cache file as the content itself, on either thread', () =>
    withTempDir(async (dir) => {
      const pool = new DeflatePool(2);
      try {
        const cases: [string, Buffer][] = [
          ['text', Buffer.from(PY_SOURCE.repeat(20))],
          ['noise', noise(300_000, 9)],
          ['tiny', Buffer.from('x = 1\n')],
        ];
        for (const [name, content] of cases) {
          const plain = join(dir, `${name}.src`);
          await writeFile(plain, content);
          const reference = deflateToCacheHere({
            path: plain,
            start: 0,
            size: content.length,
            wholeFile: true,
            expectedCrc: null,
            level: 6,
            cacheFile: join(dir, 'plain', name),
          });
          const expected = await readFile(join(dir, 'plain', name));
          // The same content deflated by zlib in three ways, as three machines might.
          const streams = [0, 1, 9].map((level) => deflateRawSync(content, { level }));
          if (name === 'text') expect(new Set(streams.map((s) => s.toString('hex'))).size).toBe(3);
          for (const [index, stream] of streams.entries()) {
            const wheel = join(dir, `${name}-${String(index)}.whl`);
            await writeFile(wheel, Buffer.concat([Buffer.from('local header'), stream]));
            const job = (cacheFile: string): DeflateJob => ({
              path: wheel,
              start: 12,
              size: content.length,
              wholeFile: false,
              expectedCrc: crc32(content),
              deflatedSize: stream.length,
              level: 6,
              cacheFile,
            });
            // The same file name: it enters the file's digest.
            const [main, worker] = ['main', 'worker'].map((at) =>
              join(dir, at, String(index), name),
            );
            const here = deflateToCacheHere(job(main!));
            const there = await pool.run(job(worker!));
            expect(here).toEqual(reference);
            expect(there).toEqual(reference);
            expect(await readFile(main!)).toEqual(expected);
            expect(await readFile(worker!)).toEqual(expected);
          }
        }
      } finally {
        await pool.close();
      }
    }));

  it(
    'inflate a large wheel entry as a stream, cut into the chunks a file is read in',
    { timeout: 120_000 },
    () =>
      withTempDir(async (dir) => {
        const pool = new DeflatePool(1);
        try {
          const size = STREAM_THRESHOLD + 3 * STREAM_CHUNK + 123;
          const text = Buffer.from(PY_SOURCE.repeat(Math.ceil(size / PY_SOURCE.length))).subarray(
            0,
            size,
          );
          for (const [name, content] of [
            ['text', text],
            ['random', noise(STREAM_THRESHOLD + 1, 4)],
          ] as const) {
            const plain = join(dir, name);
            await writeFile(plain, content);
            const reference = await pool.run({
              path: plain,
              start: 0,
              size: content.length,
              wholeFile: true,
              expectedCrc: null,
              level: 6,
              cacheFile: join(dir, 'plain', name),
            });
            const expected = await readFile(join(dir, 'plain', name));
            expect(reference).toMatchObject({ ok: true, method: name === 'text' ? 8 : 0 });
            for (const level of [1, 9]) {
              const stream = deflateRawSync(content, { level });
              const wheel = join(dir, `${name}-${String(level)}.whl`);
              await writeFile(
                wheel,
                Buffer.concat([Buffer.from('header'), stream, Buffer.from('CD')]),
              );
              const cacheFile = join(dir, 'inflated', String(level), name);
              const outcome = await pool.run({
                path: wheel,
                start: 6,
                size: content.length,
                wholeFile: false,
                expectedCrc: crc32(content),
                deflatedSize: stream.length,
                level: 6,
                cacheFile,
              });
              expect(outcome).toEqual(reference);
              expect(await readFile(cacheFile)).toEqual(expected);
            }
          }
        } finally {
          await pool.close();
        }
      }),
  );

  it('report deflated data that is not what the tree said, the same on either thread', () =>
    withTempDir(async (dir) => {
      const content = Buffer.from(PY_SOURCE);
      const stream = deflateRawSync(content);
      const wheel = join(dir, 'entry.whl');
      await writeFile(wheel, Buffer.concat([stream, noise(5000, 8)]));
      const pool = new DeflatePool(1);
      try {
        const job = (change: Partial<DeflateJob>): DeflateJob => ({
          path: wheel,
          start: 0,
          size: content.length,
          wholeFile: false,
          expectedCrc: crc32(content),
          deflatedSize: stream.length,
          level: 6,
          cacheFile: join(dir, 'cache', 'x'),
          ...change,
        });
        const inflate = (detail: string): DeflateOutcome => ({
          ok: false,
          problem: 'inflate',
          detail,
        });
        const n = content.length;
        const cases: [Partial<DeflateJob>, DeflateOutcome][] = [
          [{ expectedCrc: crc32(content) ^ 1 }, { ok: false, problem: 'crc' }],
          [{ size: n + 1 }, inflate(`it inflates to ${String(n)} bytes, not ${String(n + 1)}`)],
          [
            { size: n - 1 },
            // zlib's maxOutputLength error; its wording is Node's.
            inflate(
              expect.stringMatching(
                new RegExp(`^it does not inflate to ${String(n - 1)} bytes \\(.+\\)$`),
              ) as string,
            ),
          ],
          [
            { deflatedSize: stream.length - 10 },
            inflate(`it does not inflate to ${String(n)} bytes (unexpected end of file)`),
          ],
          [{ deflatedSize: stream.length + 6000 }, inflate('its deflated data is truncated')],
          [
            { start: stream.length },
            inflate(expect.stringMatching(/^it does not inflate to/) as string),
          ],
        ];
        for (const [change, expected] of cases) {
          expect(deflateToCacheHere(job(change)), JSON.stringify(change)).toEqual(expected);
          expect(await pool.run(job(change)), JSON.stringify(change)).toEqual(
            deflateToCacheHere(job(change)),
          );
        }
        // Over STREAM_THRESHOLD (worker only, inflated as a stream).
        const zeros = deflateRawSync(Buffer.alloc(STREAM_THRESHOLD + 2));
        const big = join(dir, 'big.whl');
        await writeFile(big, zeros);
        const bigJob = (change: Partial<DeflateJob>): DeflateJob =>
          job({
            path: big,
            size: STREAM_THRESHOLD + 2,
            deflatedSize: zeros.length,
            expectedCrc: crc32(Buffer.alloc(STREAM_THRESHOLD + 2)),
            ...change,
          });
        const m = STREAM_THRESHOLD + 2;
        const bigCases: [Partial<DeflateJob>, DeflateOutcome][] = [
          [
            {},
            {
              ok: true,
              method: 8,
              crc32: crc32(Buffer.alloc(m)),
              compressedSize: expect.any(Number),
            },
          ],
          [{ expectedCrc: 1 }, { ok: false, problem: 'crc' }],
          [{ size: m + 1 }, inflate(`it inflates to ${String(m)} bytes, not ${String(m + 1)}`)],
          [{ size: m - 1 }, inflate(`it inflates to more than ${String(m - 1)} bytes`)],
          [
            { deflatedSize: zeros.length - 4 },
            inflate(`it does not inflate to ${String(m)} bytes (unexpected end of file)`),
          ],
          [{ deflatedSize: zeros.length + 1 }, inflate('its deflated data is truncated')],
          [
            { deflatedSize: 0 },
            inflate(`it does not inflate to ${String(m)} bytes (unexpected end of file)`),
          ],
        ];
        for (const [change, expected] of bigCases) {
          const cacheFile = join(dir, 'big-cache', JSON.stringify(change));
          const outcome = await pool.run(bigJob({ ...change, cacheFile }));
          expect(outcome, JSON.stringify(change)).toEqual(expected);
          // A failed job leaves no cache file and no temporary file behind.
          const left = await readdir(join(dir, 'big-cache')).catch((): string[] => []);
          expect(left.filter((f) => f.endsWith('.tmp'))).toEqual([]);
          expect(left.includes(JSON.stringify(change))).toBe(outcome.ok);
        }
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
      if (!outcome.ok) throw new Error('expected the job to succeed');
      expect(cache.lookup('key-a', content.length)).toEqual({
        method: outcome.method,
        crc32: outcome.crc32,
        compressedSize: outcome.compressedSize,
        size: content.length,
        file: cache.fileFor('key-a'),
        digest: expect.any(BigInt) as unknown,
      });
      expect(cache.lookup('key-a', content.length + 1)).toBeNull(); // another size: a miss
      expect(new EntryCache(join(dir, 'cache'), 9).lookup('key-a', content.length)).toBeNull(); // another level
    }));
});
