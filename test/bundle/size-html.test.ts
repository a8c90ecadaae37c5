import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { TempProject } from '../helpers/project.js';
import { colourStats, readPng } from '../helpers/png.js';
import { NO_PIP_ENV } from './rig.js';
import { SizeTemplate } from './size-rig.js';

/**
 * `lbuild size --html`: a page that needs nothing from the network, rendered by a real headless
 * Chromium (Debian's `chromium`): the screenshot shows a treemap, and the largest package's box
 * carries its name.
 */
const execFileAsync = promisify(execFile);

const CHROMIUM = (() => {
  try {
    execFileSync('chromium', ['--version'], { stdio: 'ignore' });
    return 'chromium';
  } catch {
    return undefined;
  }
})();

let template: SizeTemplate;
let project: TempProject;
let profile: string;

beforeAll(async () => {
  template = await SizeTemplate.create();
  project = template.project();
  profile = mkdtempSync(join(tmpdir(), 'lbuild-chromium-'));
}, 60_000);

afterAll(() => {
  project.dispose();
  template.dispose();
  rmSync(profile, { recursive: true, force: true });
});

/** Headless Chromium on a page; its own profile, no sandbox (tests may run as root). */
async function chromium(args: readonly string[], page: string): Promise<string> {
  const { stdout } = await execFileAsync(
    CHROMIUM ?? 'chromium',
    [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--hide-scrollbars',
      '--no-first-run',
      `--user-data-dir=${join(profile, String(args.length))}`,
      ...args,
      pathToFileURL(page).href,
    ],
    { maxBuffer: 64 * 1024 * 1024, timeout: 90_000 },
  );
  return stdout;
}

it('writes one page that loads nothing from elsewhere', async () => {
  const result = await project.run(['size', '--html', 'size.html'], { env: NO_PIP_ENV });
  expect(result.code, result.stderr).toBe(0);
  expect(result.stderr).toContain('lbuild: wrote size.html');
  // The text report still goes to stdout.
  expect(result.stdout).toMatch(/^fn: dist\/fn\.zip/);
  const html = project.read('size.html');
  expect(html).toMatch(/^<!doctype html>/);
  expect(html).not.toMatch(/\b(src|href)\s*=|url\(|@import|https?:\/\//i);
  expect(html).toContain('heavy 2.1');
});

it('renders a treemap in headless Chromium, with the largest package named', async (ctx) => {
  if (CHROMIUM === undefined)
    ctx.skip(
      'chromium is not installed (Debian: apt-get install chromium); the page is not rendered',
    );
  const page = project.path('size.html');
  const shot = project.path('size.png');
  const [dom] = await Promise.all([
    chromium(['--dump-dom'], page),
    chromium(['--window-size=1280,900', `--screenshot=${shot}`], page),
  ]);

  const image = readPng(shot);
  expect([image.width, image.height]).toEqual([1280, 900]);
  const stats = colourStats(image);
  // A blank page is one colour; the treemap paints many, and no colour covers most of it.
  expect(stats.colours).toBeGreaterThan(50);
  expect(stats.commonest).toBeLessThan(0.6);
  let saturated = 0;
  for (let i = 0; i < image.rgba.length; i += 4) {
    const [r = 0, g = 0, b = 0] = image.rgba.subarray(i, i + 3);
    if (Math.max(r, g, b) - Math.min(r, g, b) > 40) saturated++;
  }
  expect(saturated / (image.width * image.height)).toBeGreaterThan(0.2);

  // The DOM after the page's script ran: the first box of the map is the largest package, drawn
  // open (its folders inside it) under a label with its name.
  const map = dom.slice(dom.indexOf('<div class="map"'));
  const first = /<div class="b ([^"]*)"[^>]*><span class="l">([^<]*)/.exec(map);
  expect(first?.[1]).toContain('open');
  expect(first?.[2]?.trim()).toBe('heavy 2.1');
  expect(map).toContain('<span class="l">core.py');
  expect(readFileSync(page, 'utf8')).toContain('data-t="heavy/core.py&#10;');
}, 120_000);
