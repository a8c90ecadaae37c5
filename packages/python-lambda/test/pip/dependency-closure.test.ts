import { describe, expect, it } from 'vitest';
import { LbuildError } from '@lbuild/core';
import { walkClosure } from '../../src/pip/dependency-closure.js';
import type { Demand } from '../../src/pip/dependency-closure.js';
import { parseDependencySpecifier } from '../../src/pip/dependency-specifier.js';
import { runtimePlatform } from '../../src/pip/platform.js';
import { lambdaMarkerEnvironment } from '../../src/pip/target-environment.js';
import type { WheelMetadata } from '../../src/pip/wheel-metadata.js';
import { normalizeProjectName } from '../../src/pip/wheel-name.js';

const env312 = lambdaMarkerEnvironment(runtimePlatform('3.12', 'x86_64'));

function wheel(name: string, version: string, requiresDist: string[] = []): WheelMetadata {
  return {
    file: `/w/${name}-${version}-py3-none-any.whl`,
    name,
    project: normalizeProjectName(name),
    version,
    requiresDist,
    providesExtra: [],
  };
}

const roots = (...lines: string[]): Demand[] =>
  lines.map((line, i) => ({
    spec: parseDependencySpecifier(line),
    by: `requirements.txt line ${i + 1}`,
  }));

const names = (ws: WheelMetadata[]) => ws.map((w) => w.name);
const described = (ds: Demand[]) => ds.map((d) => `${d.spec.project} by ${d.by}`);

describe('walkClosure', () => {
  it('follows Requires-Dist whose markers hold for the runtime and leaves the rest unused', () => {
    const closure = walkClosure({
      roots: roots('app'),
      constraints: [],
      environment: env312,
      wheels: [
        wheel('app', '1.0', [
          'needed>=1',
          'old-only; python_version < "3.11"',
          'win-only; sys_platform == "win32"',
          'pypy-only; implementation_name == "pypy"',
          'arm-only; platform_machine == "aarch64"',
          'later-only; python_full_version >= "3.12.1"',
          'extra-only; extra == "docs"',
        ]),
        wheel('needed', '1.2'),
        wheel('old-only', '1.0'),
        wheel('win-only', '1.0'),
        wheel('pypy-only', '1.0'),
        wheel('arm-only', '1.0'),
        wheel('later-only', '1.0'),
        wheel('extra-only', '1.0'),
      ],
    });
    expect(names(closure.needed)).toEqual(['app', 'needed']);
    expect(names(closure.unused)).toEqual([
      'old-only',
      'win-only',
      'pypy-only',
      'arm-only',
      'later-only',
      'extra-only',
    ]);
    expect(closure.missing).toEqual([]);
    expect(closure.unsatisfied).toEqual([]);
  });

  it('reports what the runtime needs and has no wheel, naming the requirer', () => {
    const closure = walkClosure({
      roots: roots('app', 'tomli; python_version < "3.11"'),
      constraints: [],
      environment: lambdaMarkerEnvironment(runtimePlatform('3.10', 'arm64')),
      wheels: [
        wheel('app', '1.0', [
          'exceptiongroup; python_version < "3.11"',
          'fast; platform_machine == "aarch64"',
        ]),
      ],
    });
    expect(described(closure.missing)).toEqual([
      'tomli by requirements.txt line 2',
      'exceptiongroup by app 1.0',
      'fast by app 1.0',
    ]);
  });

  it('drops a top-level line whose marker is false for the runtime, with what only it pulled in', () => {
    const closure = walkClosure({
      roots: roots('app', 'tomli; python_version < "3.11"'),
      constraints: [],
      environment: env312,
      wheels: [
        wheel('app', '1.0'),
        wheel('tomli', '2.0', ['tomli-helper']),
        wheel('tomli-helper', '1.0'),
      ],
    });
    expect(names(closure.needed)).toEqual(['app']);
    expect(names(closure.unused)).toEqual(['tomli', 'tomli-helper']);
  });

  it('extras: requested ones (from any requirer, names normalised) pull their dependencies, others do not', () => {
    const closure = walkClosure({
      roots: roots('app', 'lib[S3]'),
      constraints: [],
      environment: env312,
      wheels: [
        wheel('app', '1.0', ['lib[gcs_storage]>=1']),
        wheel('lib', '1.5', [
          'boto; extra == "s3"',
          'gcs; extra == "gcs-storage"',
          'azure; extra == "azure"',
          'old-s3-shim; extra == "s3" and python_version < "3.9"',
        ]),
        wheel('boto', '1.0'),
        wheel('gcs', '1.0'),
        wheel('azure', '1.0'),
        wheel('old-s3-shim', '1.0'),
      ],
    });
    expect(names(closure.needed)).toEqual(['app', 'lib', 'boto', 'gcs']);
    expect(names(closure.unused)).toEqual(['azure', 'old-s3-shim']);
    expect(closure.extras.get('lib')).toEqual(['gcs-storage', 's3']);
  });

  it('names the extra that pulled in a missing dependency', () => {
    const closure = walkClosure({
      roots: roots('lib[s3]'),
      constraints: [],
      environment: env312,
      wheels: [wheel('lib', '1.5', ['boto; extra == "s3"'])],
    });
    expect(described(closure.missing)).toEqual(['boto by lib[s3] 1.5']);
  });

  it('reports versions that do not satisfy every requirer, and constraints', () => {
    const closure = walkClosure({
      roots: roots('app', 'beta>=2'),
      constraints: roots('beta<2.1', 'unrelated<1'),
      environment: env312,
      wheels: [
        wheel('app', '1.0', [
          'beta<2.0.5; python_version >= "3.12"',
          'beta<1; python_version < "3.12"',
        ]),
        wheel('beta', '2.1'),
      ],
    });
    expect(described(closure.unsatisfied)).toEqual([
      'beta by app 1.0',
      'beta by requirements.txt line 1',
    ]);
  });

  it('refuses metadata it cannot judge, naming the wheel and the line', () => {
    const run = () =>
      walkClosure({
        roots: roots('app'),
        constraints: [],
        environment: env312,
        wheels: [wheel('app', '1.0', ['dep; python_version >> "3"'])],
      });
    expect(run).toThrow(LbuildError);
    expect(run).toThrow(
      /app-1.0-py3-none-any.whl has a Requires-Dist that cannot be judged \("dep; python_version >> \\"3\\""\)/,
    );
    expect(() =>
      walkClosure({
        roots: roots('app'),
        constraints: [],
        environment: env312,
        wheels: [wheel('app', '1.0', ['dep; "x" in extras'])],
      }),
    ).toThrow(/only defined in lock files/);
  });
});
