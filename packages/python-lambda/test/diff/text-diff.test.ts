import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isText, unifiedTextDiff } from '../../src/diff/text-diff.js';

/** What GNU diff -u prints for the two texts, without its two header lines. */
function gnuDiff(a: string, b: string): string[] {
  const dir = mkdtempSync(join(tmpdir(), 'lbuild-text-diff-'));
  try {
    writeFileSync(join(dir, 'a'), a);
    writeFileSync(join(dir, 'b'), b);
    try {
      execFileSync('diff', ['-u', join(dir, 'a'), join(dir, 'b')], { encoding: 'utf8' });
      return [];
    } catch (error) {
      return (error as { stdout: string }).stdout.trimEnd().split('\n').slice(2);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const lines = (n: number, tag = '') =>
  Array.from({ length: n }, (_, i) => `line ${String(i + 1)}${tag}\n`).join('');

describe('unifiedTextDiff', () => {
  // One change each: GNU diff's hunk is the same one hunk.
  it.each([
    ['a line added at the end', lines(10), `${lines(10)}added\n`],
    ['a line changed in the middle', lines(20), lines(20).replace('line 10\n', 'line ten\n')],
    ['a line removed at the start', lines(8), lines(8).replace('line 1\n', '')],
    ['lines inserted near the start', lines(6), `line 1\nnew a\nnew b\n${lines(6).slice(7)}`],
    ['the final newline removed', lines(5), lines(5).slice(0, -1)],
    ['the final newline added', lines(5).slice(0, -1), lines(5)],
    ['from empty', '', lines(2)],
    ['to empty', lines(2), ''],
    ['no newline at the end of either', 'a\nb', 'a\nc'],
  ])('%s: as diff -u', (_name, a, b) => {
    expect(unifiedTextDiff(a, b, Infinity)).toEqual({ lines: gnuDiff(a, b), omitted: 0 });
  });

  it('is cut at maxLines, and says how many lines it left out', () => {
    const diff = unifiedTextDiff(lines(30, ' old'), lines(30, ' new'), 20);
    expect(diff.lines[0]).toBe('@@ -1,30 +1,30 @@');
    expect(diff.lines).toHaveLength(21);
    expect(diff.omitted).toBe(40);
  });
});

describe('isText', () => {
  it('UTF-8 without NUL is text; NUL bytes or invalid UTF-8 are not', () => {
    expect(isText(Buffer.from('héllo\n'))).toBe(true);
    expect(isText(Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0x02, 0x00]))).toBe(false);
    expect(isText(Buffer.from([0xff, 0xfe, 0x41]))).toBe(false);
  });
});
