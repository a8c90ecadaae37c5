import { describe, expect, it } from 'vitest';
import { makeWheels } from '../fixtures/python/wheels.js';
import type { TempProject } from '../helpers/project.js';
import { editSource, functionTable, shown, useLocalAws } from './rig.js';

/**
 * Layers end to end: the hello example with its requirements moved from `[bundle.hello]` into a
 * `[layer.deps]` (python-lambda's layer table, whose zip has its files under `python/`), deployed
 * with the built CLI to the emulator. Only the layer's zip changing publishes a version, and the
 * function's Layers follow it.
 *
 * NEEDS `[layer.NAME]` in python-lambda (it builds `NAME:zip`); without it lbuild refuses the
 * table and every test here fails at the first build.
 */
const aws = useLocalAws();

const LAYER_ARN = 'arn:aws:lambda:us-east-1:123456789012:layer:deps';

const LAYER_TABLE = `
[layer.deps]
requirements = "requirements.txt"
python       = "3.12"
architecture = "x86_64"
find-links   = ["wheels"]
no-index     = true
`;

/** The example with its requirements in a layer, and `[function.hello] layers = ["deps"]`. */
function layeredProject(extra = ''): TempProject {
  const project = aws.project('');
  const config = project
    .read('lbuild.toml')
    // The bundle keeps its sources; its dependencies come from the layer.
    .replace(/^requirements\s*=.*\n/m, '');
  project.write(
    'lbuild.toml',
    `${config}\n${LAYER_TABLE}\n${functionTable(`layers = ["deps"]\n${extra}`)}`,
  );
  return project;
}

const publishes = () => aws.emu.countCalls('PublishLayerVersion');
const mutations = () => aws.mutations().map((c) => c.operation);
const layersOf = () => aws.emu.functionState('hello')?.Layers?.map((l) => l.Arn);

async function deployed(): Promise<TempProject> {
  const project = layeredProject();
  await aws.deploy(project);
  expect(publishes()).toBe(1);
  expect(layersOf()).toEqual([`${LAYER_ARN}:1`]);
  aws.emu.clearCalls();
  return project;
}

describe('deploying layers (needs [layer.NAME] from python-lambda)', () => {
  it('the first deploy publishes the layer once, for python3.12 on x86_64, and creates the function with it', async () => {
    const project = layeredProject();
    const result = await aws.deploy(project);
    expect(mutations(), shown(result)).toEqual(['CreateFunction']);
    const [publish] = aws.emu.calls({ operation: 'PublishLayerVersion' });
    expect(publish?.params).toMatchObject({
      CompatibleRuntimes: ['python3.12'],
      CompatibleArchitectures: ['x86_64'],
    });
    expect(layersOf()).toEqual([`${LAYER_ARN}:1`]);
  });

  it('an unchanged deploy publishes no layer and changes nothing', async () => {
    const project = await deployed();
    await aws.deploy(project);
    expect(publishes()).toBe(0);
    expect(mutations()).toEqual([]);
  });

  it('a source edit uploads the code and publishes no layer', async () => {
    const project = await deployed();
    editSource(project);
    await aws.deploy(project);
    expect(publishes()).toBe(0);
    expect(mutations()).toEqual(['UpdateFunctionCode']);
    expect(layersOf()).toEqual([`${LAYER_ARN}:1`]);
  });

  it('a comment in requirements publishes nothing', async () => {
    const project = await deployed();
    project.write('requirements.txt', `${project.read('requirements.txt')}# a comment\n`);
    await aws.deploy(project);
    expect(publishes()).toBe(0);
    expect(mutations()).toEqual([]);
  });

  it('a requirement change publishes exactly one layer version, and the function points at it', async () => {
    const project = await deployed();
    await makeWheels(project.path('wheels'), [{ name: 'lbuild-example-extra', version: '1.0' }]);
    project.write(
      'requirements.txt',
      `${project.read('requirements.txt')}lbuild-example-extra==1.0\n`,
    );
    await aws.deploy(project);
    expect(publishes()).toBe(1);
    expect(mutations()).toEqual(['UpdateFunctionConfiguration']);
    expect(layersOf()).toEqual([`${LAYER_ARN}:2`]);
    aws.emu.clearCalls();
    await aws.deploy(project);
    expect(mutations()).toEqual([]);
    expect(publishes()).toBe(0);
  });

  it('-q deploy and -n deploy agree, before and after a layer change is deployed', async () => {
    const project = await deployed();
    const upToDate = await aws.run(project, ['-q', 'deploy']);
    expect(upToDate.code, shown(upToDate)).toBe(0);
    const nothing = await aws.run(project, ['-n', 'deploy']);
    expect(nothing.code, shown(nothing)).toBe(0);
    expect(nothing.stdout).not.toMatch(/deps:publish/);

    await makeWheels(project.path('wheels'), [{ name: 'lbuild-example-extra', version: '1.0' }]);
    project.write(
      'requirements.txt',
      `${project.read('requirements.txt')}lbuild-example-extra==1.0\n`,
    );
    // The zips are built (a plain lbuild builds no deploy target): only Lambda is behind.
    const built = await aws.run(project, []);
    expect(built.code, shown(built)).toBe(0);
    expect(publishes()).toBe(0);
    const question = await aws.run(project, ['-q', '--explain', 'deploy']);
    const dry = await aws.run(project, ['-n', '--explain', 'deploy']);
    expect(question.code, shown(question)).toBe(1);
    expect(question.stdout).toMatch(/deps:publish would run: .*layer deps CodeSha256 differs/);
    expect(dry.stdout, shown(dry)).toMatch(/deps:publish/);
    expect(dry.stdout).toMatch(/hello:upload/);
    expect(mutations(), 'a question and a dry run change nothing').toEqual([]);

    await aws.deploy(project);
    expect(publishes()).toBe(1);
    const after = await aws.run(project, ['-q', 'deploy']);
    expect(after.code, shown(after)).toBe(0);
  });

  it('a layers name without a [layer.NAME] table: exit 2 at the key, the layer tables in the hint', async () => {
    const project = layeredProject();
    project.write(
      'lbuild.toml',
      project.read('lbuild.toml').replace('layers = ["deps"]', 'layers = ["dep"]'),
    );
    const result = await aws.run(project, ['deploy']);
    expect(result.code, shown(result)).toBe(2);
    expect(result.stderr).toContain(
      'error: [function.hello] layers names "dep", which is neither a [layer.NAME] table nor a layer version ARN',
    );
    expect(result.stderr).toContain('(function.hello.layers.0)');
    expect(result.stderr).toContain('hint: layer tables: [layer.deps]');
    expect(aws.emu.calls()).toEqual([]);
  });
});
