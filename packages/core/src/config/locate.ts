/**
 * Finds the line of a key path in TOML source. smol-toml reports positions only for syntax
 * errors, and a validation error is much more useful with a line number, so this scanner follows
 * table headers and `key =` lines (bare, quoted and dotted keys) well enough to point at them.
 */
export function locateKey(
  source: string,
  path: readonly string[],
): { line: number; column: number } | undefined {
  const lines = source.split(/\r?\n/);
  let table: string[] = [];
  let best: { line: number; column: number; depth: number } | undefined;
  const consider = (full: string[], line: number, column: number) => {
    let depth = 0;
    while (depth < full.length && depth < path.length && full[depth] === path[depth]) depth++;
    // A deeper header or dotted key that starts with the path also introduces it (`[targets.a]`
    // defines `targets`): the first such line is where the key is.
    if ((depth === full.length || depth === path.length) && (!best || depth > best.depth))
      best = { line, column, depth };
  };
  lines.forEach((raw, index) => {
    const text = raw.trim();
    if (text === '' || text.startsWith('#')) return;
    const header = /^\[\[?\s*([^\]]+?)\s*\]\]?/.exec(text);
    if (header?.[1]) {
      table = splitKey(header[1]);
      consider(table, index + 1, raw.indexOf('[') + 1);
      return;
    }
    const assignment =
      /^((?:[A-Za-z0-9_-]+|"[^"]*"|'[^']*')(?:\s*\.\s*(?:[A-Za-z0-9_-]+|"[^"]*"|'[^']*'))*)\s*=/.exec(
        text,
      );
    if (assignment?.[1]) {
      const key = [...table, ...splitKey(assignment[1])];
      consider(key, index + 1, raw.length - raw.trimStart().length + 1);
      // Inline tables: `files = { "a" = "b" }` — look for the next path segment on this line.
      if (key.length < path.length && key.every((k, i) => path[i] === k)) {
        const inner = path[key.length];
        if (inner !== undefined) {
          const found = new RegExp(
            `[{,]\\s*(?:${escape(inner)}|"${escape(inner)}"|'${escape(inner)}')\\s*=`,
          ).exec(raw);
          // The column of the key itself, past the `{` or `,` and any spaces.
          if (found)
            consider([...key, inner], index + 1, found.index + found[0].search(/[^{,\s]/) + 1);
        }
      }
    }
  });
  return best && best.depth > 0 ? { line: best.line, column: best.column } : undefined;
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
