import { describe, expect, it } from 'vitest';
import { LbuildError } from '@lbuild/core';
import { checkRuntimeWheels, freeThreadedProblem, runtimePlatform } from '../../src/pip/index.js';
import type { BuildPython, PipFailure } from '../../src/pip/index.js';

const py311 = runtimePlatform('3.11', 'x86_64');
const py312 = runtimePlatform('3.12', 'x86_64');
const py312arm = runtimePlatform('3.12', 'arm64');

function refusal(
  wheels: string[],
  platform = py311,
  allowHostBuilt = false,
): PipFailure | undefined {
  try {
    checkRuntimeWheels(wheels, platform, { allowHostBuilt, table: '[bundle.api]' });
    return undefined;
  } catch (error) {
    if (error instanceof LbuildError) return error.failure as PipFailure;
    throw error;
  }
}

describe('checkRuntimeWheels', () => {
  it('accepts wheels whose tags suit the runtime', () => {
    expect(
      refusal([
        '/w/alpha-1.0-py3-none-any.whl',
        '/w/six-1.16.0-py2.py3-none-any.whl',
        '/w/cext-1.0-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl',
        '/w/old-1.0-cp311-cp311-manylinux1_x86_64.whl',
        '/w/edge-1.0-cp311-cp311-manylinux_2_26_x86_64.whl',
        '/w/stable-1.0-cp37-abi3-manylinux_2_17_x86_64.whl',
      ]),
    ).toBeUndefined();
    expect(refusal(['numpy-2.0-cp312-cp312-manylinux_2_34_aarch64.whl'], py312arm)).toBeUndefined();
  });

  it('refuses a linux_* wheel, naming it, with the opt-in in the hint', () => {
    const f = refusal([
      '/w/alpha-1.0-py3-none-any.whl',
      '/w/cextpkg-0.3-cp311-cp311-linux_x86_64.whl',
    ]);
    expect(f).toEqual({
      reason: 'host-built-wheel',
      kind: 'build',
      found: ['cextpkg-0.3-cp311-cp311-linux_x86_64.whl'],
      message:
        'cextpkg-0.3-cp311-cp311-linux_x86_64.whl is tagged linux_x86_64, not manylinux: built for one Linux machine and linked against its libraries, which the Lambda runtime python3.11 x86_64 (Amazon Linux 2, glibc 2.26) may not have.',
      hint: "Use a manylinux wheel instead: repair it with auditwheel repair (it bundles the libraries and retags the wheel), or take the project's manylinux wheel from its index. If it was built on a machine like the runtime (e.g. the public.ecr.aws/lambda/python:3.11 image), ship it at that risk with allow-host-built-wheels = true in [bundle.api].",
    });
  });

  it('accepts a linux_* wheel for the runtime CPU with allow-host-built-wheels', () => {
    expect(refusal(['cextpkg-0.3-cp311-cp311-linux_x86_64.whl'], py311, true)).toBeUndefined();
  });

  it('refuses, opt-in or not, a wheel for another CPU, Python, OS or a newer glibc', () => {
    for (const allow of [false, true]) {
      expect(refusal(['x-1.0-cp311-cp311-linux_aarch64.whl'], py311, allow)).toMatchObject({
        reason: 'wheel-unsuitable',
        message:
          'Not for the Lambda runtime python3.11 x86_64: x-1.0-cp311-cp311-linux_aarch64.whl: built for another CPU (cp311-cp311-linux_aarch64).',
      });
      // Amazon Linux 2 has glibc 2.26; Amazon Linux 2023 has 2.34.
      const glibc = refusal(['y-1.0-cp311-cp311-manylinux_2_28_x86_64.whl'], py311, allow);
      expect(glibc).toMatchObject({
        reason: 'wheel-unsuitable',
        message:
          'Not for the Lambda runtime python3.11 x86_64: y-1.0-cp311-cp311-manylinux_2_28_x86_64.whl: needs a newer glibc (cp311-cp311-manylinux_2_28_x86_64).',
      });
      expect(glibc?.hint).toContain('python3.11 runs amazonlinux2 with glibc 2.26');
      expect(refusal(['y-1.0-cp312-cp312-manylinux_2_34_x86_64.whl'], py312, allow)).toBe(
        undefined,
      );
      expect(refusal(['y-1.0-cp312-cp312-manylinux_2_35_x86_64.whl'], py312, allow)?.reason).toBe(
        'wheel-unsuitable',
      );
      expect(refusal(['z-1.0-cp313-cp313t-manylinux_2_17_x86_64.whl'], py312, allow)).toMatchObject(
        {
          reason: 'wheel-unsuitable',
          message:
            'Not for the Lambda runtime python3.12 x86_64: z-1.0-cp313-cp313t-manylinux_2_17_x86_64.whl: built for another Python (cp313-cp313t-manylinux_2_17_x86_64).',
        },
      );
      expect(refusal(['m-1.0-cp311-cp311-musllinux_1_2_x86_64.whl'], py311, allow)?.message).toBe(
        'Not for the Lambda runtime python3.11 x86_64: m-1.0-cp311-cp311-musllinux_1_2_x86_64.whl: built for another operating system (cp311-cp311-musllinux_1_2_x86_64).',
      );
    }
  });

  it('names every wheel that does not suit, host-built ones included', () => {
    const f = refusal([
      'a-1.0-cp311-cp311-linux_x86_64.whl',
      'b-1.0-cp311-cp311-manylinux_2_17_aarch64.whl',
    ]);
    expect(f?.reason).toBe('wheel-unsuitable');
    expect(f?.found).toEqual([
      'a-1.0-cp311-cp311-linux_x86_64.whl',
      'b-1.0-cp311-cp311-manylinux_2_17_aarch64.whl',
    ]);
  });
});

describe('freeThreadedProblem', () => {
  const python: BuildPython = {
    command: 'python3.13t',
    executable: '/usr/bin/python3.13t',
    realpath: '/usr/bin/python3.13t',
    version: '3.13.1',
    pythonVersion: '3.13',
    implementation: 'cpython',
    system: 'linux',
    machine: 'x86_64',
    glibc: '2.34',
    pip: { version: '24.3', dir: '/usr/lib/python3.13t/site-packages/pip' },
    hasWheel: false,
    hasSetuptools: false,
    sitePackages: '/usr/lib/python3.13t/site-packages',
    abiflags: 't',
    freeThreaded: true,
  };

  it('refuses a free-threaded interpreter, naming it, as a config error', () => {
    expect(freeThreadedProblem(python)?.failure).toEqual({
      reason: 'free-threaded-build-python',
      kind: 'config',
      message:
        'The build Python "python3.13t" (/usr/bin/python3.13t, 3.13.1, ABI cp313t) is a free-threaded build. Lambda runs the standard CPython build, which cannot load extension modules built for cp313t.',
      hint: 'Set build-python in lbuild.toml to a standard CPython build (e.g. python3.13 rather than python3.13t).',
    });
  });

  it('accepts the standard build', () => {
    expect(freeThreadedProblem({ ...python, abiflags: '', freeThreaded: false })).toBeUndefined();
  });
});
