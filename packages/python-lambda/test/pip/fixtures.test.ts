import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  SYSTEM_PYTHON,
  makeCExtensionWheel,
  makeForeignWheel,
  makeWheels,
} from '../../../../test/fixtures/python/wheels.js';

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'lbuild-fixtures-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

const pipEnv = () => {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('PIP_')) env[k] = v;
  return { ...env, PIP_CONFIG_FILE: '/dev/null', PYTHONDONTWRITEBYTECODE: '1' };
};

describe('test/fixtures/python generator', () => {
  it('writes the same bytes twice, with sorted entries and fixed dates', async () => {
    const spec = [
      {
        name: 'alpha',
        version: '1.0',
        deps: ['beta>=2'],
        files: { 'alpha/z.py': 'z = 1\n', 'alpha/__init__.py': '' },
      },
    ];
    const [one] = await makeWheels(join(root, 'one'), spec);
    const [two] = await makeWheels(join(root, 'two'), spec);
    expect(readFileSync(one!)).toEqual(readFileSync(two!));
    const listing = execFileSync(
      'python3',
      [
        '-c',
        'import sys, zipfile; [print(i.filename, i.date_time) for i in zipfile.ZipFile(sys.argv[1]).infolist()]',
        one!,
      ],
      {
        encoding: 'utf8',
      },
    );
    expect(listing.trim().split('\n')).toEqual([
      'alpha/__init__.py (1980, 1, 1, 0, 0, 0)',
      'alpha/z.py (1980, 1, 1, 0, 0, 0)',
      'alpha-1.0.dist-info/METADATA (1980, 1, 1, 0, 0, 0)',
      'alpha-1.0.dist-info/WHEEL (1980, 1, 1, 0, 0, 0)',
      'alpha-1.0.dist-info/RECORD (1980, 1, 1, 0, 0, 0)',
    ]);
  });

  it('writes wheels pip installs, resolving Requires-Dist between them', async () => {
    const dir = join(root, 'installable');
    await makeWheels(dir, [
      { name: 'alpha', version: '1.0', deps: ['beta>=2'] },
      { name: 'beta', version: '2.0' },
    ]);
    const target = join(root, 'target');
    execFileSync(
      'python3',
      [
        '-m',
        'pip',
        'install',
        '--no-index',
        '--find-links',
        dir,
        '--target',
        target,
        '--disable-pip-version-check',
        '-q',
        'alpha',
      ],
      {
        env: pipEnv(),
      },
    );
    const out = execFileSync(
      'python3',
      ['-c', 'import alpha, beta; print(alpha.__version__, beta.__version__)'],
      {
        env: { ...pipEnv(), PYTHONPATH: target },
        encoding: 'utf8',
      },
    );
    expect(out.trim()).toBe('1.0 2.0');
    // pip checked RECORD while installing; it also lists what was installed.
    const record = readFileSync(join(target, 'alpha-1.0.dist-info', 'RECORD'), 'utf8');
    expect(record).toContain('alpha/__init__.py,sha256=');
  });

  it('tags foreign wheels for another platform', async () => {
    const wheel = await makeForeignWheel(join(root, 'foreign'), {
      name: 'fast-thing',
      version: '2.0',
      python: '3.12',
      arch: 'aarch64',
    });
    expect(basename(wheel)).toBe('fast_thing-2.0-cp312-cp312-manylinux_2_17_aarch64.whl');
    const names = execFileSync(
      'python3',
      [
        '-c',
        'import sys, zipfile; print("\\n".join(zipfile.ZipFile(sys.argv[1]).namelist()))',
        wheel,
      ],
      { encoding: 'utf8' },
    );
    expect(names).toContain('fast_thing/_speedups.cpython-312-aarch64-linux-gnu.so');
    const wheelFile = execFileSync(
      'python3',
      [
        '-c',
        'import sys, zipfile; print(zipfile.ZipFile(sys.argv[1]).read("fast_thing-2.0.dist-info/WHEEL").decode())',
        wheel,
      ],
      { encoding: 'utf8' },
    );
    expect(wheelFile).toContain('Root-Is-Purelib: false');
    expect(wheelFile).toContain('Tag: cp312-cp312-manylinux_2_17_aarch64');
  });

  it('builds a real C extension that imports and runs, byte-identical when built twice', async () => {
    const one = await makeCExtensionWheel(join(root, 'cext-1'));
    const two = await makeCExtensionWheel(join(root, 'cext-2'));
    expect(readFileSync(one)).toEqual(readFileSync(two));
    const target = join(root, 'cext-target');
    execFileSync(
      SYSTEM_PYTHON,
      [
        '-m',
        'pip',
        'install',
        '--no-index',
        '--no-deps',
        '--target',
        target,
        '--disable-pip-version-check',
        '-q',
        one,
      ],
      {
        env: pipEnv(),
      },
    );
    const out = execFileSync(
      SYSTEM_PYTHON,
      ['-c', 'from cext_fixture._speedups import add; print(add(2, 3))'],
      {
        env: { ...pipEnv(), PYTHONPATH: target },
        encoding: 'utf8',
      },
    );
    expect(out.trim()).toBe('5');
    const retagged = await makeCExtensionWheel(join(root, 'cext-3'), {
      retag: 'manylinux_2_17_x86_64',
    });
    expect(basename(retagged)).toMatch(
      /^cext_fixture-1\.0-cp3\d+-cp3\d+-manylinux_2_17_x86_64\.whl$/,
    );
  });
});
