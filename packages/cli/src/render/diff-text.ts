import type { EntryGroup, FieldChange, ZipDiff } from '@lbuild/python-lambda';
import type { DiffResult } from '../commands/diff.js';
import { formatSize } from './size-text.js';

/** Entries listed per section unless `--all`. */
export const LIST_CAP = 20;

const count = (n: number) => n.toLocaleString('en-US');
const plural = (n: number, word: string) => `${count(n)} ${word}${n === 1 ? '' : 's'}`;
const bytes = (n: number) => `${count(n)} ${n === 1 ? 'byte' : 'bytes'}`;
const entries = (n: number, what = 'entry') =>
  `${count(n)} ${n === 1 ? what : what.replace(/y$/, 'ies')}`;

function groupName(group: EntryGroup): string {
  return group.kind === 'distribution' ? `${group.name} ${group.version}` : 'project files';
}

/** Project files first, then distributions by name: as `lbuild size` lists them, sources apart. */
function groupOrder(group: EntryGroup): string {
  return group.kind === 'distribution' ? `1 ${group.name.toLowerCase()}` : '0';
}

/**
 * Items under one heading per group (a distribution, or the project's files), at most `cap` of
 * them, then how many more there are.
 */
function grouped<T extends { path: string; group: EntryGroup }>(
  items: readonly T[],
  cap: number,
  line: (item: T) => string[],
): string[] {
  const sorted = [...items].sort(
    (x, y) =>
      groupOrder(x.group).localeCompare(groupOrder(y.group)) ||
      (x.path < y.path ? -1 : x.path > y.path ? 1 : 0),
  );
  const out: string[] = [];
  let heading = '';
  for (const item of sorted.slice(0, cap)) {
    const name = groupName(item.group);
    if (name !== heading) {
      out.push(`  ${name}`);
      heading = name;
    }
    out.push(...line(item).map((l) => `    ${l}`));
  }
  if (sorted.length > cap)
    out.push(`  … and ${count(sorted.length - cap)} more (--all lists every one, --json too)`);
  return out;
}

const fields = (changes: readonly FieldChange[]) =>
  changes.map((c) => `${c.field}: ${c.a} → ${c.b}`).join('; ');

function header(result: DiffResult): string[] {
  const { diff, deployed } = result;
  const row = (label: string, side: ZipDiff['a']) =>
    `  ${label}  ${side.path}  ${formatSize(side.bytes)}, ${entries(side.entries)}, CodeSha256 ${side.codeSha256}`;
  if (diff.identical) {
    return deployed
      ? [
          `lbuild diff: identical: ${deployed.functionName} runs ${diff.b.path} (CodeSha256 ${deployed.codeSha256})`,
        ]
      : [
          `lbuild diff: identical: ${diff.a.path} and ${diff.b.path} (CodeSha256 ${diff.a.codeSha256})`,
        ];
  }
  const lines = [`lbuild diff: ${diff.a.path} and ${diff.b.path} differ`];
  if (deployed) {
    lines.push(
      `  deployed CodeSha256 ${deployed.codeSha256}${deployed.lastModified ? ` (modified ${deployed.lastModified})` : ''}`,
      `  local    CodeSha256 ${diff.b.codeSha256}`,
    );
  }
  lines.push(row('a', diff.a), row('b', diff.b));
  return lines;
}

/** `lbuild diff`: why two zips differ, most telling first; long lists are cut unless `all`. */
export function diffText(result: DiffResult, options: { all: boolean }): string {
  const { diff } = result;
  const cap = options.all ? Infinity : LIST_CAP;
  const head = header(result);
  if (diff.identical) return head.join('\n') + '\n';
  const sections: string[][] = [head];

  if (diff.distributions.length) {
    sections.push([
      'distributions',
      ...diff.distributions.map((d) =>
        d.a === undefined
          ? `  + ${d.name} ${d.b ?? ''} (only in b)`
          : d.b === undefined
            ? `  - ${d.name} ${d.a} (only in a)`
            : `  ~ ${d.name} ${d.a} → ${d.b}`,
      ),
    ]);
  }
  const only = (which: 'a' | 'b', items: ZipDiff['onlyInA']) => {
    if (items.length)
      sections.push([
        `only in ${which} (${count(items.length)})`,
        ...grouped(items, cap, (e) => [
          `${e.path}${e.directory ? ' (directory)' : `  ${bytes(e.size)}, CRC-32 ${e.crc32}`}`,
        ]),
      ]);
  };
  only('a', diff.onlyInA);
  only('b', diff.onlyInB);

  if (diff.content.length) {
    sections.push([
      `content differs (${count(diff.content.length)})`,
      ...grouped(diff.content, cap, (c) => {
        const lines = [
          `${c.path}  ${bytes(c.a.size)} → ${bytes(c.b.size)}, CRC-32 ${c.a.crc32} → ${c.b.crc32}`,
          `  sha256 ${c.a.sha256} → ${c.b.sha256}`,
        ];
        if (c.metadata.length) lines.push(`  also ${fields(c.metadata)}`);
        if (c.text) {
          lines.push(
            `  --- a/${c.path}`,
            `  +++ b/${c.path}`,
            ...c.text.lines.map((l) => `  ${l}`),
          );
          if (c.text.omitted)
            lines.push(`  … ${plural(c.text.omitted, 'more line')} (--content shows all)`);
        } else if (c.noText === 'binary') lines.push('  (binary)');
        else if (c.noText === 'too-large') lines.push('  (too large for a text diff)');
        else if (c.noText === 'cap') lines.push('  (no text diff: --content shows every one)');
        return lines;
      }),
    ]);
  }

  if (diff.metadata.length) {
    const byField = new Map<string, number>();
    for (const m of diff.metadata)
      for (const c of m.changes) byField.set(c.field, (byField.get(c.field) ?? 0) + 1);
    sections.push([
      `same content, other metadata (${count(diff.metadata.length)})`,
      `  ${[...byField].map(([field, n]) => `${field}: ${entries(n)}`).join(', ')}`,
      ...grouped(diff.metadata, cap, (m) => [`${m.path}  ${fields(m.changes)}`]),
    ]);
  }

  if (diff.order.moved) {
    const { first } = diff.order;
    sections.push([
      'entry order',
      `  ${count(diff.order.moved)} of ${entries(diff.order.common, 'common entry')} in another order${
        first ? `; first at #${String(first.position)}: a has ${first.a}, b has ${first.b}` : ''
      }`,
    ]);
  }

  if (diff.archive.length) {
    sections.push([
      'archive',
      ...diff.archive.map((c) =>
        c.a === c.b ? `  ${c.field}: ${c.a}` : `  ${c.field}: ${c.a} → ${c.b}`,
      ),
    ]);
  }
  return sections.map((s) => s.join('\n')).join('\n\n') + '\n';
}
