import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { statuses, type JsonSummary, type TempProject } from '../helpers/project.js';
import { ARCHITECTURE, HANDLER, NO_PIP_ENV, Template, sha256, zipNames } from './rig.js';

/**
 * Many bundles of one project that share a requirements file and the settings that decide their
 * wheels share one wheelhouse and one staging target: pip's work is done once for all of them,
 * and a bundle whose wheels could differ (another requirements file, runtime, pip option) gets
 * its own.
 */
let template: Template;
let project: TempProject;

beforeAll(async () => {
  template = await Template.create();
});
afterAll(() => {
  template.dispose();
});
beforeEach(() => {
  project = template.project();
});
afterEach(() => {
  project.dispose();
});

/** A `[bundle.NAME]` of the fixture's settings, with its own source folder and `extra` lines. */
function bundle(name: string, extra = ''): string {
  return `[bundle.${name}]
requirements = "requirements.txt"
sources      = ["${name}"]
python       = "${template.python}"
architecture = "${ARCHITECTURE}"
find-links   = ["wheels"]
no-index     = true
${extra}
`;
}

function writeBundles(tables: Record<string, string>): void {
  for (const name of Object.keys(tables)) project.write(`${name}/handler.py`, HANDLER);
  project.write('lbuild.toml', Object.values(tables).join('\n'));
}

interface GraphTarget {
  key: string;
  kind: string;
  deps: string[];
  aliases: string[];
  description?: string;
}

async function graph(): Promise<Map<string, GraphTarget>> {
  const result = await project.run(['graph', '--json']);
  expect(result.code, result.stderr).toBe(0);
  const targets = (JSON.parse(result.stdout) as { targets: GraphTarget[] }).targets;
  return new Map(targets.map((t) => [t.key, t]));
}

describe('which bundles share a wheelhouse', () => {
  it('those whose wheels are decided alike share one; any difference that could change the wheels splits them', async () => {
    project.write('requirements-other.txt', 'gamma==3.0\n');
    project.write('more/.keep', '');
    writeBundles({
      a: bundle('a'),
      // Differs only in what shapes its tree and zip: shares a's wheelhouse and staging.
      b: bundle('b', 'output = "out/b.zip"\ncompression-level = 9\nexclude = ["**/*.txt"]'),
      // The same requirements file, named another way.
      c: bundle('c').replace('"requirements.txt"', '"./requirements.txt"'),
      // The same wheels, but another verdict on host-built ones: its own staging.
      f: bundle('f', 'allow-host-built-wheels = true'),
      // Each of these could get other wheels.
      d: bundle('d').replace('"requirements.txt"', '"requirements-other.txt"'),
      e: bundle('e').replace(`python       = "${template.python}"`, 'python = "3.10"'),
      g: bundle('g', 'no-build-isolation = true'),
      h: bundle('h').replace('find-links   = ["wheels"]', 'find-links = ["wheels", "more"]'),
      i: bundle('i').replace(
        `architecture = "${ARCHITECTURE}"`,
        `architecture = "${ARCHITECTURE === 'x86_64' ? 'arm64' : 'x86_64'}"`,
      ),
    });
    const targets = await graph();
    const wheelhouses = [...targets.values()].filter((t) => t.kind === 'wheelhouse');
    expect(wheelhouses.map((t) => t.key).sort()).toEqual(
      ['a', 'd', 'e', 'g', 'h', 'i'].map((n) => `${n}:wheelhouse`),
    );
    expect(targets.get('a:wheelhouse')?.aliases).toEqual([
      'b:wheelhouse',
      'c:wheelhouse',
      'f:wheelhouse',
    ]);
    expect(targets.get('a:wheelhouse')?.description).toContain('shared by 4 bundles: a, b, c, f');
    expect(targets.get('d:wheelhouse')?.description).not.toContain('shared');
    const stagings = [...targets.values()].filter((t) => t.kind === 'staging');
    expect(stagings.map((t) => t.key).sort()).toEqual(
      ['a', 'd', 'e', 'f', 'g', 'h', 'i'].map((n) => `${n}:staging`),
    );
    expect(targets.get('a:staging')?.aliases).toEqual(['b:staging', 'c:staging']);
    expect(targets.get('f:staging')?.deps).toEqual(['a:wheelhouse']);
    for (const name of ['a', 'b', 'c'])
      expect(targets.get(`${name}:tree`)?.deps).toEqual(['a:staging']);
    for (const name of ['d', 'e', 'f', 'g', 'h', 'i'])
      expect(targets.get(`${name}:tree`)?.deps).toEqual([`${name}:staging`]);
    // Every bundle's own key still names its (shared) target.
    const dry = await project.run(['-n', 'c:wheelhouse'], { env: NO_PIP_ENV });
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout + dry.stderr).toContain('would run a:wheelhouse');
  });
});

/**
 * A sitecustomize.py (on PYTHONPATH) that logs, when a Python ends, each pip command that fetched
 * or built wheels (`pip download`, `pip wheel`) in it: pip runs as the build Python's own
 * interpreter, and the marker bootstrap runs pip's commands without `-m pip`.
 */
function pipLogger(): Record<string, string> {
  const log = project.path('pip-runs.log');
  project.write(
    'pip-logger/sitecustomize.py',
    `import atexit, sys


def _log_pip():
    commands = [m.rsplit(".", 1)[1] for m in list(sys.modules) if m.startswith("pip._internal.commands.")]
    for command in commands:
        if command in ("download", "wheel"):
            with open(${JSON.stringify(log)}, "a") as f:
                f.write(command + "\\n")


atexit.register(_log_pip)
`,
  );
  return { PYTHONPATH: project.path('pip-logger') };
}

/** How many pip commands fetched or built wheels since the last call. */
function pipRuns(): number {
  if (!project.exists('pip-runs.log')) return 0;
  const runs = project.lines('pip-runs.log').filter((line) => line !== '').length;
  project.remove('pip-runs.log');
  return runs;
}

let env: Record<string, string | undefined> = NO_PIP_ENV;

async function build(): Promise<JsonSummary> {
  const { result, summary } = await project.json([], { env });
  expect(result.code, result.stderr).toBe(0);
  return summary;
}

const count = (summary: JsonSummary, kind: string) =>
  summary.targets.filter((t) => t.kind === kind && t.status === 'built').length;

describe('building bundles that share a wheelhouse', () => {
  it("runs pip's work once for all of them, as for one bundle, and a bundle with other requirements gets its own wheels", async () => {
    env = { ...NO_PIP_ENV, ...pipLogger() };
    const names = ['f1', 'f2', 'f3', 'f4', 'f5', 'f6'];
    const tables = Object.fromEntries(names.map((n) => [n, bundle(n)]));

    // One bundle alone: how many pip runs its wheels take.
    writeBundles({ f1: tables.f1 ?? '' });
    const alone = await build();
    expect(count(alone, 'wheelhouse')).toBe(1);
    const pipAlone = pipRuns();
    expect(pipAlone).toBeGreaterThan(0);
    const f1Alone = sha256(project.path('dist/f1.zip'));

    // Six bundles, from scratch: the same pip runs as one, one staging, a tree and zip each.
    project.remove('.lbuild');
    project.remove('dist');
    writeBundles(tables);
    const six = await build();
    expect(pipRuns()).toBe(pipAlone);
    expect({ wheelhouse: count(six, 'wheelhouse'), staging: count(six, 'staging') }).toEqual({
      wheelhouse: 1,
      staging: 1,
    });
    expect({ tree: count(six, 'tree'), zip: count(six, 'zip') }).toEqual({ tree: 6, zip: 6 });
    // Sharing changes nothing in a zip: f1's is the bytes it has when built alone.
    expect(sha256(project.path('dist/f1.zip'))).toBe(f1Alone);
    for (const name of names) {
      const entries = zipNames(project.path(`dist/${name}.zip`));
      expect(entries).toEqual(
        expect.arrayContaining([
          `${name}/handler.py`,
          'alpha/__init__.py',
          'beta/__init__.py',
          'gamma/__init__.py',
          'localpkg/__init__.py',
        ]),
      );
    }

    // A bundle with other requirements: its own wheelhouse and staging run pip for it, the six
    // stay up to date, and its zip holds its own wheels only.
    project.write('requirements-other.txt', 'gamma==3.0\n');
    writeBundles({
      ...tables,
      other: bundle('other').replace('"requirements.txt"', '"requirements-other.txt"'),
    });
    const more = await build();
    expect(pipRuns()).toBeGreaterThan(0);
    const changed = Object.entries(statuses(more)).filter(([, status]) => status !== 'up-to-date');
    expect(changed.map(([key]) => key).sort()).toEqual([
      'other:staging',
      'other:tree',
      'other:wheelhouse',
      'other:zip',
    ]);
    const entries = zipNames(project.path('dist/other.zip'));
    expect(entries).toContain('gamma/__init__.py');
    expect(entries.filter((e) => /^(alpha|beta|localpkg)[/-]/.test(e))).toEqual([]);
    expect((await project.run(['-q'], { env })).code).toBe(0);
  }, 600_000);
});
