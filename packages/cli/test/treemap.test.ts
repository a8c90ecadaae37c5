import { describe, expect, it } from 'vitest';
import { folderTree, layoutTreemap, squarify } from '../src/render/treemap.js';

describe('squarify', () => {
  it('gives each size its share of the rectangle, inside it, without overlaps', () => {
    const sizes = [600, 300, 200, 120, 60, 30, 10];
    const rect = { x: 10, y: 20, w: 600, h: 400 };
    const rects = squarify(sizes, rect);
    const total = sizes.reduce((a, b) => a + b, 0);
    rects.forEach((r, i) => {
      expect(r.w * r.h).toBeCloseTo(((sizes[i] ?? 0) / total) * rect.w * rect.h, 6);
      expect(r.x).toBeGreaterThanOrEqual(rect.x - 1e-9);
      expect(r.y).toBeGreaterThanOrEqual(rect.y - 1e-9);
      expect(r.x + r.w).toBeLessThanOrEqual(rect.x + rect.w + 1e-9);
      expect(r.y + r.h).toBeLessThanOrEqual(rect.y + rect.h + 1e-9);
      for (const other of rects.slice(i + 1)) {
        const overlapW = Math.min(r.x + r.w, other.x + other.w) - Math.max(r.x, other.x);
        const overlapH = Math.min(r.y + r.h, other.y + other.h) - Math.max(r.y, other.y);
        expect(overlapW <= 1e-9 || overlapH <= 1e-9).toBe(true);
      }
    });
    // Squarified: no box of a row of similar sizes is a sliver.
    const worst = Math.max(...rects.map((r) => Math.max(r.w / r.h, r.h / r.w)));
    expect(worst).toBeLessThan(4);
  });
});

describe('layoutTreemap', () => {
  it('opens a package into its folders and files, and names each box by its path', () => {
    const roots = [
      folderTree('big 1.0', [
        { path: 'big/core.so', size: 800 },
        { path: 'big/tests/t.py', size: 150 },
        { path: 'big-1.0.dist-info/RECORD', size: 50 },
      ]),
      folderTree('small 1.0', [{ path: 'small/__init__.py', size: 100 }]),
    ];
    expect(roots[0]?.size).toBe(1000);
    const boxes = layoutTreemap(
      roots,
      { x: 0, y: 0, w: 1200, h: 720 },
      {
        header: 20,
        padding: 3,
        minOpen: 44,
        minArea: 8,
      },
    );
    expect(boxes[0]).toMatchObject({ depth: 0, top: 0, open: true, path: '' });
    expect(boxes.map((b) => b.path)).toEqual(
      expect.arrayContaining(['big', 'big/core.so', 'big/tests/t.py', 'small/__init__.py']),
    );
    const core = boxes.find((b) => b.path === 'big/core.so');
    expect(core).toMatchObject({ top: 0, depth: 2, open: false });
    expect(boxes.find((b) => b.path === 'small/__init__.py')?.top).toBe(1);
  });
});
