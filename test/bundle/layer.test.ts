import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ran, statuses, type JsonSummary, type TempProject } from '../helpers/project.js';
import {
  ARCHITECTURE,
  NO_PIP_ENV,
  Template,
  extractZip,
  inspectZip,
  jsonShell,
  sha256,
  unzipTest,
  zipNames,
  zipValue,
} from './rig.js';
import type { SizeJson } from './size-rig.js';

/**
 * `[layer.NAME]`: the fixture's requirements built into a layer zip whose entries are all under
 * python/, next to a function bundle that ships only its sources and takes its dependencies
 * from the layer (the pattern the README shows).
 */
const LAYER_TABLE = `[layer.deps]
requirements = "requirements.txt"
exclude      = ["**/tests/**"]
python       = "3.12"
architecture = "${ARCHITECTURE}"
find-links   = ["wheels"]
no-index     = true
`;

const BUNDLE_TABLE = `[bundle.fn]
sources      = ["app"]
exclude      = ["**/tests/**"]
files        = { "settings.json" = "settings.json" }
python       = "3.12"
architecture = "${ARCHITECTURE}"
`;

const FUNCTION_TABLE = `[function.fn]
bundle  = "fn"
role    = "arn:aws:iam::123456789012:role/lambda"
runtime = "python3.12"
handler = "app.handler.handler"
`;

const TOML = `${LAYER_TABLE}\n${BUNDLE_TABLE}\n${FUNCTION_TABLE}`;
const LAYER_ZIP = 'dist/layer-deps.zip';
const LAYER_TARGETS = ['deps:staging', 'deps:tree', 'deps:wheelhouse', 'deps:zip'];

let template: Template;
let project: TempProject;
const extracted: string[] = [];

beforeAll(async () => {
  template = await Template.create();
}, 120_000);
afterAll(() => {
  template.dispose();
});

beforeEach(() => {
  project = template.project();
  project.write('lbuild.toml', TOML);
});
afterEach(() => {
  project.dispose();
  for (const dir of extracted.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const build = async (args: string[] = []): Promise<JsonSummary> => {
  const { result, summary } = await project.json(args, { env: NO_PIP_ENV });
  expect(result.code, result.stderr).toBe(0);
  return summary;
};

const extract = (zip: string): string => {
  const dir = extractZip(zip);
  extracted.push(dir);
  return dir;
};

/** Runs Python code with `paths` as PYTHONPATH (as Lambda puts /opt/python on it), cwd `cwd`. */
const python = (code: string, paths: string[], cwd: string): string =>
  execFileSync('python3', ['-c', code], {
    cwd,
    encoding: 'utf8',
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      PYTHONPATH: paths.join(':'),
      PYTHONDONTWRITEBYTECODE: '1',
      PYTHONNOUSERSITE: '1',
    },
  });

describe('a layer and a bundle that ships only its sources', () => {
  it('builds a layer zip whose every entry is under python/ and imports from there', async () => {
    const summary = await build();
    expect(ran(summary)).toEqual([...LAYER_TARGETS, 'fn:handler', 'fn:tree', 'fn:zip']);
    const zip = project.path(LAYER_ZIP);
    expect(zipValue(summary, 'deps:zip').sha256).toBe(sha256(zip));
    expect(unzipTest(zip).status).toBe(0);
    const names = zipNames(zip);
    expect(names.filter((n) => !n.startsWith('python/'))).toEqual([]);
    expect(names).toEqual(
      expect.arrayContaining([
        'python/alpha/__init__.py',
        'python/beta/__init__.py',
        'python/gamma/__init__.py',
        'python/localpkg/__init__.py',
        'python/alpha-1.0.dist-info/RECORD',
        'python/localpkg-0.1.dist-info/METADATA',
      ]),
    );
    // Sorted bytewise, as a bundle's entries are; dates and modes fixed.
    expect(names).toEqual(
      [...names].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b))),
    );
    const entries = inspectZip(zip).entries;
    expect(new Set(entries.map((e) => e.dateTime.join('-'))).size).toBe(1);
    expect(new Set(entries.map((e) => e.mode))).toEqual(new Set([0o100644]));

    // The function's bundle holds only the project's files: its dependencies come from the layer.
    expect(zipNames(project.path('dist/fn.zip'))).toEqual([
      'app/__init__.py',
      'app/handler.py',
      'settings.json',
    ]);

    const opt = extract(zip);
    const task = extract(project.path('dist/fn.zip'));
    expect(
      python(
        'import alpha, localpkg; print(alpha.alpha(), localpkg.local(), alpha.__file__)',
        [join(opt, 'python')],
        opt,
      ).trim(),
    ).toBe(`alpha+beta+gamma local+gamma ${join(opt, 'python', 'alpha', '__init__.py')}`);
    // The handler runs with the task root and the layer's python/ on the path, as on Lambda.
    const result = python(
      'import json; from app.handler import handler; print(json.dumps(handler({"n": 1}, None)))',
      [task, join(opt, 'python')],
      task,
    );
    expect(JSON.parse(result)).toEqual({
      alpha: 'alpha+beta+gamma',
      local: 'local+gamma',
      settings: { greeting: 'hello' },
      event: { n: 1 },
    });

    // Up to date afterwards: -q says so, and a second build runs nothing.
    expect((await project.run(['-q'], { env: NO_PIP_ENV })).code).toBe(0);
    expect(ran(await build())).toEqual([]);
  });

  it('shows the layer targets in graph, -n and --explain like a bundle’s', async () => {
    const graph = await project.run(['graph', '--json'], { env: NO_PIP_ENV });
    expect(graph.code, graph.stderr).toBe(0);
    const targets = (
      JSON.parse(graph.stdout) as {
        targets: {
          key: string;
          kind: string;
          deps: string[];
          outputs: string[];
          aliases: string[];
        }[];
      }
    ).targets;
    const zipTarget = targets.find((t) => t.key === 'deps:zip');
    expect(zipTarget).toMatchObject({
      kind: 'zip',
      deps: ['deps:tree'],
      outputs: [LAYER_ZIP],
      aliases: ['deps'],
    });
    expect(targets.find((t) => t.key === 'deps:tree')?.deps).toEqual(['deps:staging']);
    expect(targets.find((t) => t.key === 'deps:staging')?.deps).toEqual(['deps:wheelhouse']);

    const dry = await project.run(['-n', 'deps'], { env: NO_PIP_ENV });
    expect(dry.code, dry.stderr).toBe(0);
    for (const key of LAYER_TARGETS) expect(dry.stdout + dry.stderr).toContain(key);
    expect(project.exists(LAYER_ZIP)).toBe(false);

    const explained = await project.run(['--explain', 'deps'], { env: NO_PIP_ENV });
    expect(explained.code, explained.stderr).toBe(0);
    expect(explained.stdout + explained.stderr).toContain('deps:zip');
  });

  it('lbuild size reports the layer’s distributions, found under python/', async () => {
    const result = await project.run(['size', '--json', 'deps'], { env: NO_PIP_ENV });
    expect(result.code, result.stderr).toBe(0);
    const [report] = (JSON.parse(result.stdout) as SizeJson).bundles;
    expect(report?.zip).toBe(LAYER_ZIP);
    expect(report?.distributions.map((d) => `${d.name} ${d.version}`).sort()).toEqual([
      'alpha 1.0',
      'beta 2.0',
      'gamma 3.0',
      'localpkg 0.1',
    ]);
    // Every file belongs to a distribution: nothing is counted as the project's sources.
    expect(report?.sources.files).toBe(0);
    expect(report?.distributions.reduce((n, d) => n + d.files, 0)).toBe(report?.files);
  });
});

describe('rebuilds', () => {
  beforeEach(async () => {
    await build();
  });

  it('a comment in requirements reruns only the wheelhouse and leaves the zip as it was', async () => {
    const before = sha256(project.path(LAYER_ZIP));
    const mtime = project.mtime(LAYER_ZIP);
    project.write(
      'requirements.txt',
      `# pinned for the layer\n${project.read('requirements.txt')}`,
    );
    const summary = await build();
    expect(statuses(summary)).toMatchObject({
      'deps:wheelhouse': 'built',
      'deps:staging': 'up-to-date',
      'deps:tree': 'up-to-date',
      'deps:zip': 'up-to-date',
    });
    expect(sha256(project.path(LAYER_ZIP))).toBe(before);
    expect(project.mtime(LAYER_ZIP)).toBe(mtime);
  });

  it('a requirement removed rebuilds the layer without it', async () => {
    const before = sha256(project.path(LAYER_ZIP));
    project.write(
      'requirements.txt',
      project
        .read('requirements.txt')
        .split('\n')
        .filter((line) => line !== './localpkg')
        .join('\n'),
    );
    const explained = await project.run(['-n', '--explain'], { env: NO_PIP_ENV });
    expect(explained.code, explained.stderr).toBe(0);
    // -n --explain says why each of the layer's targets would run, as it does for a bundle's.
    expect(explained.stdout).toContain('would run deps:wheelhouse');
    expect(explained.stdout).toContain('because input changed: requirements.txt');
    expect(explained.stdout).toContain(
      'would run deps:zip: the reproducible zip dist/layer-deps.zip',
    );
    expect(explained.stdout).not.toContain('would run fn:');
    const summary = await build();
    expect(ran(summary)).toEqual(LAYER_TARGETS);
    const names = zipNames(project.path(LAYER_ZIP));
    expect(sha256(project.path(LAYER_ZIP))).not.toBe(before);
    expect(names.some((n) => n.startsWith('python/localpkg'))).toBe(false);
    expect(names).toContain('python/gamma/__init__.py');
  });
});

describe('the layer zip is reproducible', () => {
  it('has one SHA-256 whatever the directory, TZ and umask', async () => {
    const copies = [
      { tz: 'UTC', umask: '022' },
      { tz: 'Asia/Kolkata', umask: '077' },
    ].map((build) => {
      const copy = template.project();
      copy.write('lbuild.toml', LAYER_TABLE);
      return { copy, build };
    });
    try {
      const digests = await Promise.all(
        copies.map(async ({ copy, build }) => {
          const { result, summary } = await jsonShell(copy.dir, [], {
            umask: build.umask,
            env: { ...NO_PIP_ENV, TZ: build.tz },
          });
          expect(result.code, result.stderr).toBe(0);
          expect(zipValue(summary, 'deps:zip').sha256).toBe(sha256(copy.path(LAYER_ZIP)));
          return sha256(copy.path(LAYER_ZIP));
        }),
      );
      expect(digests[0]).toBe(digests[1]);
      // The layer's zip does not depend on the other tables of the config either.
      await build(['deps']);
      expect(sha256(project.path(LAYER_ZIP))).toBe(digests[0]);
    } finally {
      for (const { copy } of copies) copy.dispose();
    }
  });
});

describe('config errors (exit 2, nothing runs)', () => {
  it('a layer and a bundle with the same name, naming both tables', async () => {
    project.write(
      'lbuild.toml',
      `${LAYER_TABLE}\n${BUNDLE_TABLE.replace('[bundle.fn]', '[bundle.deps]')}`,
    );
    const result = await project.run([], { env: NO_PIP_ENV });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('duplicate target `deps`: [bundle.deps] and [layer.deps]');
    expect(result.stderr).toMatch(/--> lbuild\.toml:\d+:\d+ \(layer\.deps\)/);
    expect(project.exists('.lbuild/stamps')).toBe(false);
  });

  it('a layer with neither requirements nor lock', async () => {
    project.write('lbuild.toml', LAYER_TABLE.replace(/^requirements .*\n/m, ''));
    const result = await project.run([], { env: NO_PIP_ENV });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(
      'lbuild: error: [layer.deps] sets neither requirements nor lock: a layer carries dependencies, and this one would be empty\n  --> lbuild.toml:1:1 (layer.deps)',
    );
    expect(project.exists(LAYER_ZIP)).toBe(false);
  });

  it('a key a layer does not take, pointing at it', async () => {
    project.write('lbuild.toml', LAYER_TABLE + 'sources = ["app"]\n');
    const result = await project.run([], { env: NO_PIP_ENV });
    expect(result.code).toBe(2);
    const line = LAYER_TABLE.split('\n').length;
    expect(result.stderr).toContain(`lbuild: error: unknown key \`sources\` in [layer.deps]
  --> lbuild.toml:${line}:1 (layer.deps.sources)`);
    expect(project.exists(LAYER_ZIP)).toBe(false);
  });
});
