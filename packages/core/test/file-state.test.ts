import { mkdirSync, mkdtempSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FileHasher, statMatches, unchangedSince, type FileRecord } from '../src/file-state.js';
import { hashFileContent } from '../src/hash.js';

let dir: string;
let file: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'lbuild-file-state-'));
  file = join(dir, 'a.py');
  writeFileSync(file, 'print(1)\n');
});

afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** A clock a minute past the file's last change: nothing it hashes is racy. */
const settled = () => new FileHasher(() => Date.now() + 60_000);

describe('FileHasher', () => {
  it('hashes a file by content, once per run', async () => {
    const hasher = settled();
    const first = await hasher.state(file);
    const again = await hasher.state(file);
    expect(again).toBe(first);
    expect(hasher.hashed).toBe(1);
    const stats = statSync(file);
    expect(first).toEqual({
      hash: (await hashFileContent(file)).hash,
      size: 9,
      mtimeMs: stats.mtimeMs,
      ctimeMs: stats.ctimeMs,
      ino: stats.ino,
    });
  });

  it('answers concurrent requests for one file with one read', async () => {
    const hasher = settled();
    const records = await Promise.all([hasher.state(file), hasher.state(file), hasher.state(file)]);
    expect(new Set(records).size).toBe(1);
    expect(hasher.hashed).toBe(1);
  });

  it('trusts a recorded file whose stat still matches, without reading it (a stat hit)', async () => {
    const known = await settled().state(file);
    const next = settled();
    expect(await next.state(file, known)).toBe(known);
    expect(next.hashed).toBe(0);
  });

  it('re-hashes a file whose stat changed, and finds the same hash after a touch', async () => {
    const known = (await settled().state(file))!;
    const later = new Date(Date.now() + 5_000);
    utimesSync(file, later, later);
    const next = settled();
    const current = await next.state(file, known);
    expect(next.hashed).toBe(1);
    expect(current).not.toBe(known);
    expect(current?.hash).toBe(known.hash);
    expect(current?.mtimeMs).not.toBe(known.mtimeMs);
  });

  it('finds a same-size change of content', async () => {
    const known = (await settled().state(file))!;
    writeFileSync(file, 'print(2)\n');
    const next = settled();
    const current = await next.state(file, known);
    expect(next.hashed).toBe(1);
    expect(current?.size).toBe(known.size);
    expect(current?.hash).not.toBe(known.hash);
  });

  it('re-hashes a racy record even when its stat matches', async () => {
    const known = (await settled().state(file))!;
    const racy: FileRecord = { ...known, racy: true };
    const next = settled();
    const current = await next.state(file, racy);
    expect(next.hashed).toBe(1);
    expect(current).toEqual(known);
    expect(current?.racy).toBeUndefined();
  });

  it('marks a record racy when the file changed within the timestamp granularity before hashing', async () => {
    const mtime = statSync(file).mtimeMs;
    const soon = await new FileHasher(() => mtime + 10).state(file);
    expect(soon?.racy).toBe(true);
    const late = await new FileHasher(() => mtime + 1_000).state(file);
    expect(late?.racy).toBeUndefined();
  });

  it('allows two seconds on file systems with whole-second timestamps', async () => {
    const second = new Date(Math.floor(Date.now() / 1000) * 1000 - 60_000);
    utimesSync(file, second, second);
    const mtime = statSync(file).mtimeMs;
    expect(mtime % 1000).toBe(0);
    expect((await new FileHasher(() => mtime + 1_500).state(file))?.racy).toBe(true);
    expect((await new FileHasher(() => mtime + 2_500).state(file))?.racy).toBeUndefined();
  });

  it('keeps re-hashing a racy file until its change is old enough to trust', async () => {
    const mtime = statSync(file).mtimeMs;
    const racy = (await new FileHasher(() => mtime + 1).state(file))!;
    const stillRacy = new FileHasher(() => mtime + 2);
    expect((await stillRacy.state(file, racy))?.racy).toBe(true);
    expect(stillRacy.hashed).toBe(1);
    const settledRecord = (await new FileHasher(() => mtime + 60_000).state(file, racy))!;
    expect(settledRecord.racy).toBeUndefined();
    const trusted = new FileHasher(() => mtime + 60_000);
    expect(await trusted.state(file, settledRecord)).toBe(settledRecord);
    expect(trusted.hashed).toBe(0);
  });

  it('forget(file) makes the next request read the file again', async () => {
    const hasher = settled();
    const before = await hasher.state(file);
    writeFileSync(file, 'print("changed")\n');
    // Memoised: within a run a file is read once...
    expect(await hasher.state(file)).toBe(before);
    // ...until a target writes it.
    hasher.forget(file);
    const after = await hasher.state(file);
    expect(after?.hash).not.toBe(before?.hash);
    expect(hasher.hashed).toBe(2);
  });

  it('forget(directory) forgets every file below it, and nothing beside it', async () => {
    for (const rel of ['out/a.txt', 'out/sub/b.txt', 'out2/c.txt']) {
      mkdirSync(join(dir, rel, '..'), { recursive: true });
      writeFileSync(join(dir, rel), rel);
    }
    const hasher = settled();
    for (const rel of ['out/a.txt', 'out/sub/b.txt', 'out2/c.txt'])
      await hasher.state(join(dir, rel));
    expect(hasher.hashed).toBe(3);
    hasher.forget(join(dir, 'out'));
    for (const rel of ['out/a.txt', 'out/sub/b.txt', 'out2/c.txt'])
      await hasher.state(join(dir, rel));
    expect(hasher.hashed).toBe(5);
  });

  it('has no record for a missing file or a directory', async () => {
    const hasher = settled();
    expect(await hasher.state(join(dir, 'missing.py'))).toBeUndefined();
    expect(await hasher.state(dir)).toBeUndefined();
    expect(hasher.hashed).toBe(0);
  });
});

describe('FileHasher.current', () => {
  it('gives the memo while the file is untouched, and a fresh hash once it was written', async () => {
    const hasher = settled();
    const before = await hasher.state(file);
    expect(await hasher.current(file)).toBe(before);
    expect(hasher.hashed).toBe(1);
    writeFileSync(file, 'print("changed")\n');
    const now = await hasher.current(file);
    expect(now?.hash).toBe((await hashFileContent(file)).hash);
    expect(now?.hash).not.toBe(before?.hash);
    // ...and it replaces the memo, for whoever asks next.
    expect(await hasher.state(file)).toBe(now);
  });
});

describe('unchangedSince (the check after a run)', () => {
  /** The file's stat as it is now, with `hash`: what a same-size edit in one tick leaves. */
  function recordNow(hash: string, racy: boolean): FileRecord {
    const stats = statSync(file);
    return {
      hash: hash as FileRecord['hash'],
      size: stats.size,
      mtimeMs: stats.mtimeMs,
      ctimeMs: stats.ctimeMs,
      ino: stats.ino,
      ...(racy ? { racy: true as const } : {}),
    };
  }

  it('a same-size edit that left the stat as recorded is found when the record was racy', async () => {
    const old = (await hashFileContent(file)).hash;
    writeFileSync(file, 'print(2)\n');
    // As if the edit fell in the timestamp tick of the hash: size, mtime and ctime as recorded.
    expect(await unchangedSince(file, recordNow(old, true))).toBe(false);
    expect(await unchangedSince(file, recordNow((await hashFileContent(file)).hash, true))).toBe(
      true,
    );
  });

  it('trusts a matching stat of a record that was not racy, and nothing else', async () => {
    const record = (await settled().state(file))!;
    expect(await unchangedSince(file, record)).toBe(true);
    // A stat that differs is a change, whatever the content (the run may have read another).
    expect(await unchangedSince(file, { ...record, mtimeMs: record.mtimeMs - 1 })).toBe(false);
    expect(await unchangedSince(file, { ...record, ctimeMs: record.ctimeMs - 1 })).toBe(false);
    expect(await unchangedSince(file, { ...record, ino: record.ino + 1 })).toBe(false);
    rmSync(file);
    expect(await unchangedSince(file, record)).toBe(false);
  });
});

describe('statMatches', () => {
  it('compares size, mtime, ctime and inode', async () => {
    const record = (await settled().state(file))!;
    const stats = statSync(file);
    expect(statMatches(record, stats)).toBe(true);
    for (const field of ['size', 'mtimeMs', 'ctimeMs', 'ino'] as const) {
      expect(statMatches({ ...record, [field]: record[field] + 1 }, stats)).toBe(false);
    }
  });
});
