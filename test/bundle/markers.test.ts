import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TempProject, ran } from '../helpers/project.js';
import { makeWheels } from '../fixtures/python/wheels.js';
import { FOREIGN_MACHINE, MACHINE, NO_PIP_ENV, inspectZip, unzipTest } from './rig.js';

/**
 * A bundle for a runtime unlike the build machine (python3.12 on the other CPU), whose one
 * requirement has dependencies behind environment markers: the zip holds what Lambda needs, judged
 * for Lambda, and nothing that only the build machine would need.
 */
const RUNTIME_ARCHITECTURE = FOREIGN_MACHINE === 'aarch64' ? 'arm64' : 'x86_64';

let project: TempProject;
let names: string[];

beforeAll(async () => {
  project = TempProject.create({
    'lbuild.toml': `[bundle.fn]
requirements = "requirements.txt"
sources      = ["app"]
python       = "3.12"
architecture = "${RUNTIME_ARCHITECTURE}"
find-links   = ["wheels"]
no-index     = true
`,
    'requirements.txt': 'service==1.0\nbackports-only ; python_version < "3.12"\n',
    'app/handler.py': 'def handler(event, context):\n    return {}\n',
  });
  await makeWheels(project.path('wheels'), [
    {
      name: 'service',
      version: '1.0',
      deps: [
        'needs-312; python_version >= "3.12"',
        'before-312; python_version < "3.12"',
        `for-runtime-cpu; platform_machine == "${FOREIGN_MACHINE}"`,
        `for-build-cpu; platform_machine == "${MACHINE}"`,
        'for-windows; sys_platform == "win32"',
      ],
    },
    ...[
      'needs-312',
      'before-312',
      'for-runtime-cpu',
      'for-build-cpu',
      'for-windows',
      'backports-only',
    ].map((name) => ({ name, version: '1.0' })),
  ]);
  const { result, summary } = await project.json([], { env: NO_PIP_ENV });
  expect(result.code, result.stderr).toBe(0);
  expect(ran(summary)).toEqual(['fn:staging', 'fn:tree', 'fn:wheelhouse', 'fn:zip']);
  names = inspectZip(project.path('dist/fn.zip')).entries.map((e) => e.name);
}, 180_000);

afterAll(() => {
  project.dispose();
});

const packages = () =>
  [...new Set(names.filter((n) => n.endsWith('/__init__.py')).map((n) => n.split('/')[0]))].sort();

describe('a bundle whose dependencies have environment markers', () => {
  it('holds the dependencies Lambda needs and none that only the build machine needs', () => {
    expect(packages()).toEqual(['for_runtime_cpu', 'needs_312', 'service']);
    expect(names).toContain('needs_312-1.0.dist-info/METADATA');
    expect(names).toContain('for_runtime_cpu-1.0.dist-info/METADATA');
    expect(
      names.filter((n) => /before_312|for_build_cpu|for_windows|backports_only/.test(n)),
    ).toEqual([]);
    expect(unzipTest(project.path('dist/fn.zip')).status).toBe(0);
  });

  it('is up to date on a second run', async () => {
    const { result, summary } = await project.json([], { env: NO_PIP_ENV });
    expect(result.code, result.stderr).toBe(0);
    expect(ran(summary)).toEqual([]);
  }, 120_000);
});
