import { execFileSync } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { ran, TempProject } from '../helpers/project.js';
import { zipNames } from './rig.js';

/**
 * Bundles whose sources are the whole project (`sources = ["."]`): the zip holds the project's
 * own files and nothing that lbuild, other targets, editors or tools write into the directory,
 * no secrets, and a second build runs nothing.
 */
let project: TempProject | undefined;
afterEach(() => project?.dispose());

const SECRET = 'fake-secret-0123456789abcdef';

/** Every entry's content of a zip, joined: to search the whole zip for a string. */
function zipContent(path: string): string {
  return execFileSync(
    'python3',
    [
      '-c',
      'import sys, zipfile\nz = zipfile.ZipFile(sys.argv[1])\nsys.stdout.write("".join(z.read(n).decode("latin-1") for n in z.namelist()))',
      path,
    ],
    { encoding: 'latin1' },
  );
}

/** A project with the clutter a real working copy has, none of which belongs in a bundle. */
function clutteredProject(toml: string): TempProject {
  return TempProject.create({
    'lbuild.toml': toml,
    'app/__init__.py': '',
    'app/handler.py': 'def handler(event, context):\n    return "ok"\n',
    'app/data/table.csv': 'a,b\n1,2\n',
    '.env': `AWS_SECRET_ACCESS_KEY=${SECRET}\n`,
    '.env.local': `TOKEN=${SECRET}\n`,
    'app/.env': `DB_PASSWORD=${SECRET}\n`,
    'app/.env.production': `DB_PASSWORD=${SECRET}\n`,
    'venv/pyvenv.cfg': 'home = /usr/bin\n',
    'venv/lib/python3.12/site-packages/requests/__init__.py': '',
    '.venv/pyvenv.cfg': 'home = /usr/bin\n',
    'node_modules/left-pad/index.js': 'module.exports = 1;\n',
    'app/node_modules/x/index.js': 'module.exports = 2;\n',
    '__pycache__/conftest.cpython-312.pyc': 'pyc',
    'app/__pycache__/handler.cpython-312.pyc': 'pyc',
    'app/stale.pyc': 'pyc',
    '.git/HEAD': 'ref: refs/heads/main\n',
    '.git/config': '[core]\n',
    'vendor/sub/.git': 'gitdir: ../../.git/modules/sub\n',
    'vendor/sub/sub.py': 'SUB = 1\n',
    '.aws-sam/build/template.yaml': 'Resources: {}\n',
    '.serverless/api.zip': 'PK',
  });
}

describe('a bundle with sources = ["."]', () => {
  it('leaves out lbuild state, every declared output and the usual clutter, and settles', async () => {
    project = clutteredProject(`[bundle.api]
sources = ["."]

[bundle.worker]
sources = ["."]
output  = "build/worker.zip"

[target.report]
command = "mkdir -p reports && date +%s%N > reports/now.txt && echo x > stamp.txt"
outputs = ["reports", "stamp.txt"]
`);
    const first = await project.json();
    expect(first.result.code, first.result.stderr).toBe(0);
    expect(ran(first.summary)).toEqual([
      'api:tree',
      'api:zip',
      'report',
      'worker:tree',
      'worker:zip',
    ]);

    const expected = [
      'app/__init__.py',
      'app/data/table.csv',
      'app/handler.py',
      'lbuild.toml',
      'vendor/sub/sub.py',
    ];
    for (const zip of ['dist/api.zip', 'build/worker.zip']) {
      expect(zipNames(project.path(zip))).toEqual(expected);
      expect(zipContent(project.path(zip))).not.toContain(SECRET);
    }

    // Now every output exists: a second build must not pick any of them up.
    const second = await project.json(['--explain']);
    expect(second.result.code, second.result.stderr).toBe(0);
    expect(ran(second.summary), JSON.stringify(second.summary.targets, null, 1)).toEqual([]);
    expect((await project.run(['-q'])).code).toBe(0);

    // `-B` reruns everything from what is on disk now, outputs included: the same zips.
    const forced = await project.json(['-B']);
    expect(forced.result.code, forced.result.stderr).toBe(0);
    for (const zip of ['dist/api.zip', 'build/worker.zip'])
      expect(zipNames(project.path(zip))).toEqual(expected);

    // A new source file is still noticed.
    project.write('app/extra.py', 'X = 1\n');
    const third = await project.json();
    expect(ran(third.summary)).toEqual(['api:tree', 'api:zip', 'worker:tree', 'worker:zip']);
    expect(zipNames(project.path('dist/api.zip'))).toContain('app/extra.py');
  });

  it("ships another target's output when it names that output, which makes it a dependency", async () => {
    project = TempProject.create({
      'lbuild.toml': `[bundle.api]
sources = ["app", "generated"]

[target.gen]
command = "mkdir -p generated && printf 'VERSION = 1\\\\n' > generated/version.py"
outputs = ["generated"]
`,
      'app/handler.py': 'def handler(event, context):\n    return "ok"\n',
    });
    const first = await project.json(['api']);
    expect(first.result.code, first.result.stderr).toBe(0);
    expect(ran(first.summary)).toEqual(['api:tree', 'api:zip', 'gen']);
    expect(zipNames(project.path('dist/api.zip'))).toEqual([
      'app/handler.py',
      'generated/version.py',
    ]);
    expect(ran((await project.json(['api'])).summary)).toEqual([]);
  });
});
