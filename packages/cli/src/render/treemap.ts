/** A rectangle in the treemap's own units. */
export interface Rect {
  x: number;
  y: number;
  w: number;
  h: number;
}

/** A node of the tree to lay out: a file (no children) or a folder, package or root. */
export interface TreeNode {
  name: string;
  /** Bytes: a file's size, or the sum of the children's. */
  size: number;
  children: TreeNode[];
}

/** A box to draw. */
export interface Box extends Rect {
  node: TreeNode;
  /** 0 for the top level (packages), 1 for their folders and files, and so on. */
  depth: number;
  /** The index in `roots` of the top-level node it lies in (its package). */
  top: number;
  /** '/'-joined names from the top-level node down (the top-level node's name excluded). */
  path: string;
  /** Whether its children are drawn inside it, below a header that names it. */
  open: boolean;
}

export interface LayoutOptions {
  /** Height of the header strip of an open box. */
  header: number;
  /** Space between an open box's edge and its children. */
  padding: number;
  /** Boxes narrower or lower than this are drawn closed (their children are not shown). */
  minOpen: number;
  /** Boxes smaller than this in area are not drawn (their parent's colour shows through). */
  minArea: number;
}

/**
 * Squarified treemap (Bruls, Huizing, van Wijk): lays `sizes` (largest first) out in `rect` in
 * rows along the shorter side, adding to a row while that keeps its boxes closer to squares.
 */
export function squarify(sizes: readonly number[], rect: Rect): Rect[] {
  const total = sizes.reduce((a, b) => a + b, 0);
  if (total <= 0 || rect.w <= 0 || rect.h <= 0) return sizes.map(() => ({ ...rect, w: 0, h: 0 }));
  const scale = (rect.w * rect.h) / total;
  const areas = sizes.map((s) => s * scale);
  const out: Rect[] = [];
  let { x, y, w, h } = rect;
  let i = 0;
  while (i < areas.length) {
    const side = Math.min(w, h);
    let end = i + 1;
    while (end < areas.length && worst(areas, i, end + 1, side) <= worst(areas, i, end, side))
      end++;
    let sum = 0;
    for (let k = i; k < end; k++) sum += areas[k] ?? 0;
    if (w >= h) {
      const width = h > 0 ? sum / h : 0;
      let at = y;
      for (let k = i; k < end; k++) {
        const height = width > 0 ? (areas[k] ?? 0) / width : 0;
        out.push({ x, y: at, w: width, h: height });
        at += height;
      }
      x += width;
      w -= width;
    } else {
      const height = w > 0 ? sum / w : 0;
      let at = x;
      for (let k = i; k < end; k++) {
        const width = height > 0 ? (areas[k] ?? 0) / height : 0;
        out.push({ x: at, y, w: width, h: height });
        at += width;
      }
      y += height;
      h -= height;
    }
    i = end;
  }
  return out;
}

/** The worst aspect ratio of the boxes `areas[from..to)` in a row along a side of `side`. */
function worst(areas: readonly number[], from: number, to: number, side: number): number {
  let sum = 0;
  let max = 0;
  let min = Infinity;
  for (let k = from; k < to; k++) {
    const a = areas[k] ?? 0;
    sum += a;
    max = Math.max(max, a);
    min = Math.min(min, a);
  }
  const s2 = side * side;
  const sum2 = sum * sum;
  return Math.max((s2 * max) / sum2, sum2 / (s2 * min));
}

/**
 * Lays out `roots` (the packages) in `rect`, each opened into its folders and files while there
 * is room for a header and children; returns the boxes parents first.
 */
export function layoutTreemap(roots: readonly TreeNode[], rect: Rect, o: LayoutOptions): Box[] {
  const boxes: Box[] = [];
  const visit = (
    nodes: readonly TreeNode[],
    area: Rect,
    depth: number,
    top: number,
    path: string,
  ) => {
    const sorted = nodes.filter((n) => n.size > 0).sort((a, b) => b.size - a.size);
    const rects = squarify(
      sorted.map((n) => n.size),
      area,
    );
    sorted.forEach((node, i) => {
      const r = rects[i];
      if (r === undefined || r.w * r.h < o.minArea) return;
      const here = depth === 0 ? roots.indexOf(node) : top;
      const nodePath = depth === 0 ? '' : path ? `${path}/${node.name}` : node.name;
      const open =
        node.children.length > 0 &&
        r.w >= o.minOpen &&
        r.h >= o.minOpen + o.header &&
        r.w - 2 * o.padding > 0;
      boxes.push({ ...r, node, depth, top: here, path: nodePath, open });
      if (open) {
        visit(
          node.children,
          {
            x: r.x + o.padding,
            y: r.y + o.header,
            w: r.w - 2 * o.padding,
            h: r.h - o.header - o.padding,
          },
          depth + 1,
          here,
          nodePath,
        );
      }
    });
  };
  visit(roots, rect, 0, 0, '');
  return boxes;
}

/** Files (path and size) as a tree of folders. */
export function folderTree(
  name: string,
  files: readonly { path: string; size: number }[],
): TreeNode {
  const root: TreeNode = { name, size: 0, children: [] };
  const byName = new Map<TreeNode, Map<string, TreeNode>>();
  for (const file of files) {
    root.size += file.size;
    let node = root;
    for (const part of file.path.split('/')) {
      let names = byName.get(node);
      if (names === undefined) byName.set(node, (names = new Map<string, TreeNode>()));
      let child = names.get(part);
      if (child === undefined) {
        child = { name: part, size: 0, children: [] };
        names.set(part, child);
        node.children.push(child);
      }
      child.size += file.size;
      node = child;
    }
  }
  return root;
}
