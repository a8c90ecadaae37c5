import { execFileSync } from 'node:child_process';
import { cpSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TempProject } from '../helpers/project.js';
import { NO_PIP_ENV, sha256 } from './rig.js';
import {
  HEAVY_TRIMMED,
  SizeTemplate,
  TRIM,
  pythonSizes,
  sizeToml,
  wheelEntrySizes,
  type SizeJson,
} from './size-rig.js';

/**
 * `lbuild size` on a project with two test-made wheels (one with tests, type stubs and a vendored
 * package), sources and an extra file: its numbers against Python's zipfile, and `exclude`
 * trimming the wheels' files.
 */
const LIMIT = 262_144_000;
const DIRECT = 50 * 1024 * 1024;

let template: SizeTemplate;
let project: TempProject;
let untrimmedSha = '';

beforeAll(async () => {
  template = await SizeTemplate.create();
  project = template.project();
}, 60_000);

afterAll(() => {
  project.dispose();
  template.dispose();
});

async function sizeJson(p: TempProject): Promise<SizeJson['bundles'][number]> {
  const result = await p.run(['size', '--json'], { env: NO_PIP_ENV });
  expect(result.code, result.stderr).toBe(0);
  const parsed = JSON.parse(result.stdout) as SizeJson;
  expect(parsed.bundles.map((b) => b.bundle)).toEqual(['fn']);
  return parsed.bundles[0]!;
}

const unzipList = (zip: string) => execFileSync('unzip', ['-l', zip], { encoding: 'utf8' });

describe('lbuild size', () => {
  it('builds the zip first, then reports per distribution what Python’s zipfile reads', async () => {
    expect(project.exists('dist/fn.zip')).toBe(false);
    const result = await project.run(['size', '--json'], { env: NO_PIP_ENV });
    expect(result.code, result.stderr).toBe(0);
    // The build's lines go to stderr; stdout is the report alone.
    expect(result.stderr).toContain('fn:zip');
    const report = (JSON.parse(result.stdout) as SizeJson).bundles[0]!;
    const zip = project.path('dist/fn.zip');
    untrimmedSha = sha256(zip);
    const py = pythonSizes(zip, ['settings.json']);

    expect(report.zip).toBe('dist/fn.zip');
    expect(report.zipBytes).toBe(py.zipBytes);
    expect(
      report.distributions.map(
        ({ name, version, distInfo, files, unzippedBytes, zippedBytes }) => ({
          name,
          version,
          distInfo,
          files,
          unzippedBytes,
          zippedBytes,
        }),
      ),
    ).toEqual(py.distributions);
    // Named as METADATA names them, largest first.
    expect(report.distributions.map((d) => `${d.name} ${d.version}`)).toEqual([
      'heavy 2.1',
      'Light_Pkg 1.0.post1',
    ]);
    for (const d of report.distributions) {
      expect(d.share).toBeCloseTo(d.unzippedBytes / LIMIT, 12);
      expect(d.excluded).toEqual({ files: 0, bytes: 0 });
    }
    const totals = (t: { files: number; unzippedBytes: number; zippedBytes: number }) => ({
      files: t.files,
      unzippedBytes: t.unzippedBytes,
      zippedBytes: t.zippedBytes,
    });
    expect(totals(report.sources)).toEqual(py.sources);
    expect(report.sources.files).toBe(2);
    expect(totals(report.extraFiles)).toEqual(py.extraFiles);
    expect(report.extraFiles.files).toBe(1);
    expect(totals(report)).toEqual(py.totals);
    expect(report.limits).toEqual({ unzippedBytes: LIMIT, directUploadBytes: DIRECT });
    expect(report.headroom).toEqual({
      unzippedBytes: LIMIT - py.totals.unzippedBytes,
      directUploadBytes: DIRECT - py.zipBytes,
    });
    expect(report.largestFiles.map((f) => f.path)).toEqual(py.largest);
    expect(report.largestFiles[0]).toMatchObject({
      path: 'heavy/core.py',
      from: 'distribution',
      distInfo: 'heavy-2.1.dist-info',
    });
  });

  it('prints a table for people, and nothing about a build that had nothing to do', async () => {
    const result = await project.run(['size'], { env: NO_PIP_ENV });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toBe('');
    const lines = result.stdout.split('\n');
    expect(lines[0]).toMatch(
      /^fn: dist\/fn\.zip, [\d.]+ KB zipped, [\d.]+ KB unzipped, \d+ files$/,
    );
    const row = (name: string) => lines.findIndex((l) => l.trimStart().startsWith(name));
    expect(row('heavy')).toBeGreaterThan(0);
    expect(row('heavy')).toBeLessThan(row('Light_Pkg'));
    expect(row('Light_Pkg')).toBeLessThan(row('project sources'));
    expect(row('project sources')).toBeLessThan(row('extra files'));
    expect(row('extra files')).toBeLessThan(row('total'));
    expect(result.stdout).toMatch(/headroom: [\d.]+ MB under the 250 MB unzipped limit/);
    expect(result.stdout).toMatch(/\d+ largest files/);
  });

  it('reports nothing when the build fails: exit 1, and the build summary for --json', async () => {
    const broken = template.project();
    try {
      broken.write('requirements.txt', 'heavy==9.9\n');
      const result = await broken.run(['size', '--json'], { env: NO_PIP_ENV });
      expect(result.code).toBe(1);
      expect(broken.exists('dist/fn.zip')).toBe(false);
      const summary = JSON.parse(result.stdout) as {
        status: string;
        targets: { key: string; status: string }[];
      };
      expect(summary.status).toBe('failed');
      expect(summary.targets.find((t) => t.key === 'fn:wheelhouse')?.status).toBe('failed');
      const text = await broken.run(['size'], { env: NO_PIP_ENV });
      expect(text.code).toBe(1);
      expect(text.stdout).toBe('');
      expect(text.stderr).toContain('heavy==9.9');
    } finally {
      broken.dispose();
    }
  });

  it('names an unknown bundle, with exit 2', async () => {
    const result = await project.run(['size', 'fm'], { env: NO_PIP_ENV });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('no bundle named `fm`');
    expect(result.stderr).toContain('did you mean `fn`?');
  });
});

describe('exclude on the files of wheels', () => {
  it('leaves them out of the zip and of RECORD, and size reports the bytes it saved', async () => {
    project.write('lbuild.toml', sizeToml(TRIM));
    const { result, summary } = await project.json([], { env: NO_PIP_ENV });
    expect(result.code, result.stderr).toBe(0);
    const status = Object.fromEntries(summary.targets.map((t) => [t.key, t.status]));
    expect(status).toMatchObject({ 'fn:tree': 'built', 'fn:zip': 'built' });
    expect(summary.targets.find((t) => t.key === 'fn:tree')?.reasons.join(' ')).toMatch(
      /recipe|exclude/,
    );

    const zip = project.path('dist/fn.zip');
    const listing = unzipList(zip);
    for (const path of HEAVY_TRIMMED) expect(listing).not.toContain(path);
    expect(listing).toContain('heavy/core.py');
    expect(listing).toContain('heavy-2.1.dist-info/RECORD');

    // RECORD stays consistent: it lists exactly the distribution's files in the zip.
    const py = pythonSizes(zip, ['settings.json']);
    const heavyFiles = py.names.filter(
      (n) => n.startsWith('heavy/') || n.startsWith('heavy-2.1.dist-info/'),
    );
    expect(py.records['heavy-2.1.dist-info']).toEqual([...heavyFiles].sort());

    const report = await sizeJson(project);
    const wheel = join(
      project.dir,
      'wheels',
      readdirSync(project.path('wheels')).find((w) => w.startsWith('heavy-'))!,
    );
    const saved = wheelEntrySizes(wheel, HEAVY_TRIMMED).reduce((a, b) => a + b, 0);
    const heavy = report.distributions.find((d) => d.distInfo === 'heavy-2.1.dist-info')!;
    expect(heavy.excluded).toEqual({ files: HEAVY_TRIMMED.length, bytes: saved });
    expect(heavy.unzippedBytes).toBe(
      py.distributions.find((d) => d.distInfo === 'heavy-2.1.dist-info')!.unzippedBytes,
    );
    expect(report.distributions.find((d) => d.name === 'Light_Pkg')!.excluded).toEqual({
      files: 0,
      bytes: 0,
    });
    const text = await project.run(['size'], { env: NO_PIP_ENV });
    expect(text.stdout).toMatch(/exclude saved [\d.]+ KB unzipped/);
    expect(text.stdout).toMatch(new RegExp(`heavy .* in ${String(HEAVY_TRIMMED.length)} files`));
  });

  it('gives the zip a clean build of the same files gives', async () => {
    const clean = TempProject.create();
    try {
      for (const entry of readdirSync(project.dir)) {
        if (entry === '.lbuild' || entry === 'dist') continue;
        cpSync(project.path(entry), clean.path(entry), { recursive: true });
      }
      const result = await clean.run([], { env: NO_PIP_ENV });
      expect(result.code, result.stderr).toBe(0);
      expect(sha256(clean.path('dist/fn.zip'))).toBe(sha256(project.path('dist/fn.zip')));
    } finally {
      clean.dispose();
    }
  });

  it('reruns the tree when the patterns change, and stops there when the files stay the same', async () => {
    const before = sha256(project.path('dist/fn.zip'));
    project.write('lbuild.toml', sizeToml([...TRIM, '**/*.nothing']));
    const { summary } = await project.json([], { env: NO_PIP_ENV });
    const status = Object.fromEntries(summary.targets.map((t) => [t.key, t.status]));
    expect(status['fn:tree']).toBe('built');
    expect(status['fn:zip']).toBe('up-to-date');
    expect(sha256(project.path('dist/fn.zip'))).toBe(before);

    project.write('lbuild.toml', sizeToml());
    const back = await project.json([], { env: NO_PIP_ENV });
    expect(back.summary.targets.find((t) => t.key === 'fn:zip')?.status).toBe('built');
    expect(sha256(project.path('dist/fn.zip'))).toBe(untrimmedSha);
    for (const path of HEAVY_TRIMMED)
      expect(unzipList(project.path('dist/fn.zip'))).toContain(path);
  });
});
