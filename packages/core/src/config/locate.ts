/**
 * Finds the line of a key path in TOML source. smol-toml reports positions only for syntax
 * errors, and a validation error is much more useful with a line number, so this scanner follows
 * table headers and `key =` lines (bare, quoted and dotted keys) well enough to point at them.
 */
export function locateKey(
  source: string,
  path: readonly string[],
): { line: number; column: number } | undefined {
  let best: { line: number; column: number; depth: number } | undefined;
  const consider = (full: readonly string[], line: number, column: number) => {
    let depth = 0;
    while (depth < full.length && depth < path.length && full[depth] === path[depth]) depth++;
    // A deeper header or dotted key that starts with the path also introduces it (`[targets.a]`
    // defines `targets`): the first such line is where the key is.
    if ((depth === full.length || depth === path.length) && (!best || depth > best.depth))
      best = { line, column, depth };
  };
  for (const { key, line, column, raw, assignment } of linesFor(keyLines(source), path)) {
    consider(key, line, column);
    // Inline tables: `files = { "a" = "b" }` — look for the next path segment on this line.
    if (assignment && key.length < path.length && key.every((k, i) => path[i] === k)) {
      const inner = path[key.length];
      if (inner !== undefined) {
        const found = new RegExp(
          `[{,]\\s*(?:${escape(inner)}|"${escape(inner)}"|'${escape(inner)}')\\s*=`,
        ).exec(raw);
        // The column of the key itself, past the `{` or `,` and any spaces.
        if (found) consider([...key, inner], line, found.index + found[0].search(/[^{,\s]/) + 1);
      }
    }
  }
  return best && best.depth > 0 ? { line: best.line, column: best.column } : undefined;
}

interface KeyLine {
  /** The full key path the line introduces: a table header's, or its table's plus `key =`. */
  key: string[];
  line: number;
  column: number;
  raw: string;
  assignment: boolean;
}

interface ScannedSource {
  source: string;
  /** Lines of keys shorter than two parts (`default =`, `[bundle]`), in file order. */
  short: KeyLine[];
  /** The other lines by their first two parts (`bundle.api`), each list in file order. */
  byTable: Map<string, KeyLine[]>;
}

/**
 * The header and `key =` lines of the last source scanned: a config of many tables asks for a
 * location per entry and key, and scanning the whole file for each was quadratic.
 */
let scanned: ScannedSource | undefined;

/**
 * The lines that can introduce `path`, in file order: a line of a key of two parts or more that
 * differs from the path in its first two shares at most one part with it, less than both.
 */
function linesFor(scan: ScannedSource, path: readonly string[]): KeyLine[] {
  if (path.length < 2) return [...scan.short, ...[...scan.byTable.values()].flat()].sort(byLine);
  const table = scan.byTable.get(tableOf(path)) ?? [];
  return scan.short.length === 0 ? table : [...scan.short, ...table].sort(byLine);
}

const byLine = (a: KeyLine, b: KeyLine) => a.line - b.line;
const tableOf = (key: readonly string[]) => JSON.stringify(key.slice(0, 2));

function keyLines(source: string): ScannedSource {
  if (scanned?.source === source) return scanned;
  const found: KeyLine[] = [];
  let table: string[] = [];
  source.split(/\r?\n/).forEach((raw, index) => {
    const text = raw.trim();
    if (text === '' || text.startsWith('#')) return;
    const header = /^\[\[?\s*([^\]]+?)\s*\]\]?/.exec(text);
    if (header?.[1]) {
      table = splitKey(header[1]);
      found.push({
        key: table,
        line: index + 1,
        column: raw.indexOf('[') + 1,
        raw,
        assignment: false,
      });
      return;
    }
    const assignment =
      /^((?:[A-Za-z0-9_-]+|"[^"]*"|'[^']*')(?:\s*\.\s*(?:[A-Za-z0-9_-]+|"[^"]*"|'[^']*'))*)\s*=/.exec(
        text,
      );
    if (assignment?.[1]) {
      found.push({
        key: [...table, ...splitKey(assignment[1])],
        line: index + 1,
        column: raw.length - raw.trimStart().length + 1,
        raw,
        assignment: true,
      });
    }
  });
  const byTable = new Map<string, KeyLine[]>();
  const short: KeyLine[] = [];
  for (const line of found) {
    if (line.key.length < 2) short.push(line);
    else {
      const table = byTable.get(tableOf(line.key));
      if (table) table.push(line);
      else byTable.set(tableOf(line.key), [line]);
    }
  }
  scanned = { source, short, byTable };
  return scanned;
}

/** The parts of a TOML key: `a."b.c".d` → a, b.c, d. */
export function splitKey(key: string): string[] {
  const parts: string[] = [];
  const re = /\s*(?:"([^"]*)"|'([^']*)'|([A-Za-z0-9_-]+))\s*(?:\.|$)/g;
  let match: RegExpExecArray | null;
  while ((match = re.exec(key)) !== null && match[0] !== '') {
    parts.push(match[1] ?? match[2] ?? match[3] ?? '');
  }
  return parts;
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
