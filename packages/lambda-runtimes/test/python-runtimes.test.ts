import { describe, expect, it } from 'vitest';
import {
  LAMBDA_PYTHON_RUNTIMES,
  LAMBDA_PYTHON_RUNTIME_IDS,
  LAMBDA_PYTHON_VERSIONS,
  NEWEST_PYTHON_RUNTIME,
  deprecationNotice,
  lambdaArtifactOf,
  artifactSource,
  lifecycleStage,
  pythonRuntime,
} from '../src/index.js';

const day = (iso: string) => new Date(`${iso}T12:00:00Z`);

describe('the Lambda Python runtime table', () => {
  it('lists python3.8 to python3.14, oldest first, each on its Amazon Linux and glibc', () => {
    expect(LAMBDA_PYTHON_RUNTIMES.map((r) => [r.runtime, r.os, r.glibc.join('.')])).toEqual([
      ['python3.8', 'amazonlinux2', '2.26'],
      ['python3.9', 'amazonlinux2', '2.26'],
      ['python3.10', 'amazonlinux2', '2.26'],
      ['python3.11', 'amazonlinux2', '2.26'],
      ['python3.12', 'amazonlinux2023', '2.34'],
      ['python3.13', 'amazonlinux2023', '2.34'],
      ['python3.14', 'amazonlinux2023', '2.34'],
    ]);
    expect(LAMBDA_PYTHON_VERSIONS).toEqual(LAMBDA_PYTHON_RUNTIMES.map((r) => r.python));
    expect(LAMBDA_PYTHON_RUNTIME_IDS).toEqual(
      LAMBDA_PYTHON_VERSIONS.map((version) => `python${version}`),
    );
    expect(NEWEST_PYTHON_RUNTIME.runtime).toBe('python3.14');
    for (const r of LAMBDA_PYTHON_RUNTIMES) {
      expect(r.architectures).toEqual(['x86_64', 'arm64']);
      // AWS's phases come in order: deprecated, then no creates, then no updates.
      expect(r.deprecated <= r.blockCreate && r.blockCreate <= r.blockUpdate).toBe(true);
    }
  });

  it('finds a runtime by version or identifier, and nothing else', () => {
    expect(pythonRuntime('3.12')?.runtime).toBe('python3.12');
    expect(pythonRuntime('python3.9')?.python).toBe('3.9');
    expect(pythonRuntime('3.15')).toBeUndefined();
    expect(pythonRuntime('python3.7')).toBeUndefined();
    expect(pythonRuntime('nodejs22.x')).toBeUndefined();
  });
});

describe('deprecation', () => {
  const py39 = pythonRuntime('3.9')!;

  it('moves through the phases on AWS’s dates', () => {
    expect(lifecycleStage(py39, day('2025-12-14'))).toBe('supported');
    expect(lifecycleStage(py39, day('2025-12-15'))).toBe('deprecated');
    expect(lifecycleStage(py39, day('2027-02-01'))).toBe('create-blocked');
    expect(lifecycleStage(py39, day('2027-03-03'))).toBe('update-blocked');
  });

  it('warns with the dates and the runtime to move to; nothing while supported', () => {
    expect(deprecationNotice(py39, day('2025-01-01'))).toBeUndefined();
    expect(deprecationNotice(py39, day('2026-11-01'))).toBe(
      'python3.9 is deprecated since 2025-12-15 (Lambda no longer patches it): Lambda refuses new functions that use it from 2027-02-01 and updates from 2027-03-03; move to python3.14',
    );
    expect(deprecationNotice(py39, day('2027-02-10'))).toBe(
      'python3.9 is deprecated: since 2027-02-01 Lambda refuses to create functions that use it, and from 2027-03-03 to update them; move to python3.14',
    );
  });
});

describe('the Lambda artifact a zip target publishes', () => {
  it('is read back only when it names a known Python and architecture', () => {
    const artifact = { table: 'bundle.api', python: '3.11', architecture: 'arm64' };
    expect(lambdaArtifactOf({ lambda: artifact })).toEqual(artifact);
    expect(lambdaArtifactOf({ lambda: { ...artifact, python: '2.7' } })).toBeUndefined();
    expect(lambdaArtifactOf({ lambda: { ...artifact, architecture: 'sparc' } })).toBeUndefined();
    expect(lambdaArtifactOf({ other: artifact })).toBeUndefined();
    expect(lambdaArtifactOf(undefined)).toBeUndefined();
  });

  it('says where each value comes from', () => {
    const artifact = lambdaArtifactOf({
      lambda: {
        table: 'bundle.api',
        python: '3.11',
        architecture: 'x86_64',
        pythonAt: 'lbuild.toml:8',
      },
    })!;
    expect(artifactSource(artifact, 'python')).toBe('[bundle.api] python at lbuild.toml:8');
    expect(artifactSource(artifact, 'architecture')).toBe(
      '[bundle.api] sets no architecture; x86_64 is the default',
    );
  });
});
