import { formatBytes } from '@lbuild/core';
import type { SizeTotals } from '@lbuild/python-lambda';
import type { BundleSize } from '../commands/size.js';

/** Sizes as lbuild prints them elsewhere (core's formatBytes), with bytes for small files. */
export function formatSize(bytes: number): string {
  const sign = bytes < 0 ? '-' : '';
  const n = Math.abs(bytes);
  return `${sign}${n < 1024 ? `${String(n)} B` : formatBytes(n)}`;
}

/** A share of the limit, as a percentage; a share too small to show is `<0.1 %`, not `0.0 %`. */
export function formatShare(share: number): string {
  if (share > 0 && share < 0.001) return '<0.1 %';
  return `${(share * 100).toFixed(1)} %`;
}

const count = (n: number) => n.toLocaleString('en-US');

/** `lbuild size`: per bundle, a table of distributions and project files, headroom, largest files. */
export function sizeText(sizes: readonly BundleSize[]): string {
  return sizes.map(bundleText).join('\n');
}

function bundleText({ bundle, zip, report }: BundleSize): string {
  const limitMb = report.limits.unzippedBytes / (1024 * 1024);
  const rows: string[][] = [
    [
      'distribution',
      'version',
      'files',
      'unzipped',
      'zipped',
      `of ${String(limitMb)} MB`,
      'excluded',
    ],
  ];
  const row = (name: string, version: string, t: SizeTotals, excluded = '') =>
    rows.push([
      name,
      version,
      count(t.files),
      formatSize(t.unzippedBytes),
      formatSize(t.zippedBytes),
      formatShare(t.share),
      excluded,
    ]);
  for (const d of report.distributions) {
    row(
      d.name,
      d.version,
      d,
      d.excluded.files > 0
        ? `${formatSize(d.excluded.bytes)} in ${count(d.excluded.files)} file${d.excluded.files === 1 ? '' : 's'}`
        : '',
    );
  }
  if (report.sources.files > 0) row('project sources', '', report.sources);
  if (report.extraFiles.files > 0) row('extra files', '', report.extraFiles);
  row('total', '', report.totals);
  const table = align(rows, [false, false, true, true, true, true, false]);
  // A rule above the total.
  const width = Math.max(...table.map((l) => l.length));
  table.splice(table.length - 1, 0, '─'.repeat(width));

  const excluded = report.distributions.reduce((n, d) => n + d.excluded.bytes, 0);
  const lines = [
    `${bundle}: ${zip}, ${formatSize(report.zipBytes)} zipped, ${formatSize(report.totals.unzippedBytes)} unzipped, ${count(report.totals.files)} files`,
    '',
    ...table.map((l) => `  ${l}`.trimEnd()),
    '',
    `  headroom: ${headroom(report.headroom.unzippedBytes, report.limits.unzippedBytes, 'unzipped limit')}`,
    `            ${headroom(report.headroom.directUploadBytes, report.limits.directUploadBytes, 'direct-upload limit (zipped)')}`,
  ];
  if (excluded > 0) lines.push(`  exclude saved ${formatSize(excluded)} unzipped`);
  lines.push('', `  ${String(report.largestFiles.length)} largest files`);
  const owner = (f: BundleSize['report']['files'][number]) =>
    f.owner.kind === 'distribution'
      ? (report.distributions.find(
          (d) => f.owner.kind === 'distribution' && d.distInfo === f.owner.distInfo,
        )?.name ?? f.owner.distInfo)
      : f.owner.kind === 'source'
        ? 'project sources'
        : 'extra files';
  const files = align(
    [
      ['unzipped', 'zipped', 'path', 'from'],
      ...report.largestFiles.map((f) => [
        formatSize(f.unzippedBytes),
        formatSize(f.zippedBytes),
        f.path,
        owner(f),
      ]),
    ],
    [true, true, false, false],
  );
  lines.push(...files.map((l) => `    ${l}`.trimEnd()));
  return lines.join('\n') + '\n';
}

function headroom(left: number, limit: number, what: string): string {
  const mb = `${String(limit / (1024 * 1024))} MB`;
  return left >= 0
    ? `${formatSize(left)} under the ${mb} ${what}`
    : `${formatSize(-left)} OVER the ${mb} ${what}`;
}

/** Columns padded to their widest cell, right-aligned where `right` says. */
function align(rows: readonly string[][], right: readonly boolean[]): string[] {
  const widths = right.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) =>
    r
      .map((cell, i) => (right[i] ? cell.padStart(widths[i] ?? 0) : cell.padEnd(widths[i] ?? 0)))
      .join('  '),
  );
}
