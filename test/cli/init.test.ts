import { execFileSync } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { ran, TempProject } from '../helpers/project.js';
import { makeWheels } from '../fixtures/python/wheels.js';
import { zipNames } from '../bundle/rig.js';

/**
 * `lbuild init` in Python projects as they come: it proposes a bundle from what is there, the
 * config it writes builds, and it never replaces a file.
 */
let project: TempProject | undefined;
afterEach(() => project?.dispose());

const NO_PIP_ENV: Record<string, undefined> = Object.fromEntries(
  Object.keys(process.env)
    .filter((key) => key.startsWith('PIP_'))
    .map((key) => [key, undefined]),
);

/** The interpreter's major.minor, as init reads it when nothing else names a version. */
const PYTHON3 = execFileSync(
  'python3',
  ['-c', 'import sys; print("%d.%d" % sys.version_info[:2])'],
  {
    encoding: 'utf8',
  },
).trim();

describe('lbuild init', () => {
  it('in a SAM-like project: requirements.txt, handler in src/app.py; the config it writes builds the zip', async () => {
    project = TempProject.create({
      'pyproject.toml': '[project]\nname = "Orders_API"\nrequires-python = ">=3.12"\n',
      'requirements.txt': '--no-index\n--find-links wheels\nalpha==1.0\n',
      'src/app.py':
        'import alpha\nfrom helpers import greet\n\n\ndef handler(\n    event,\n    context,\n):\n    return greet() + alpha.NAME\n',
      'src/helpers.py': 'def greet():\n    return "hello "\n',
      // A handler-shaped function in tests, and a def in a string: neither is the handler.
      'tests/test_app.py': 'def handler(event, context):\n    pass\n',
      'src/notes.py': 'TEXT = """\ndef handler(event, context):\n"""\n',
      'template.yaml': 'Resources: {}\n',
      '.gitignore': '__pycache__/\n.lbuild\n',
    });
    await makeWheels(project.path('wheels'), [
      { name: 'alpha', version: '1.0', files: { 'alpha/__init__.py': 'NAME = "alpha"\n' } },
    ]);
    const init = await project.run(['init']);
    expect(init.code, init.stderr).toBe(0);
    expect(init.stdout).toContain('lbuild: wrote lbuild.toml: bundle orders_api\n');
    expect(project.read('lbuild.toml'))
      .toBe(`# Written by \`lbuild init\`; see the README for every key.

[bundle.orders_api]
requirements = "requirements.txt"
source-root  = "src"  # sources are resolved here; zip paths are relative to it
sources      = ["."]
python       = "3.12"  # from requires-python ">=3.12"
architecture = "x86_64"  # or "arm64"
output       = "dist/orders_api.zip"

[function.orders_api]
bundle       = "orders_api"
handler      = "app.handler"  # src/app.py:5
# Before \`lbuild deploy\`: the function and where it lives.
# function-name = "orders_api"
# region        = "eu-west-1"
# role          = "arn:aws:iam::123456789012:role/NAME"
`);
    // .lbuild was ignored already; the zip was not.
    expect(project.read('.gitignore')).toBe(
      '__pycache__/\n.lbuild\n\n# lbuild: build state and outputs\n/dist/orders_api.zip\n',
    );

    const { result, summary } = await project.json([], { env: NO_PIP_ENV });
    expect(result.code, result.stderr).toBe(0);
    expect(ran(summary)).toContain('orders_api:handler');
    expect(
      zipNames(project.path('dist/orders_api.zip')).filter((n) => !n.includes('dist-info')),
    ).toEqual(['alpha/__init__.py', 'app.py', 'helpers.py', 'notes.py']);
    // git ignores both.
    execFileSync('git', ['init', '-q'], { cwd: project.dir });
    const ignored = execFileSync('git', ['check-ignore', 'dist/orders_api.zip', '.lbuild/x.json'], {
      cwd: project.dir,
      encoding: 'utf8',
    });
    expect(ignored).toBe('dist/orders_api.zip\n.lbuild/x.json\n');

    // A second init changes nothing.
    const config = project.read('lbuild.toml');
    const again = await project.run(['init']);
    expect(again.code).toBe(2);
    expect(again.stderr)
      .toBe(`lbuild: error: lbuild.toml already exists; lbuild init leaves it as it is
  --> lbuild.toml
  hint: edit it, or move it away and run lbuild init again
`);
    expect(project.read('lbuild.toml')).toBe(config);
    expect(project.read('.gitignore')).toBe(
      '__pycache__/\n.lbuild\n\n# lbuild: build state and outputs\n/dist/orders_api.zip\n',
    );
  });

  it('takes uv.lock, then pylock.toml, as the requirement source', async () => {
    project = TempProject.create({
      'pyproject.toml':
        '[project]\nname = "svc"\nrequires-python = ">=3.11,<3.13"\ndependencies = ["alpha"]\n',
      'uv.lock': 'version = 1\n',
      'pylock.toml': 'lock-version = "1.0"\n',
      'svc/__init__.py': '',
      'svc/handler.py': 'def lambda_handler(event, context):\n    return 1\n',
    });
    expect((await project.run(['init'])).code).toBe(0);
    const config = project.read('lbuild.toml');
    expect(config).toContain(
      '[bundle.svc]\nlock         = "uv.lock"\nsources      = ["svc"]\npython       = "3.11"',
    );
    expect(config).toContain('handler      = "svc.handler.lambda_handler"  # svc/handler.py:1');
    expect(config).not.toContain('requirements');
    // No .gitignore yet: one is created.
    expect(project.read('.gitignore')).toBe(
      '# lbuild: build state and outputs\n.lbuild/\n/dist/svc.zip\n',
    );

    project.remove('uv.lock');
    project.remove('lbuild.toml');
    expect((await project.run(['init'])).code).toBe(0);
    expect(project.read('lbuild.toml')).toContain('lock         = "pylock.toml"');
    expect(project.read('.gitignore')).toBe(
      '# lbuild: build state and outputs\n.lbuild/\n/dist/svc.zip\n',
    );
  });

  it('with --pyproject adds [tool.lbuild] to pyproject.toml, which lbuild then reads; pyproject alone gets a note', async () => {
    const pyproject =
      '[project]\nname = "fn"\ndependencies = ["alpha"]\n\n[tool.ruff]\nline-length = 100';
    project = TempProject.create({
      'pyproject.toml': pyproject,
      'lambda_function.py': 'def lambda_handler(event, context):\n    return {"ok": True}\n',
    });
    const init = await project.run(['init', '--pyproject']);
    expect(init.code, init.stderr).toBe(0);
    expect(project.exists('lbuild.toml')).toBe(false);
    const text = project.read('pyproject.toml');
    expect(text.startsWith(`${pyproject}\n\n[tool.lbuild.bundle.fn]\n`)).toBe(true);
    expect(text).toContain('sources      = ["lambda_function.py"]');
    expect(text).toContain('handler      = "lambda_function.lambda_handler"');
    if (['3.8', '3.9', '3.10', '3.11', '3.12', '3.13', '3.14'].includes(PYTHON3))
      expect(text).toContain(`python       = "${PYTHON3}"  # the version of python3 here`);
    expect(init.stdout).toContain(
      'note: pyproject.toml declares 1 dependency but there is no lock or requirements file',
    );
    const { result, summary } = await project.json([]);
    expect(result.code, result.stderr).toBe(0);
    expect(ran(summary)).toEqual(['fn:handler', 'fn:tree', 'fn:zip']);
    expect(zipNames(project.path('dist/fn.zip'))).toEqual(['lambda_function.py']);

    const again = await project.run(['init', '--pyproject']);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain('pyproject.toml already has a [tool.lbuild] table');
    expect(project.read('pyproject.toml')).toBe(text);
  });

  it('outside a Python project: exit 2, nothing written', async () => {
    project = TempProject.create({ 'README.md': '# notes\n' });
    const result = await project.run(['init']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('does not look like a Python project');
    expect(project.files()).toEqual(['README.md']);
  });
});
