import { execFileSync } from 'node:child_process';
import { cp, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  fillWheelhouse,
  probePython,
  readRequirements,
  runtimePlatform,
} from '../../src/pip/index.js';
import { resolveStaging } from './resolve-staging.js';
import { makeHelloExampleWheels } from '../../../../test/fixtures/python/wheels.js';

const example = fileURLToPath(new URL('../../../../examples/hello-lambda/', import.meta.url));
let root: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'lbuild-example-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

/** Each entry of a zip: name, timestamp, mode and content hash (independent of the deflate implementation). */
function zipEntries(path: string): unknown {
  const script = [
    'import hashlib, json, sys, zipfile',
    'z = zipfile.ZipFile(sys.argv[1])',
    'print(json.dumps([[i.filename, list(i.date_time), i.external_attr, hashlib.sha256(z.read(i)).hexdigest()] for i in z.infolist()]))',
  ].join('\n');
  return JSON.parse(execFileSync('python3', ['-c', script, path], { encoding: 'utf8' }));
}

describe('examples/hello-lambda', () => {
  it('ships the wheels the generator makes', async () => {
    const fresh = await makeHelloExampleWheels(join(root, 'regenerated'));
    expect(fresh.map((p) => basename(p)).sort()).toEqual([
      'lbuild_example_greet-1.0.0-py3-none-any.whl',
      'lbuild_example_text-0.2.0-py3-none-any.whl',
    ]);
    for (const wheel of fresh) {
      expect(zipEntries(join(example, 'wheels', basename(wheel)))).toEqual(zipEntries(wheel));
    }
  });

  it('resolves its requirements for python3.12 from wheels/ alone, and the handler runs', async () => {
    const toml = await readFile(join(example, 'lbuild.toml'), 'utf8');
    expect(toml).toMatch(/^python\s*=\s*"3\.12"/m);
    expect(toml).toMatch(/^find-links\s*=\s*\["wheels"\]/m);
    expect(toml).toMatch(/^no-index\s*=\s*true/m);

    const project = join(root, 'hello-lambda');
    await cp(example, project, {
      recursive: true,
      filter: (p) => !p.includes('/.lbuild') && !p.includes('/dist'),
    });
    const python = await probePython('python3', { cwd: project });
    const platform = runtimePlatform('3.12', 'x86_64');
    const requirements = await readRequirements(join(project, 'requirements.txt'), {
      cwd: project,
    });
    expect(requirements.requirements).toEqual([
      'lbuild-example-greet==1.0.0',
      'lbuild-example-text==0.2.0',
    ]);
    const wheelhouseDir = join(project, '.lbuild', 'wheelhouse');
    const filled = await fillWheelhouse({
      python,
      requirements,
      platform,
      index: { extraIndexUrls: [], findLinks: ['wheels'], noIndex: true },
      wheelhouseDir,
      cwd: project,
    });
    const staged = await resolveStaging({
      python,
      requirements,
      platform,
      wheelhouseDir,
      stagingDir: join(project, '.lbuild', 'staging', 'hello'),
      cwd: project,
      strategy: filled.strategy,
    });
    expect(staged.wheels.map((p) => basename(p))).toEqual([
      'lbuild_example_greet-1.0.0-py3-none-any.whl',
      'lbuild_example_text-0.2.0-py3-none-any.whl',
    ]);
    const run = [
      'import json, sys',
      'sys.path[:0] = sys.argv[1:]',
      'from hello.handler import handler',
      'print(json.dumps(handler({"name": "lambda"}, None)))',
    ].join('\n');
    const result = JSON.parse(
      execFileSync('python3', ['-c', run, ...staged.wheels], {
        cwd: project,
        encoding: 'utf8',
        env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1' },
      }),
    ) as unknown;
    expect(result).toEqual({
      message: 'Hello, Lambda!',
      versions: { 'lbuild-example-greet': '1.0.0', 'lbuild-example-text': '0.2.0' },
      request_id: null,
    });
  });
});
