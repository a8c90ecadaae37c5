import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import {
  LambdaClient,
  PublishLayerVersionCommand,
  type PublishLayerVersionCommandOutput,
} from '@aws-sdk/client-lambda';
import * as z from 'zod/mini';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import {
  LbuildError,
  definePlugin,
  loadProject,
  runBuild,
  type BuildMode,
  type BuildSummary,
  type Plugin,
  type TargetDefinition,
} from '@lbuild/core';
import { faults, makeZip, startLambdaEmulator } from '@lbuild/lambda-emulator';
import type { LambdaEmulator } from '@lbuild/lambda-emulator';
import { createLambdaDeployPlugin } from '../src/index.js';
import { useLocalAws } from './helpers.js';

/**
 * `layers` through the engine, against the emulator: fake `[bundle.NAME]` and `[layer.NAME]`
 * plugins make the zips (a layer's under `python/`, with the `layer` artifact python-lambda's
 * `[layer.NAME]` publishes), the real deploy plugin publishes and sets Layers.
 */

const ROLE = 'arn:aws:iam::123456789012:role/lambda-exec';
const LAYER_ARN = 'arn:aws:lambda:us-east-1:123456789012:layer';

/** `[bundle.NAME]` / `[layer.NAME]`: `files` maps zip paths to project files. */
const ZipTable = z.strictObject({
  files: z.record(z.string(), z.string()),
  python: z.optional(z.string()),
  architecture: z.optional(z.enum(['x86_64', 'arm64'])),
  /** Claimed unzipped size, to try the 250 MB limit without writing 250 MB. */
  'unzipped-size': z.optional(z.number()),
});
type ZipTable = z.infer<typeof ZipTable>;

function fakeZipPlugin(table: 'bundle' | 'layer'): Plugin<ZipTable> {
  return definePlugin<ZipTable>({
    table,
    description: `fake ${table}`,
    schema: ZipTable,
    targets(entry) {
      const { files } = entry.config;
      const output = `dist/${table}-${entry.name}.zip`;
      const target: TargetDefinition = {
        key: `${entry.name}:zip`,
        kind: 'zip',
        deps: [],
        inputs: [{ patterns: Object.values(files) }],
        outputs: [output],
        artifact: {
          lambda: {
            table: `${table}.${entry.name}`,
            python: entry.config.python ?? '3.12',
            architecture: entry.config.architecture ?? 'x86_64',
            ...(table === 'layer' ? { layer: true } : {}),
          },
        },
        recipe: () => ({ files }),
        run: async () => {
          const contents: Record<string, Buffer> = {};
          for (const [path, file] of Object.entries(files)) {
            contents[table === 'layer' ? `python/${path}` : path] = await readFile(
              join(entry.root, file),
            );
          }
          const bytes = makeZip(contents);
          await mkdir(dirname(join(entry.root, output)), { recursive: true });
          await writeFile(join(entry.root, output), bytes);
          const digest = createHash('sha256').update(bytes).digest();
          return {
            value: {
              sha256: digest.toString('hex'),
              codeSha256: digest.toString('base64'),
              size: bytes.length,
              entries: Object.keys(contents).length,
              unzippedSize:
                entry.config['unzipped-size'] ??
                Object.values(contents).reduce((n, b) => n + b.length, 0),
            },
          };
        },
      };
      return { targets: [target] };
    },
  });
}

let dir: string;
let emu: LambdaEmulator;
let project: string;
let lambda: LambdaClient;

const deployPlugin = () =>
  createLambdaDeployPlugin({
    env: { AWS_ENDPOINT_URL_LAMBDA: emu.endpoint },
    tuning: { pollIntervalMs: 10, retryBaseDelayMs: 5, retryMaxDelayMs: 20 },
  });

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lambda-deploy-layers-'));
  emu = await startLambdaEmulator({ updateDelayMs: 20 });
  useLocalAws({ lambda: emu.endpoint }, dir);
  lambda = new LambdaClient({ endpoint: emu.endpoint, region: 'us-east-1', maxAttempts: 1 });
});

beforeEach(async () => {
  emu.reset();
  project = await mkdtemp(join(dir, 'project-'));
  await write('app.py', 'import deps_mod\n\ndef handler(event, context):\n    return 1\n');
  await write('deps_mod.py', 'VALUE = 1\n');
});

afterEach(async () => {
  await rm(project, { recursive: true, force: true });
});

afterAll(async () => {
  lambda.destroy();
  await emu.close();
  await rm(dir, { recursive: true, force: true });
});

const write = async (path: string, text: string) => {
  await mkdir(dirname(join(project, path)), { recursive: true });
  await writeFile(join(project, path), text);
};

/** lbuild.toml: bundle api (app.py), layer deps (deps_mod.py), function api with `extra`. */
const config = (extra = 'layers = ["deps"]\n', more = '') =>
  write(
    'lbuild.toml',
    `[bundle.api]
files = { "app.py" = "app.py" }

[layer.deps]
files = { "deps_mod.py" = "deps_mod.py" }
${more}
[function.api]
bundle = "api"
role = "${ROLE}"
handler = "app.handler"
${extra}`,
  );

async function build(
  targets: string[],
  mode: BuildMode = 'build',
  stateDir?: string,
): Promise<BuildSummary> {
  const loaded = await loadProject(project, [
    fakeZipPlugin('bundle'),
    fakeZipPlugin('layer'),
    deployPlugin(),
  ]);
  return runBuild({
    root: loaded.root,
    graph: loaded.graph,
    targets,
    mode,
    explain: true,
    ...(stateDir ? { stateDir } : {}),
  });
}

const deploy = async () => {
  const summary = await build(['api:upload']);
  const failed = summary.targets.find((t) => t.status === 'failed');
  expect(failed?.failure, JSON.stringify(failed?.failure)).toBeUndefined();
  return summary;
};

const statusOf = (summary: BuildSummary, key: string) =>
  summary.targets.find((t) => t.key === key)?.status;

/** The calls that change something in Lambda. */
const mutations = () =>
  emu
    .calls()
    .filter((c) =>
      [
        'CreateFunction',
        'UpdateFunctionCode',
        'UpdateFunctionConfiguration',
        'PublishLayerVersion',
        'PublishVersion',
      ].includes(c.operation),
    )
    .map((c) => c.operation);

const layersOf = () => emu.functionState('api')?.Layers?.map((l) => l.Arn);

async function loadFailure(): Promise<LbuildError> {
  try {
    await build(['api:upload'], 'query');
  } catch (error) {
    if (error instanceof LbuildError) return error;
    throw error;
  }
  throw new Error('expected the project to be refused');
}

describe('a [layer.NAME] in layers', () => {
  test('the first deploy publishes version 1 and creates the function with it', async () => {
    await config();
    await deploy();
    expect(mutations()).toEqual(['PublishLayerVersion', 'CreateFunction']);
    expect(emu.calls({ operation: 'PublishLayerVersion' })[0]?.params).toMatchObject({
      CompatibleRuntimes: ['python3.12'],
      CompatibleArchitectures: ['x86_64'],
    });
    expect(layersOf()).toEqual([`${LAYER_ARN}:deps:1`]);
    expect(emu.layerCode('deps', 1)).toEqual(await readFile(join(project, 'dist/layer-deps.zip')));
  });

  test('an unchanged deploy publishes nothing and changes nothing', async () => {
    await config();
    await deploy();
    emu.clearCalls();
    await deploy();
    expect(mutations()).toEqual([]);
    expect((await build(['api:upload'], 'query')).status).toBe('ok');
  });

  test('a source edit uploads the code and publishes no layer', async () => {
    await config();
    await deploy();
    emu.clearCalls();
    await write('app.py', 'import deps_mod\n\ndef handler(event, context):\n    return 2\n');
    await deploy();
    expect(mutations()).toEqual(['UpdateFunctionCode']);
    expect(layersOf()).toEqual([`${LAYER_ARN}:deps:1`]);
  });

  test('a change of the layer publishes exactly one version, and the function gets it', async () => {
    await config();
    await deploy();
    emu.clearCalls();
    await write('deps_mod.py', 'VALUE = 2\n');

    const asked = await build(['api:upload'], 'query');
    const listed = await build(['api:upload'], 'dry-run');
    expect(mutations()).toEqual([]);
    expect([asked.status, listed.status]).toEqual(['stale', 'stale']);
    expect(statusOf(listed, 'deps:publish')).toBe('would-run');

    await deploy();
    expect(mutations()).toEqual(['PublishLayerVersion', 'UpdateFunctionConfiguration']);
    expect(layersOf()).toEqual([`${LAYER_ARN}:deps:2`]);
    emu.clearCalls();
    expect((await build(['api:upload'], 'query')).status).toBe('ok');
    await deploy();
    expect(mutations()).toEqual([]);
  });

  test('a publish whose answer is lost is not made twice', async () => {
    await config();
    emu.injectFault({ operation: 'PublishLayerVersion', fault: faults.drop('after') });
    await deploy();
    expect(emu.countCalls('PublishLayerVersion')).toBe(1);
    expect(emu.layerCode('deps', 2)).toBeUndefined();
    expect(layersOf()).toEqual([`${LAYER_ARN}:deps:1`]);
  });

  test('a newer version with the same zip (published elsewhere) is adopted, not published again', async () => {
    await config();
    await deploy();
    await lambda.send(
      new PublishLayerVersionCommand({
        LayerName: 'deps',
        Content: { ZipFile: await readFile(join(project, 'dist/layer-deps.zip')) },
      }),
    );
    emu.clearCalls();
    const asked = await build(['api:upload'], 'query');
    expect(asked.status).toBe('stale');
    await deploy();
    expect(mutations()).toEqual(['UpdateFunctionConfiguration']);
    expect(layersOf()).toEqual([`${LAYER_ARN}:deps:2`]);
  });

  test('without a record of the publish (another machine), a question reads the newest version', async () => {
    await config();
    await deploy();
    emu.clearCalls();
    // Only the zips were built here: no stamp of deps:publish or api:upload.
    const elsewhere = join(project, '.lbuild-elsewhere');
    expect((await build(['api:zip', 'deps:zip'], 'build', elsewhere)).status).toBe('ok');
    const asked = await build(['api:upload'], 'query', elsewhere);
    expect(asked.status, JSON.stringify(asked.targets)).toBe('ok');
    await write('deps_mod.py', 'VALUE = 3\n');
    expect((await build(['deps:zip'], 'build', elsewhere)).status).toBe('ok');
    expect((await build(['api:upload'], 'query', elsewhere)).status).toBe('stale');
    expect(mutations()).toEqual([]);
  });

  test('an ARN is used as written, after the project layers in the configured order', async () => {
    const other: PublishLayerVersionCommandOutput = await lambda.send(
      new PublishLayerVersionCommand({
        LayerName: 'other',
        Content: { ZipFile: makeZip({ 'python/other.py': 'X = 1\n' }) },
      }),
    );
    await config(`layers = ["${other.LayerVersionArn ?? ''}", "deps"]\n`);
    await deploy();
    expect(layersOf()).toEqual([`${LAYER_ARN}:other:1`, `${LAYER_ARN}:deps:1`]);
    emu.clearCalls();
    await config(`layers = ["deps", "${other.LayerVersionArn ?? ''}"]\n`);
    await deploy();
    expect(mutations()).toEqual(['UpdateFunctionConfiguration']);
    expect(layersOf()).toEqual([`${LAYER_ARN}:deps:1`, `${LAYER_ARN}:other:1`]);
  });

  test('two functions in one region share one publish; layers = [] removes the layers', async () => {
    await config(
      'layers = ["deps"]\n\n[function.worker]\nbundle = "api"\nrole = "' +
        ROLE +
        '"\nhandler = "app.handler"\nlayers = ["deps"]\n',
    );
    const both = await build(['api:upload', 'worker:upload']);
    expect(both.status).toBe('ok');
    expect(emu.countCalls('PublishLayerVersion')).toBe(1);
    expect(emu.functionState('worker')?.Layers?.map((l) => l.Arn)).toEqual([`${LAYER_ARN}:deps:1`]);
    await config('layers = []\n');
    emu.clearCalls();
    await deploy();
    expect(mutations()).toEqual(['UpdateFunctionConfiguration']);
    expect(layersOf()).toBeUndefined();
  });
});

describe('what is refused before anything is sent', () => {
  test('a name that is no [layer.NAME]: the key, and the layer tables in the hint', async () => {
    await config('layers = ["dep"]\n');
    const error = await loadFailure();
    expect(error.failure).toMatchObject({
      reason: 'unknown-layer',
      kind: 'config',
      message:
        '[function.api] layers names "dep", which is neither a [layer.NAME] table nor a layer version ARN',
      hint: 'layer tables: [layer.deps]',
      location: { key: 'function.api.layers.0' },
    });
    expect(emu.calls()).toEqual([]);
  });

  test("a bundle's zip named as a layer", async () => {
    await config('layers = ["api"]\n');
    const error = await loadFailure();
    expect(error.failure).toMatchObject({
      reason: 'not-a-layer',
      message:
        '[function.api] layers names "api", but api:zip is the zip of [bundle.api], not a layer',
      location: { key: 'function.api.layers.0' },
    });
  });

  test('a layer built for another Python or CPU than the function runs', async () => {
    await config('layers = ["deps"]\n', 'python = "3.11"\narchitecture = "arm64"\n');
    const error = await loadFailure();
    expect(error.failure).toMatchObject({
      reason: 'runtime-mismatch',
      message: '[function.api] runs Python 3.12, but [layer.deps] is built for Python 3.11',
      others: [
        {
          reason: 'architecture-mismatch',
          message: '[function.api] runs on x86_64, but [layer.deps] is built for arm64',
        },
      ],
    });
  });

  test('an ARN of another region than the function', async () => {
    await config(
      'region = "us-east-1"\nlayers = ["arn:aws:lambda:eu-west-1:123456789012:layer:other:1"]\n',
    );
    const error = await loadFailure();
    expect(error.failure).toMatchObject({
      reason: 'layer-region',
      location: { key: 'function.api.layers.0' },
    });
  });

  test('the code and the layers over 250 MB unzipped: the function is not touched', async () => {
    await config('layers = ["deps"]\n', '"unzipped-size" = 200000000\n');
    await write(
      'lbuild.toml',
      (await readFile(join(project, 'lbuild.toml'), 'utf8')).replace(
        'files = { "app.py" = "app.py" }',
        'files = { "app.py" = "app.py" }\n"unzipped-size" = 70000000',
      ),
    );
    const summary = await build(['api:upload']);
    const failure = summary.targets.find((t) => t.key === 'api:upload')?.failure;
    expect(failure).toMatchObject({ reason: 'unzipped-too-large', kind: 'config' });
    expect((failure as { message: string }).message).toContain(
      'bundle api 66.8 MB, layer deps 190.7 MB',
    );
    expect(mutations()).toEqual(['PublishLayerVersion']);
  });
});

describe('the handler check knows layers', () => {
  test('a handler module that only the layer has passes; a missing one names the layer', async () => {
    await write('handlers/__init__.py', '');
    await write('handlers/api.py', 'def handler(event, context):\n    return 1\n');
    await config();
    await write(
      'lbuild.toml',
      (await readFile(join(project, 'lbuild.toml'), 'utf8'))
        .replace(
          'files = { "deps_mod.py" = "deps_mod.py" }',
          'files = { "deps_mod.py" = "deps_mod.py", "handlers/__init__.py" = "handlers/__init__.py", "handlers/api.py" = "handlers/api.py" }',
        )
        .replace('handler = "app.handler"', 'handler = "handlers.api.handler"'),
    );
    const checked = await build(['api:handler']);
    expect(checked.status, JSON.stringify(checked.targets)).toBe('ok');

    await write(
      'lbuild.toml',
      (await readFile(join(project, 'lbuild.toml'), 'utf8')).replace(
        'handler = "handlers.api.handler"',
        'handler = "handlers.web.handler"',
      ),
    );
    const failed = await build(['api:handler']);
    expect(failed.targets.find((t) => t.key === 'api:handler')?.failure).toMatchObject({
      reason: 'handler-not-found',
      kind: 'config',
      message:
        'handler "handlers.web.handler": module handlers.web is not in bundle-api.zip or under python/ in layer deps (looked for handlers/web.py, handlers/web/__init__.py and handlers/web.*.so)',
    });
  });

  test('a module missing everywhere lbuild can see, with an ARN layer: not refused, noted', async () => {
    await config('layers = ["deps", "arn:aws:lambda:us-east-1:123456789012:layer:other:1"]\n');
    await write(
      'lbuild.toml',
      (await readFile(join(project, 'lbuild.toml'), 'utf8')).replace(
        'handler = "app.handler"',
        'handler = "vendor.entry.handler"',
      ),
    );
    const checked = await build(['api:handler']);
    expect(checked.status, JSON.stringify(checked.targets)).toBe('ok');
  });
});
