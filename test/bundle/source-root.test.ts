import { afterEach, describe, expect, it } from 'vitest';
import { ran, TempProject } from '../helpers/project.js';
import { zipNames, zipText } from './rig.js';

/**
 * `source-root`: a project laid out as SAM's samples are (`CodeUri: src/`), with the handler in
 * src/app.py and `handler = "app.handler"`. The zip holds app.py at its root, never `src/`.
 */
let project: TempProject | undefined;
afterEach(() => project?.dispose());

const TOML = `[bundle.app]
source-root = "src"
sources     = ["."]
exclude     = ["tests/**"]
files       = { "config/settings.json" = "settings.json" }

[function.app]
bundle  = "app"
handler = "app.handler"
`;

function samProject(toml = TOML): TempProject {
  return TempProject.create({
    'lbuild.toml': toml,
    'template.yaml': 'Resources:\n  App:\n    Properties:\n      CodeUri: src/\n',
    'README.md': '# a SAM project\n',
    'settings.json': '{"where": "project root"}\n',
    'tests/test_app.py': 'def test_app():\n    pass\n',
    'src/app.py':
      'from helpers import greet\n\n\ndef handler(event, context):\n    return greet()\n',
    'src/helpers.py': 'def greet():\n    return "hello"\n',
    'src/settings.json': '{"where": "src"}\n',
    'src/tests/test_helpers.py': 'def test_greet():\n    pass\n',
  });
}

describe('a bundle with source-root = "src"', () => {
  it('puts src/app.py at the root of the zip, resolves exclude and files in src, and checks the handler there', async () => {
    project = samProject();
    const { result, summary } = await project.json([]);
    expect(result.code, result.stderr).toBe(0);
    expect(ran(summary)).toEqual(['app:handler', 'app:tree', 'app:zip']);
    const zip = project.path('dist/app.zip');
    expect(zipNames(zip)).toEqual([
      'app.py',
      'config/settings.json',
      'helpers.py',
      'settings.json',
    ]);
    expect(zipText(zip, 'config/settings.json')).toBe('{"where": "src"}\n');
    const handler = summary.targets.find((t) => t.key === 'app:handler');
    expect(handler?.status).toBe('built');

    // An edit under src rebuilds; one outside it does not.
    project.write('README.md', '# edited\n');
    project.write('tests/test_app.py', 'def test_app():\n    assert True\n');
    expect((await project.run(['-q'])).code).toBe(0);
    project.write('src/helpers.py', 'def greet():\n    return "hi"\n');
    const again = await project.json([]);
    expect(again.result.code, again.result.stderr).toBe(0);
    expect(ran(again.summary)).toEqual(['app:handler', 'app:tree', 'app:zip']);
    expect(zipText(zip, 'helpers.py')).toBe('def greet():\n    return "hi"\n');
    expect((await project.run(['-q'])).code).toBe(0);
  });

  // A handler the zip does not hold is a mistake in the config: exit 2, as for a deploy.
  it('checks the handler against zip paths: src.app.handler is not in the zip', async () => {
    project = samProject(TOML.replace('handler = "app.handler"', 'handler = "src.app.handler"'));
    const result = await project.run([]);
    expect(result.code, result.stderr).toBe(2);
    expect(result.stderr).toContain('module src.app is not in app.zip');
    expect(result.stderr).toContain('hint: Python modules at the top of the zip: app, helpers');
  });

  it('a source-root that does not exist is a config error at its key, exit 2, and nothing is built', async () => {
    project = samProject(TOML.replace('source-root = "src"', 'source-root = "source"'));
    for (const args of [[], ['-q'], ['-n']]) {
      const result = await project.run(args);
      expect(result.code).toBe(2);
      expect(result.stderr).toBe(
        `lbuild: error: source-root "source" of [bundle.app] does not exist
  --> lbuild.toml:2:1 (bundle.app.source-root)
  hint: set source-root to the folder that holds the handler module (relative to the project root), e.g. "src", or remove it to resolve sources from the project root
`,
      );
    }
    expect(project.exists('dist')).toBe(false);
  });

  it('a source-root that is a file is refused the same way', async () => {
    project = samProject(TOML.replace('source-root = "src"', 'source-root = "README.md"'));
    const result = await project.run([]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('source-root "README.md" of [bundle.app] is not a folder');
  });
});
