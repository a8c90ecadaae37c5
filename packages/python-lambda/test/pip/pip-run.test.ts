import { tmpdir } from 'node:os';
import { beforeAll, describe, expect, it } from 'vitest';
import { probePython, runtimePlatform } from '../../src/pip/index.js';
import type { BuildPython } from '../../src/pip/index.js';
import { MARKER_BOOTSTRAP_FAILED, pipEnvironment, runPip } from '../../src/pip/pip-run.js';
import { lambdaMarkerEnvironment } from '../../src/pip/target-environment.js';

let python: BuildPython;

beforeAll(async () => {
  python = await probePython('python3', {});
}, 60_000);

/** `pip inspect` (pip ≥ 22.2) reports the marker environment pip evaluates markers against. */
async function inspectEnvironment(
  markerEnvironment?: ReturnType<typeof lambdaMarkerEnvironment>,
): Promise<{ environment: Record<string, string>; lines: string[] }> {
  const { env } = pipEnvironment(process.env);
  const result = await runPip({
    python,
    args: ['inspect', '--local', '--disable-pip-version-check'],
    cwd: tmpdir(),
    env,
    markerEnvironment,
  });
  expect(result.exitCode, result.stderr).toBe(0);
  const report = JSON.parse(result.stdout) as { environment: Record<string, string> };
  return { environment: report.environment, lines: result.lines };
}

describe('runPip with a marker environment', () => {
  it('makes pip evaluate markers for the Lambda runtime, not this machine', async () => {
    const lambda = lambdaMarkerEnvironment(runtimePlatform('3.12', 'arm64'));
    const own = await inspectEnvironment();
    expect(own.environment.python_full_version).toBe(python.version);
    const { environment, lines } = await inspectEnvironment(lambda);
    expect(environment).toEqual({ ...lambda });
    expect(lines.filter((l) => l.startsWith(MARKER_BOOTSTRAP_FAILED))).toEqual([]);
  });
});
