import { describe, expect, it } from 'vitest';
import { LbuildError } from '@lbuild/core';
import { chooseStrategy, platformPipArgs, runtimePlatform } from '../../src/pip/index.js';
import type { BuildPython } from '../../src/pip/index.js';

function failureOf(fn: () => unknown) {
  try {
    fn();
  } catch (error) {
    if (error instanceof LbuildError) return error.failure;
    throw error;
  }
  throw new Error('expected a failure');
}

describe('runtimePlatform', () => {
  it('gives Amazon Linux 2023 tags for python3.12 on x86_64', () => {
    const p = runtimePlatform('3.12', 'x86_64');
    expect(p).toMatchObject({
      runtime: 'python3.12',
      pythonVersion: '3.12',
      machine: 'x86_64',
      os: 'amazonlinux2023',
      glibc: [2, 34],
      implementation: 'cp',
      abis: ['cp312', 'abi3', 'none'],
      key: 'cp312-manylinux_2_34_x86_64',
    });
    expect(p.platforms[0]).toBe('manylinux_2_34_x86_64');
    expect(p.platforms.slice(-3)).toEqual([
      'manylinux_2_6_x86_64',
      'manylinux_2_5_x86_64',
      'manylinux1_x86_64',
    ]);
    expect(p.platforms).toContain('manylinux2014_x86_64');
    expect(p.platforms).toContain('manylinux2010_x86_64');
    expect(p.platforms.at(-1)).toBe('manylinux1_x86_64');
    // The legacy alias follows its PEP 600 name, as pip orders them.
    expect(p.platforms.indexOf('manylinux2014_x86_64')).toBe(
      p.platforms.indexOf('manylinux_2_17_x86_64') + 1,
    );
    expect(p.platforms).toHaveLength(30 + 3);
    expect(p.platforms.some((t) => t.startsWith('linux_'))).toBe(false);
  });

  it('gives Amazon Linux 2 tags for python3.11 on arm64, down to manylinux_2_17 only', () => {
    const p = runtimePlatform('python3.11', 'arm64');
    expect(p).toMatchObject({
      os: 'amazonlinux2',
      glibc: [2, 26],
      machine: 'aarch64',
      key: 'cp311-manylinux_2_26_aarch64',
    });
    expect(p.platforms).toEqual([
      'manylinux_2_26_aarch64',
      'manylinux_2_25_aarch64',
      'manylinux_2_24_aarch64',
      'manylinux_2_23_aarch64',
      'manylinux_2_22_aarch64',
      'manylinux_2_21_aarch64',
      'manylinux_2_20_aarch64',
      'manylinux_2_19_aarch64',
      'manylinux_2_18_aarch64',
      'manylinux_2_17_aarch64',
      'manylinux2014_aarch64',
    ]);
    expect(platformPipArgs(p).slice(-10)).toEqual([
      '--python-version',
      '3.11',
      '--implementation',
      'cp',
      '--abi',
      'cp311',
      '--abi',
      'abi3',
      '--abi',
      'none',
    ]);
  });

  it('knows which runtimes run on which image', () => {
    for (const v of ['3.8', '3.9', '3.10', '3.11'])
      expect(runtimePlatform(v, 'x86_64').os).toBe('amazonlinux2');
    for (const v of ['3.12', '3.13', '3.14'])
      expect(runtimePlatform(v, 'x86_64').os).toBe('amazonlinux2023');
  });

  it('rejects an unknown runtime or architecture as config errors', () => {
    expect(() => runtimePlatform('3.7', 'x86_64')).toThrow(LbuildError);
    expect(failureOf(() => runtimePlatform('2.7', 'x86_64'))).toEqual({
      kind: 'config',
      reason: 'unknown-python-runtime',
      message: 'Unknown Lambda Python runtime: "2.7".',
      hint: 'Set python to one of "3.8", "3.9", "3.10", "3.11", "3.12", "3.13", "3.14".',
    });
    expect(failureOf(() => runtimePlatform('3.12', 'ppc64'))).toMatchObject({
      kind: 'config',
      reason: 'unknown-architecture',
      message: 'Unknown Lambda architecture: "ppc64".',
    });
  });
});

describe('chooseStrategy', () => {
  const python: BuildPython = {
    command: 'python3',
    executable: '/usr/bin/python3',
    realpath: '/usr/bin/python3.12',
    version: '3.12.1',
    pythonVersion: '3.12',
    implementation: 'cpython',
    system: 'linux',
    machine: 'x86_64',
    glibc: '2.34',
    pip: { version: '24.0', dir: '/usr/lib/python3/dist-packages/pip' },
    hasWheel: true,
    hasSetuptools: true,
    sitePackages: '/usr/lib/python3/dist-packages',
    abiflags: '',
    freeThreaded: false,
  };

  it('builds with pip wheel only when the build machine could be the runtime', () => {
    expect(chooseStrategy(python, runtimePlatform('3.12', 'x86_64'))).toEqual({
      strategy: 'pip-wheel',
      mismatches: [],
    });
    expect(
      chooseStrategy({ ...python, glibc: '2.17' }, runtimePlatform('3.12', 'x86_64')).strategy,
    ).toBe('pip-wheel');
  });

  it('downloads when version, CPU, OS or glibc differ, and says why', () => {
    expect(chooseStrategy(python, runtimePlatform('3.11', 'x86_64'))).toEqual({
      strategy: 'pip-download',
      mismatches: [
        'the build Python is 3.12, the runtime is python3.11',
        "the build machine has glibc 2.34, newer than amazonlinux2's 2.26",
      ],
    });
    expect(chooseStrategy(python, runtimePlatform('3.12', 'arm64')).mismatches).toEqual([
      'the build machine is x86_64, the runtime is aarch64',
    ]);
    expect(
      chooseStrategy({ ...python, glibc: '2.36' }, runtimePlatform('3.12', 'x86_64')).strategy,
    ).toBe('pip-download');
    expect(
      chooseStrategy(
        { ...python, system: 'darwin', glibc: undefined },
        runtimePlatform('3.12', 'x86_64'),
      ).mismatches,
    ).toEqual(['the build machine runs darwin, Lambda runs Linux']);
  });
});
