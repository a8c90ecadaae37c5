/** Lines of unchanged context around a text difference, as `diff -u` shows. */
export const CONTEXT_LINES = 3;

/** A unified diff of one entry's text: its lines, and how many were left out. */
export interface TextDiff {
  /** `@@ -a,n +b,m @@` then ` `, `-` and `+` lines (no `---`/`+++` header: the caller names the entry). */
  lines: string[];
  /** Lines of the hunk not shown because of the cap. */
  omitted: number;
}

/**
 * Whether content reads as text: valid UTF-8 without NUL bytes (what `.py`, `.txt`, METADATA and
 * RECORD are; a `.so` or `.pyc` has NULs).
 */
export function isText(content: Buffer): boolean {
  if (content.includes(0)) return false;
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(content);
    return true;
  } catch {
    return false;
  }
}

function splitTextLines(text: string): string[] {
  if (text === '') return [];
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  return lines;
}

/**
 * One hunk from the first differing line to the last, with {@link CONTEXT_LINES} of context: a
 * valid unified diff, minimal when the change is in one place (the usual case for one entry),
 * and at most `maxLines` lines long (`Infinity` for all of it).
 */
export function unifiedTextDiff(a: string, b: string, maxLines: number): TextDiff {
  const left = splitTextLines(a);
  const right = splitTextLines(b);
  let prefix = 0;
  while (prefix < left.length && prefix < right.length && left[prefix] === right[prefix]) prefix++;
  let suffix = 0;
  while (
    suffix < left.length - prefix &&
    suffix < right.length - prefix &&
    left[left.length - 1 - suffix] === right[right.length - 1 - suffix]
  )
    suffix++;
  // A last line without its newline differs from the same line with one, so it joins the hunk.
  const endsDiffer = a !== '' && b !== '' && a.endsWith('\n') !== b.endsWith('\n');
  if (endsDiffer) {
    suffix = 0;
    prefix = Math.min(prefix, Math.max(Math.min(left.length, right.length) - 1, 0));
  }
  const start = Math.max(prefix - CONTEXT_LINES, 0);
  const leftEnd = Math.min(left.length - suffix + CONTEXT_LINES, left.length);
  const rightEnd = Math.min(right.length - suffix + CONTEXT_LINES, right.length);
  const body: string[] = [];
  for (let i = start; i < prefix; i++) body.push(` ${left[i] ?? ''}`);
  for (let i = prefix; i < left.length - suffix; i++) body.push(`-${left[i] ?? ''}`);
  if (!a.endsWith('\n') && suffix === 0 && prefix < left.length)
    body.push('\\ No newline at end of file');
  for (let i = prefix; i < right.length - suffix; i++) body.push(`+${right[i] ?? ''}`);
  if (!b.endsWith('\n') && suffix === 0 && prefix < right.length)
    body.push('\\ No newline at end of file');
  for (let i = left.length - suffix; i < leftEnd; i++) body.push(` ${left[i] ?? ''}`);
  const range = (from: number, count: number) =>
    count === 0
      ? `${String(from)},0`
      : count === 1
        ? String(from + 1)
        : `${String(from + 1)},${String(count)}`;
  const header = `@@ -${range(start, leftEnd - start)} +${range(start, rightEnd - start)} @@`;
  const shown = body.slice(0, maxLines);
  return { lines: [header, ...shown], omitted: body.length - shown.length };
}
