import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LbuildError } from '@lbuild/core';
import { formatDependency } from '../../src/pip/dependency-specifier.js';
import { readRequirements } from '../../src/pip/index.js';
import type { LocalWheel } from '../../src/pip/pip-requirements.js';
import { requirementDemands } from '../../src/pip/target-closure.js';
import { parseCoreMetadata, readWheelMetadata } from '../../src/pip/wheel-metadata.js';
import { makeWheel } from '../../../../test/fixtures/python/wheels.js';

let root: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'lbuild-metadata-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('parseCoreMetadata', () => {
  it('reads repeated headers and continuation lines, and stops at the body', () => {
    const headers = parseCoreMetadata(
      [
        'Metadata-Version: 2.1',
        'Name: Foo_Bar',
        'Requires-Dist: a',
        'Requires-Dist: b; extra == "x"',
        'Description: first',
        '  second',
        'Provides-Extra: X',
        '',
        'Requires-Dist: not-a-header, this is the long description',
      ].join('\r\n'),
    );
    expect(headers.get('name')).toEqual(['Foo_Bar']);
    expect(headers.get('requires-dist')).toEqual(['a', 'b; extra == "x"']);
    expect(headers.get('description')).toEqual(['first\nsecond']);
    expect(headers.get('provides-extra')).toEqual(['X']);
  });
});

describe('readWheelMetadata', () => {
  it('reads name, version, Requires-Dist and extras from a wheel', async () => {
    const wheel = await makeWheel(join(root, 'w'), {
      name: 'Delta_Thing',
      version: '0.5',
      deps: ['gamma>=1', 'extra-dep; extra == "More_Stuff"'],
    });
    expect(await readWheelMetadata(wheel)).toEqual({
      file: wheel,
      name: 'Delta_Thing',
      project: 'delta-thing',
      version: '0.5',
      requiresDist: ['gamma>=1', 'extra-dep; extra == "More_Stuff"'],
      providesExtra: [],
    });
  });

  it('refuses a file that is no wheel, naming it', async () => {
    const bad = join(root, 'broken-1.0-py3-none-any.whl');
    await writeFile(bad, 'not a zip');
    const error = await readWheelMetadata(bad).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LbuildError);
    expect((error as LbuildError).failure).toMatchObject({
      reason: 'bad-wheel-metadata',
      message: expect.stringMatching(
        /^Wheel broken-1\.0-py3-none-any\.whl: it cannot be read as a zip/,
      ),
    });
  });
});

describe('requirementDemands', () => {
  it('reads requirement lines, constraints and local projects as dependency specifiers', async () => {
    const file = join(root, 'requirements.txt');
    await writeFile(join(root, 'constraints.txt'), 'beta<3 ; python_version >= "3.8"\n');
    await writeFile(
      file,
      [
        'Alpha[S3] >= 1.0 ; python_version < "3.11"',
        'thing @ https://example.com/thing-2.0-py3-none-any.whl',
        'git+https://example.com/repo.git#egg=other_thing',
        '-c constraints.txt',
        '',
      ].join('\n'),
    );
    const requirements = await readRequirements(file);
    const { roots, constraints } = requirementDemands(requirements, new Map(), {});
    expect(roots.map((d) => `${formatDependency(d.spec)} by ${d.by}`)).toEqual([
      'alpha[s3]>=1.0; python_version < "3.11" by requirements.txt line 1',
      'thing @ https://example.com/thing-2.0-py3-none-any.whl by requirements.txt line 2',
      'other-thing @ git+https://example.com/repo.git#egg=other_thing by requirements.txt line 3',
    ]);
    expect(constraints.map((d) => `${formatDependency(d.spec)} by ${d.by}`)).toEqual([
      'beta<3; python_version >= "3.8" by constraints.txt line 1',
    ]);
  });

  it('takes a local project’s name from its built wheel, with its extras and marker', async () => {
    const file = join(root, 'local.txt');
    await writeFile(join(root, 'pkg-0.1-py3-none-any.whl'), '');
    await writeFile(file, './pkg-0.1-py3-none-any.whl[fast] ; sys_platform == "linux"\n');
    const requirements = await readRequirements(file);
    const local: LocalWheel = {
      source: join(root, 'pkg-0.1-py3-none-any.whl'),
      wheel: join(root, 'pkg-0.1-py3-none-any.whl'),
      name: 'pkg',
      sha256: '',
    };
    const { roots } = requirementDemands(requirements, new Map([[local.source, local]]), {});
    expect(roots.map((d) => formatDependency(d.spec))).toEqual([
      'pkg[fast]; sys_platform == "linux"',
    ]);
  });

  it('refuses a URL that names no project, and a malformed marker, at their line', async () => {
    const nameless = join(root, 'nameless.txt');
    await writeFile(nameless, 'alpha\nhttps://example.com/archive.tar.gz\n');
    const failure = async (path: string) => {
      try {
        requirementDemands(await readRequirements(path), new Map(), {});
      } catch (e) {
        if (e instanceof LbuildError) return e.failure;
        throw e;
      }
      throw new Error('expected a failure');
    };
    expect(await failure(nameless)).toMatchObject({
      reason: 'requirement-without-name',
      kind: 'config',
      location: { file: nameless, line: 2 },
      message:
        'nameless.txt line 2: https://example.com/archive.tar.gz names no project, so lbuild cannot check its dependencies for the Lambda runtime.',
    });
    const badMarker = join(root, 'bad-marker.txt');
    await writeFile(badMarker, 'alpha ; python_version >> "3.8"\n');
    expect(await failure(badMarker)).toMatchObject({
      reason: 'requirements-syntax',
      location: { file: badMarker, line: 1 },
      message: expect.stringContaining('bad-marker.txt line 1: Invalid requirement'),
    });
  });
});
