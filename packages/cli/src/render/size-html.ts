import type { FileSize, SizeReport } from '@lbuild/python-lambda';
import type { BundleSize } from '../commands/size.js';
import { formatShare, formatSize } from './size-text.js';
import { folderTree, layoutTreemap, type Box, type TreeNode } from './treemap.js';

/** The treemap's own units; the page scales them to its width (percentages of the map). */
const W = 1200;
const H = 720;
const LAYOUT = { header: 20, padding: 3, minOpen: 44, minArea: 8 };

/**
 * `lbuild size --html FILE`: one self-contained page (inline CSS and script, nothing fetched)
 * with, per bundle, the gauges of Lambda's limits, a treemap of its unzipped bytes (package, then
 * folders, then files; details on hover) and the tables of the text report.
 */
export function sizeHtml(sizes: readonly BundleSize[]): string {
  const title = `lbuild size: ${sizes.map((s) => s.bundle).join(', ')}`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)}</title>
<style>${CSS}</style>
</head>
<body>
${sizes.map(bundleSection).join('\n')}
<div id="tip" hidden></div>
<script>${SCRIPT}</script>
</body>
</html>
`;
}

interface Group {
  label: string;
  detail: string;
  hue: number;
  saturation: number;
  files: FileSize[];
}

function groupsOf(report: SizeReport): Group[] {
  const groups: Group[] = report.distributions.map((d, i) => ({
    label: `${d.name} ${d.version}`.trim(),
    detail: `${d.name} ${d.version} (${d.distInfo})`,
    // Golden-angle steps: neighbours in size order get far-apart hues.
    hue: Math.round((210 + i * 137.508) % 360),
    saturation: 55,
    files: report.files.filter(
      (f) => f.owner.kind === 'distribution' && f.owner.distInfo === d.distInfo,
    ),
  }));
  const sources = report.files.filter((f) => f.owner.kind === 'source');
  if (sources.length > 0)
    groups.push({
      label: 'project sources',
      detail: 'the project’s sources',
      hue: 215,
      saturation: 12,
      files: sources,
    });
  const extra = report.files.filter((f) => f.owner.kind === 'extra');
  if (extra.length > 0)
    groups.push({
      label: 'extra files',
      detail: 'the bundle’s extra files',
      hue: 35,
      saturation: 15,
      files: extra,
    });
  return groups;
}

function bundleSection({ bundle, zip, report }: BundleSize): string {
  const groups = groupsOf(report);
  const roots: TreeNode[] = groups.map((g) =>
    folderTree(
      g.label,
      g.files.map((f) => ({ path: f.path, size: f.unzippedBytes })),
    ),
  );
  const zipped = new Map(report.files.map((f) => [f.path, f.zippedBytes]));
  const total = report.totals.unzippedBytes;
  const boxes = layoutTreemap(roots, { x: 0, y: 0, w: W, h: H }, LAYOUT);
  const boxHtml = boxes.map((box) => {
    const group = groups[box.top];
    return group ? boxDiv(box, group, zipped, total) : '';
  });
  const excluded = report.distributions.reduce((n, d) => n + d.excluded.bytes, 0);
  return `<section class="bundle">
<header>
<h1>${esc(bundle)} <span class="zip">${esc(zip)}</span></h1>
<p class="totals">${esc(`${report.totals.files.toLocaleString('en-US')} files · ${formatSize(report.totals.unzippedBytes)} unzipped · ${formatSize(report.zipBytes)} zipped${excluded > 0 ? ` · exclude saved ${formatSize(excluded)}` : ''}`)}</p>
<div class="gauges">
${gauge('unzipped', report.totals.unzippedBytes, report.limits.unzippedBytes, 'unzipped limit')}
${gauge('zipped', report.zipBytes, report.limits.directUploadBytes, 'direct-upload limit')}
</div>
</header>
<div class="map" role="img" aria-label="${esc(`treemap of ${bundle}: packages, folders and files by unzipped size`)}">
${boxHtml.join('\n')}
</div>
${distributionTable(report, groups)}
${largestTable(report)}
</section>`;
}

function boxDiv(box: Box, group: Group, zipped: Map<string, number>, total: number): string {
  const { node, depth } = box;
  const isFile = node.children.length === 0;
  const light = Math.min(40 + depth * 9, 82);
  const style = [
    `left:${pct(box.x / W)}`,
    `top:${pct(box.y / H)}`,
    `width:${pct(box.w / W)}`,
    `height:${pct(box.h / H)}`,
    `background:hsl(${String(group.hue)} ${String(group.saturation)}% ${String(light)}%)`,
  ].join(';');
  const where = depth === 0 ? group.detail : box.path + (isFile ? '' : '/');
  const zippedBytes = isFile ? zipped.get(box.path) : undefined;
  const tip = [
    where,
    `${formatSize(node.size)} unzipped${zippedBytes !== undefined ? `, ${formatSize(zippedBytes)} zipped` : ''} · ${formatShare(node.size / Math.max(total, 1)).replace(' %', '%')} of the bundle`,
  ].join('\n');
  const classes = ['b', box.open ? 'open' : isFile ? 'file' : 'closed', light > 60 ? 'dark' : ''];
  const name = depth === 0 ? group.label : node.name;
  // Names stay on one line (cut with an ellipsis); the size goes beside an open box's name and
  // below a closed one's, where there is room. The tooltip has both in full.
  let label = '';
  if (box.open)
    label = `<span class="l">${esc(name)} <small>${esc(formatSize(node.size))}</small></span>`;
  else if (box.w >= 56 && box.h >= 16)
    label = `<span class="l">${esc(name)}${box.h >= 32 ? `<small>${esc(formatSize(node.size))}</small>` : ''}</span>`;
  return `<div class="${classes.join(' ').trim()}" style="${style}" data-t="${esc(tip)}">${label}</div>`;
}

function gauge(what: string, bytes: number, limit: number, name: string): string {
  const share = bytes / limit;
  const level = share >= 1 ? 'over' : share >= 0.8 ? 'near' : 'ok';
  const mb = `${String(limit / (1024 * 1024))} MB`;
  return `<div class="gauge ${level}"><div class="gl">${esc(`${formatSize(bytes)} ${what} of ${mb}`)} <span>${esc(`${formatShare(share)} of the ${name}`)}</span></div><div class="bar"><div style="width:${pct(Math.min(share, 1))}"></div></div></div>`;
}

function distributionTable(report: SizeReport, groups: readonly Group[]): string {
  const swatch = (g: Group | undefined) =>
    g ? `<i style="background:hsl(${String(g.hue)} ${String(g.saturation)}% 45%)"></i>` : '<i></i>';
  const rows = report.distributions.map(
    (d, i) =>
      `<tr><td>${swatch(groups[i])}${esc(d.name)}</td><td>${esc(d.version)}</td>${numbers(d)}<td>${d.excluded.files > 0 ? esc(`${formatSize(d.excluded.bytes)} in ${String(d.excluded.files)} files`) : ''}</td></tr>`,
  );
  const rest = groups.slice(report.distributions.length);
  if (report.sources.files > 0)
    rows.push(
      `<tr><td>${swatch(rest.find((g) => g.label === 'project sources'))}project sources</td><td></td>${numbers(report.sources)}<td></td></tr>`,
    );
  if (report.extraFiles.files > 0)
    rows.push(
      `<tr><td>${swatch(rest.find((g) => g.label === 'extra files'))}extra files</td><td></td>${numbers(report.extraFiles)}<td></td></tr>`,
    );
  rows.push(`<tr class="total"><td>total</td><td></td>${numbers(report.totals)}<td></td></tr>`);
  return `<table><thead><tr><th>distribution</th><th>version</th><th>files</th><th>unzipped</th><th>zipped</th><th>of 250 MB</th><th>excluded</th></tr></thead><tbody>
${rows.join('\n')}
</tbody></table>`;
}

function numbers(t: { files: number; unzippedBytes: number; zippedBytes: number; share: number }) {
  return [
    t.files.toLocaleString('en-US'),
    formatSize(t.unzippedBytes),
    formatSize(t.zippedBytes),
    formatShare(t.share),
  ]
    .map((v) => `<td class="n">${esc(v)}</td>`)
    .join('');
}

function largestTable(report: SizeReport): string {
  const rows = report.largestFiles.map(
    (f) =>
      `<tr><td class="n">${esc(formatSize(f.unzippedBytes))}</td><td class="n">${esc(formatSize(f.zippedBytes))}</td><td class="p">${esc(f.path)}</td></tr>`,
  );
  return `<details><summary>${String(report.largestFiles.length)} largest files</summary><table><thead><tr><th>unzipped</th><th>zipped</th><th>path</th></tr></thead><tbody>
${rows.join('\n')}
</tbody></table></details>`;
}

const pct = (f: number) => `${(f * 100).toFixed(3)}%`;

function esc(text: string): string {
  return text
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll('\n', '&#10;');
}

const CSS = `
*{box-sizing:border-box}
body{margin:0;padding:24px 28px;font:14px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1f2328;background:#f6f7f9}
.bundle{max-width:1400px;margin:0 auto 40px}
h1{font-size:22px;margin:0 0 4px}
h1 .zip{font-weight:400;color:#59636e;font-size:15px;font-family:ui-monospace,SFMono-Regular,Menlo,monospace}
.totals{margin:0 0 12px;color:#3d444d}
.gauges{display:grid;grid-template-columns:1fr 1fr;gap:16px;margin-bottom:16px}
.gl{font-size:13px;margin-bottom:4px}.gl span{color:#59636e}
.bar{height:8px;border-radius:4px;background:#dfe3e8;overflow:hidden}
.bar div{height:100%;background:#2f81f7;min-width:2px}
.near .bar div{background:#d29922}.over .bar div{background:#cf222e}
.map{position:relative;width:100%;aspect-ratio:${String(W)}/${String(H)};container-type:inline-size;background:#fff;border-radius:6px;overflow:hidden;box-shadow:0 1px 3px rgba(0,0,0,.15)}
.b{position:absolute;overflow:hidden;border:1px solid rgba(255,255,255,.55);color:#fff;cursor:default}
.b.dark{color:#1f2328}
.b .l{display:block;padding:2px 4px;font-size:clamp(9px,1cqw,13px);line-height:1.25;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
.b.open>.l{font-weight:600}
.b.file small,.b.closed small{display:block}
.b small{font-weight:400;opacity:.85}
.b:hover{filter:brightness(1.08)}
.b.open:hover{filter:none}
table{border-collapse:collapse;margin-top:16px;background:#fff;border-radius:6px;box-shadow:0 1px 3px rgba(0,0,0,.1);font-size:13px}
th,td{padding:4px 12px;text-align:left;border-bottom:1px solid #eef0f2}
th{font-weight:600;color:#59636e}
td.n{text-align:right;font-variant-numeric:tabular-nums}
td.p{font-family:ui-monospace,SFMono-Regular,Menlo,monospace}
tr.total td{font-weight:600;border-top:2px solid #d0d7de}
td i{display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:8px;vertical-align:-1px}
details{margin-top:12px}summary{cursor:pointer;color:#3d444d}
#tip{position:fixed;z-index:10;pointer-events:none;max-width:480px;padding:6px 9px;border-radius:5px;background:rgba(22,27,34,.94);color:#fff;font-size:12px;white-space:pre-wrap;word-break:break-all;box-shadow:0 2px 8px rgba(0,0,0,.3)}
`;

/** The hover tooltip: the box's path and sizes, following the pointer. */
const SCRIPT = `
(function(){
var tip=document.getElementById('tip');
document.addEventListener('mousemove',function(e){
var box=e.target instanceof Element?e.target.closest('[data-t]'):null;
if(!box){tip.hidden=true;return;}
tip.textContent=box.getAttribute('data-t');tip.hidden=false;
var x=e.clientX+14,y=e.clientY+14,r=tip.getBoundingClientRect();
if(x+r.width>innerWidth-8)x=e.clientX-r.width-14;
if(y+r.height>innerHeight-8)y=e.clientY-r.height-14;
tip.style.left=x+'px';tip.style.top=y+'px';
});
document.addEventListener('mouseleave',function(){tip.hidden=true;});
})();
`;
