import { describe, expect, it } from 'vitest';
import { configJsonSchema } from '@lbuild/core';
import { lambdaDeployPlugin, validateFunctionConfig } from '@lbuild/lambda-deploy';
import {
  LAMBDA_ARCHITECTURES,
  LAMBDA_PYTHON_RUNTIMES,
  LAMBDA_PYTHON_RUNTIME_IDS,
  LAMBDA_PYTHON_VERSIONS,
} from '@lbuild/lambda-runtimes';
import { pythonLambdaPlugin } from '@lbuild/python-lambda';
import { runtimePlatform } from '../packages/python-lambda/src/pip/platform.js';

/**
 * The bundle's `python` and the function's `runtime` are checked against one table
 * (@lbuild/lambda-runtimes): they once were three lists that disagreed, so a bundle could be
 * built for a Python the deploy refused, and the other way round.
 */
interface Property {
  enum?: string[];
}
interface Table {
  additionalProperties: { properties: Record<string, Property> };
}

const schema = configJsonSchema([pythonLambdaPlugin, lambdaDeployPlugin]) as {
  properties: { bundle: Table; function: Table };
};
const bundleKey = (key: string) => schema.properties.bundle.additionalProperties.properties[key];
const functionKey = (key: string) =>
  schema.properties.function.additionalProperties.properties[key];

describe('one table of Lambda Python runtimes', () => {
  it('the bundle accepts the Python of every runtime the function accepts, and no other', () => {
    const pythons = bundleKey('python')?.enum ?? [];
    const runtimes = functionKey('runtime')?.enum ?? [];
    expect(pythons.map((version) => `python${version}`)).toEqual(runtimes);
    expect(bundleKey('architecture')?.enum).toEqual(functionKey('architecture')?.enum);
  });

  it('both come from the table', () => {
    expect(bundleKey('python')?.enum).toEqual(LAMBDA_PYTHON_VERSIONS);
    expect(functionKey('runtime')?.enum).toEqual(LAMBDA_PYTHON_RUNTIME_IDS);
    expect(bundleKey('architecture')?.enum).toEqual([...LAMBDA_ARCHITECTURES]);
    expect(functionKey('architecture')?.enum).toEqual([...LAMBDA_ARCHITECTURES]);
  });

  it('the wheels are chosen for the table’s Amazon Linux and glibc', () => {
    for (const runtime of LAMBDA_PYTHON_RUNTIMES) {
      for (const architecture of runtime.architectures) {
        const platform = runtimePlatform(runtime.python, architecture);
        expect(platform).toMatchObject({
          runtime: runtime.runtime,
          pythonVersion: runtime.python,
          os: runtime.os,
          glibc: runtime.glibc,
        });
        expect(platform.platforms[0]).toBe(
          `manylinux_${runtime.glibc[0]}_${runtime.glibc[1]}_${architecture === 'arm64' ? 'aarch64' : 'x86_64'}`,
        );
      }
    }
  });

  it('a runtime the table does not list is refused by both', () => {
    expect(() => runtimePlatform('3.15', 'x86_64')).toThrow(/Unknown Lambda Python runtime/);
    expect(validateFunctionConfig('api', { bundle: 'api', runtime: 'python3.15' }).ok).toBe(false);
    for (const runtime of LAMBDA_PYTHON_RUNTIME_IDS) {
      expect(validateFunctionConfig('api', { bundle: 'api', runtime }).ok).toBe(true);
    }
  });
});
