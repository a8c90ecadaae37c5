import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { rmSync } from 'node:fs';
import { TempProject, ran, statuses } from '../helpers/project.js';
import { makeLocalProject, makeWheel } from '../fixtures/python/wheels.js';
import { IndexServer } from '../fixtures/python/index-server.js';
import {
  ARCHITECTURE,
  NO_PIP_ENV,
  extractZip,
  inspectZip,
  invoke,
  sha256,
  unzipTest,
  zipText,
} from './rig.js';
import { LockTemplate, lockToml, pyproject, uvLock, type UvLockOptions } from './lock-rig.js';

/**
 * `lock = "uv.lock"` / `"pylock.toml"`: one lock, one set per Lambda target (markers judged for
 * its Python and CPU, the wheel chosen by its tags), installed exactly, with hashes checked.
 */
const OTHER = ARCHITECTURE === 'x86_64' ? 'arm64' : 'x86_64';
const BUNDLES = {
  uv311: 'lock = "uv.lock"\npython = "3.11"\narchitecture = "x86_64"',
  uv312arm: 'lock = "uv.lock"\npython = "3.12"\narchitecture = "arm64"',
  py311: 'lock = "pylock.toml"\npython = "3.11"\narchitecture = "x86_64"',
  py312arm: 'lock = "pylock.toml"\npython = "3.12"\narchitecture = "arm64"',
  uvdev: 'lock = "uv.lock"\npython = "3.12"\narchitecture = "x86_64"\ngroups = ["dev"]',
  pydev: 'lock = "pylock.toml"\npython = "3.12"\narchitecture = "x86_64"\ngroups = ["dev"]',
};

let template: LockTemplate;
let project: TempProject | undefined;

beforeAll(async () => {
  template = await LockTemplate.create(BUNDLES);
}, 120_000);
afterAll(() => {
  template.dispose();
});
afterEach(() => {
  project?.dispose();
  project = undefined;
});

/** The distributions in a zip, `name-version`, sorted. */
function distributions(zip: string): string[] {
  return inspectZip(zip)
    .entries.map((e) => /^([^/]+)\.dist-info\/METADATA$/.exec(e.name)?.[1])
    .filter((n): n is string => n !== undefined)
    .sort();
}

const fresh = () => {
  project = template.project();
  return project;
};

const build = async (p: TempProject, args: string[] = []) => {
  const { result, summary } = await p.json(args, { env: NO_PIP_ENV });
  return { result, summary };
};

const SET_311_X86 = [
  'backport-1.0',
  'common-1.0',
  'fast-1.0',
  'forked-1.0',
  'service-1.0',
  'x86only-1.0',
];
const SET_312_ARM = ['armdep-1.0', 'common-1.0', 'fast-1.0', 'forked-2.0', 'service-1.0'];
const SET_312_X86_DEV = [
  'common-1.0',
  'devtool-1.0',
  'fast-1.0',
  'forked-2.0',
  'service-1.0',
  'x86only-1.0',
];

describe('one lock, a set per target', () => {
  it('gives each Python and CPU its own closure and wheels, from uv.lock and pylock.toml alike', async () => {
    const p = fresh();
    const { result, summary } = await build(p);
    expect(result.code, result.stderr).toBe(0);
    expect(Object.values(statuses(summary)).every((s) => s === 'built')).toBe(true);
    for (const name of ['uv311', 'py311']) {
      const zip = p.path(`dist/${name}.zip`);
      expect(distributions(zip), name).toEqual(SET_311_X86);
      expect(zipText(zip, 'fast-1.0.dist-info/WHEEL')).toContain(
        'Tag: cp311-cp311-manylinux_2_17_x86_64',
      );
      expect(unzipTest(zip).status).toBe(0);
    }
    for (const name of ['uv312arm', 'py312arm']) {
      const zip = p.path(`dist/${name}.zip`);
      expect(distributions(zip), name).toEqual(SET_312_ARM);
      expect(zipText(zip, 'fast-1.0.dist-info/WHEEL')).toContain(
        'Tag: cp312-cp312-manylinux_2_17_aarch64',
      );
    }
    // The dev group only when a bundle asks for it.
    for (const name of ['uvdev', 'pydev'])
      expect(distributions(p.path(`dist/${name}.zip`)), name).toEqual(SET_312_X86_DEV);
    // The same locked set gives the same bytes from either format.
    expect(sha256(p.path('dist/uv311.zip'))).toBe(sha256(p.path('dist/py311.zip')));
    expect(sha256(p.path('dist/uv312arm.zip'))).toBe(sha256(p.path('dist/py312arm.zip')));

    const again = await build(p);
    expect(again.result.code, again.result.stderr).toBe(0);
    expect(ran(again.summary)).toEqual([]);
  }, 240_000);
});

describe('a lock edit', () => {
  const edit = (p: TempProject, options: UvLockOptions) => {
    p.write('uv.lock', uvLock(template.packages, options));
    p.write('pyproject.toml', pyproject(options));
  };

  it('that changes nothing for the target builds nothing past the wheelhouse', async () => {
    const p = fresh();
    const first = await build(p, ['uv311']);
    expect(first.result.code, first.result.stderr).toBe(0);
    const zip = sha256(p.path('dist/uv311.zip'));
    // A new dev dependency, and a new dependency whose marker excludes Lambda.
    const winonly = template.packages.find((pkg) => pkg.name === 'winonly')!;
    edit(p, {
      extraDev: [{ name: 'devtool2', specifier: '>=1' }],
      extraRootDeps: [{ name: 'winonly2', marker: "sys_platform == 'win32'" }],
      extraPackages: [
        { ...winonly, name: 'devtool2' },
        { ...winonly, name: 'winonly2' },
      ],
    });
    const { result, summary } = await build(p, ['uv311']);
    expect(result.code, result.stderr).toBe(0);
    expect(ran(summary)).toEqual(['uv311:wheelhouse']);
    expect(statuses(summary)).toMatchObject({
      'uv311:staging': 'up-to-date',
      'uv311:tree': 'up-to-date',
      'uv311:zip': 'up-to-date',
    });
    expect(sha256(p.path('dist/uv311.zip'))).toBe(zip);

    // One that does change the target's set goes all the way.
    edit(p, { backportMarker: "python_full_version >= '3.12'" });
    const changed = await build(p, ['uv311']);
    expect(changed.result.code, changed.result.stderr).toBe(0);
    expect(ran(changed.summary)).toEqual([
      'uv311:staging',
      'uv311:tree',
      'uv311:wheelhouse',
      'uv311:zip',
    ]);
    expect(distributions(p.path('dist/uv311.zip'))).toEqual(
      SET_311_X86.filter((d) => d !== 'backport-1.0'),
    );
  }, 180_000);
});

describe('a lock that cannot be installed', () => {
  it('refuses a wheel whose sha256 differs from the lock, naming the file and both hashes', async () => {
    const p = fresh();
    const common = template.packages.find((pkg) => pkg.name === 'common')!.wheels[0]!;
    const wrong = 'ab'.repeat(32);
    p.write('uv.lock', uvLock(template.packages, { hashOf: { [basename(common)]: wrong } }));
    const { result, summary } = await build(p, ['uv311']);
    expect(result.code).toBe(1);
    const failure = summary.targets.find((t) => t.key === 'uv311:wheelhouse')?.failure;
    expect(failure?.reason).toBe('hash-mismatch');
    expect(failure?.message).toBe(
      `common-1.0-py3-none-any.whl does not match uv.lock: the lock says sha256 ${wrong}, the file has sha256 ${sha256(common)}.`,
    );
    expect(p.exists('dist/uv311.zip')).toBe(false);
  }, 120_000);

  it('says a lock that differs from pyproject.toml is out of date (exit 2)', async () => {
    const p = fresh();
    // A new runtime dependency in pyproject.toml only.
    p.write('pyproject.toml', pyproject({ extraRootDeps: [{ name: 'newdep', specifier: '>=1' }] }));
    const deps = await p.run(['uv311'], { env: NO_PIP_ENV });
    expect(deps.code).toBe(2);
    expect(deps.stderr).toContain('uv.lock is out of date with pyproject.toml: run `uv lock`');
    // A changed dev group only: the lock is out of date as well.
    p.write('pyproject.toml', pyproject({ extraDev: [{ name: 'devtool2' }] }));
    const dev = await p.run(['uv311'], { env: NO_PIP_ENV });
    expect(dev.code).toBe(2);
    expect(dev.stderr).toContain('uv.lock is out of date with pyproject.toml: run `uv lock`');
    expect(p.exists('dist/uv311.zip')).toBe(false);
  }, 60_000);

  it('says no wheel suits the runtime for a package locked as an sdist only', async () => {
    const p = fresh();
    p.write(
      'uv.lock',
      uvLock(template.packages, {
        extraRootDeps: [{ name: 'sourceonly' }],
        extraPackages: [
          { name: 'sourceonly', version: '1.0', wheels: [], sdist: 'sourceonly-1.0.tar.gz' },
        ],
      }),
    );
    p.write('pyproject.toml', pyproject({ extraRootDeps: [{ name: 'sourceonly' }] }));
    const { result, summary } = await build(p, ['uv311']);
    expect(result.code).toBe(1);
    const failure = summary.targets.find((t) => t.key === 'uv311:wheelhouse')?.failure;
    expect(failure?.reason).toBe('no-suitable-wheel');
    expect(failure?.message).toContain(
      'No wheel of sourceonly==1.0 (locked in uv.lock) suits the Lambda runtime python3.11 x86_64. Found: sourceonly-1.0.tar.gz: a source distribution.',
    );
  }, 60_000);
});

describe('where locked files come from', () => {
  it("fetches a package the package sources lack from the lock's URL, hash checked", async () => {
    const p = fresh();
    const extra = p.path('elsewhere');
    const remote = await makeWheel(extra, { name: 'remote', version: '1.0' });
    const index = await IndexServer.start({ dirs: [extra] });
    try {
      const lock = uvLock(template.packages, {
        extraRootDeps: [{ name: 'remote' }],
        extraPackages: [{ name: 'remote', version: '1.0', wheels: [remote] }],
      }).replace(
        `https://files.example.invalid/packages/${basename(remote)}`,
        index.url({ path: `/files/${basename(remote)}` }),
      );
      p.write('uv.lock', lock);
      p.write('pyproject.toml', pyproject({ extraRootDeps: [{ name: 'remote' }] }));
      const { result } = await build(p, ['uv311']);
      expect(result.code, result.stderr).toBe(0);
      expect(distributions(p.path('dist/uv311.zip'))).toEqual(
        [...SET_311_X86, 'remote-1.0'].sort(),
      );
      expect(index.requests.map((r) => r.path)).toContain(`/files/${basename(remote)}`);
    } finally {
      await index.close();
    }
  }, 120_000);
});

describe('--explain on a lock wheelhouse', () => {
  it('says where the package sources that changed came from', async () => {
    const p = fresh();
    expect((await build(p, ['uv311'])).result.code).toBe(0);
    p.write('more/README', 'wheels of another team\n');
    p.write(
      'lbuild.toml',
      p
        .read('lbuild.toml')
        .replaceAll('find-links = ["wheels"]', 'find-links = ["wheels", "more"]'),
    );
    const result = await p.run(['-n', '--explain', 'uv311'], { env: NO_PIP_ENV });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(
      /because recipe changed: pip\.index\.findLinks \(package sources: no-index \(from lbuild\.toml no-index\); find-links \S*wheels \S*more \(from lbuild\.toml find-links\)\)/,
    );
  }, 120_000);
});

describe('a uv workspace', () => {
  it('ships the chosen member and the members it needs, built as wheels', async () => {
    const p = TempProject.create({
      'pyproject.toml': '[tool.uv.workspace]\nmembers = ["packages/*"]\n',
      'app/__init__.py': '',
      'lbuild.toml': lockToml({ api: 'lock = "uv.lock"\npackage = "api"\npython = "3.12"' }),
    });
    project = p;
    const common = await makeWheel(p.path('wheels'), { name: 'common', version: '1.0' });
    await makeLocalProject(p.path('packages/api'), {
      name: 'api',
      version: '0.1',
      files: {
        'api/__init__.py': '',
        'api/handler.py':
          'from core import core\n\n\ndef handler(event, context):\n    return core()\n',
      },
    });
    await makeLocalProject(p.path('packages/core'), {
      name: 'core',
      version: '0.1',
      files: { 'core/__init__.py': 'def core():\n    return "core"\n' },
    });
    await makeLocalProject(p.path('packages/tools'), { name: 'tools', version: '0.1' });
    p.write(
      'uv.lock',
      `version = 1
revision = 3
requires-python = ">=3.11"

[manifest]
members = ["api", "core", "tools"]

[[package]]
name = "api"
version = "0.1"
source = { editable = "packages/api" }
dependencies = [{ name = "common" }, { name = "core" }]

[[package]]
name = "common"
version = "1.0"
source = { registry = "https://pypi.org/simple" }
wheels = [{ url = "https://files.example.invalid/${basename(common)}", hash = "sha256:${sha256(common)}", size = 1 }]

[[package]]
name = "core"
version = "0.1"
source = { editable = "packages/core" }

[[package]]
name = "tools"
version = "0.1"
source = { editable = "packages/tools" }
`,
    );
    const { result } = await build(p);
    expect(result.code, result.stderr).toBe(0);
    const zip = p.path('dist/api.zip');
    expect(distributions(zip)).toEqual(['api-0.1', 'common-1.0', 'core-0.1']);
    const dir = extractZip(zip);
    try {
      expect(invoke('python3', dir, 'api.handler.handler', {})).toBe('core');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }

    // Without package, a virtual workspace root does not say whose dependencies to ship.
    p.write('lbuild.toml', lockToml({ api: 'lock = "uv.lock"\npython = "3.12"' }));
    const none = await p.run([], { env: NO_PIP_ENV });
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('Set package in the bundle to one of: api, core, tools.');
  }, 180_000);
});

describe('the bundle table', () => {
  it('refuses lock together with requirements, and groups without a lock (exit 2)', async () => {
    const p = fresh();
    p.write('lbuild.toml', lockToml({ fn: 'lock = "uv.lock"\nrequirements = "requirements.txt"' }));
    const both = await p.run([], { env: NO_PIP_ENV });
    expect(both.code).toBe(2);
    expect(both.stderr).toContain('sets both requirements and lock');
    p.write('lbuild.toml', lockToml({ fn: `groups = ["dev"]\narchitecture = "${OTHER}"` }));
    const groups = await p.run([], { env: NO_PIP_ENV });
    expect(groups.code).toBe(2);
    expect(groups.stderr).toContain('sets groups, which chooses within a lock file, but no lock');
  }, 60_000);
});

function basename(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}
