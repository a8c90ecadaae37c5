import type { FunctionConfiguration } from '@aws-sdk/client-lambda';
import { describe, expect, test } from 'vitest';
import { LbuildError } from '@lbuild/core';
import type { LambdaArtifact } from '@lbuild/lambda-runtimes';
import {
  changedKeys,
  describePlan,
  isUpToDate,
  planDeploy,
  sendsCode,
  type DeployPlan,
  type PlanZip,
  type RemoteState,
} from '../src/index.js';
import { functionConfig } from './helpers.js';

/**
 * planDeploy on a table of remote states: the one place that decides what a deploy changes, so
 * every normalisation (no Description, no Environment, variable order, no Architectures) is
 * tested here once, and -q, -n and the deploy cannot disagree about it.
 */
const ROLE = 'arn:aws:iam::123456789012:role/lambda-exec';
const LOCAL = 'bG9jYWwtY29kZS1zaGEyNTYtYmFzZTY0LWRpZ2VzdC0xMjM=';
const OTHER = 'b3RoZXItY29kZS1zaGEyNTYtYmFzZTY0LWRpZ2VzdC00NTY=';
const ZIP = { sha256Base64: LOCAL, size: 1000 };
const NOW = new Date('2026-06-01T00:00:00Z');
const ARTIFACT: LambdaArtifact = { table: 'bundle.api', python: '3.12', architecture: 'x86_64' };
const LAYER = 'arn:aws:lambda:us-east-1:123456789012:layer';
const layer = (name: string, version: number, codeSize = 100) => ({
  Arn: `${LAYER}:${name}:${version}`,
  CodeSize: codeSize,
});

const config = (extra: Record<string, unknown> = {}) =>
  functionConfig('api', { bundle: 'api', ...extra });

/** What Lambda reports for a function created from `config({ role, runtime, handler })`. */
const deployed = (extra: Partial<FunctionConfiguration> = {}): RemoteState => ({
  exists: true,
  configuration: {
    FunctionName: 'api',
    CodeSha256: LOCAL,
    Role: ROLE,
    Runtime: 'python3.12',
    Handler: 'app.handler',
    Timeout: 3,
    MemorySize: 128,
    PackageType: 'Zip',
    State: 'Active',
    LastUpdateStatus: 'Successful',
    ...extra,
  },
});

const plan = (
  remote: RemoteState,
  extra: Record<string, unknown> = {},
  options: { artifact?: LambdaArtifact; zip?: PlanZip } = {},
): DeployPlan =>
  planDeploy(
    config({ role: ROLE, runtime: 'python3.12', handler: 'app.handler', ...extra }),
    remote,
    options.zip ?? ZIP,
    {
      now: NOW,
      ...(options.artifact ? { artifact: options.artifact } : {}),
    },
  );

/** The three answers every caller reads: up to date?, code sent?, which keys change. */
const summary = (p: DeployPlan) => ({
  upToDate: isUpToDate(p),
  code: sendsCode(p),
  keys: changedKeys(p),
  lines: describePlan(p),
});

function refusal(f: () => unknown): { reason: string; kind: string } {
  try {
    f();
  } catch (error) {
    if (error instanceof LbuildError)
      return { reason: error.failure.reason, kind: error.failure.kind };
    throw error;
  }
  throw new Error('expected a refusal');
}

describe('planDeploy on a table of remote states', () => {
  const cases: [string, RemoteState, Record<string, unknown>, ReturnType<typeof summary>][] = [
    [
      'the function does not exist',
      { exists: false },
      {},
      {
        upToDate: false,
        code: true,
        keys: [],
        lines: ['function api does not exist yet (a deploy creates it)'],
      },
    ],
    [
      'same CodeSha256, same settings',
      deployed(),
      {},
      { upToDate: true, code: false, keys: [], lines: [] },
    ],
    [
      'other code',
      deployed({ CodeSha256: OTHER }),
      {},
      {
        upToDate: false,
        code: true,
        keys: [],
        lines: [`CodeSha256 differs: remote ${OTHER.slice(0, 8)}… local ${LOCAL.slice(0, 8)}…`],
      },
    ],
    [
      'timeout and memory changed in Lambda',
      deployed({ Timeout: 30, MemorySize: 512 }),
      { timeout: 3, memory: 256 },
      {
        upToDate: false,
        code: false,
        keys: ['timeout', 'memory'],
        lines: [
          'timeout differs: remote 30, configured 3',
          'memory differs: remote 512, configured 256',
        ],
      },
    ],
    [
      'handler, role and runtime changed in lbuild.toml',
      deployed(),
      { handler: 'main.handler', role: `${ROLE}2`, runtime: 'python3.13' },
      {
        upToDate: false,
        code: false,
        keys: ['handler', 'runtime', 'role'],
        lines: [
          'handler differs: remote "app.handler", configured "main.handler"',
          'runtime differs: remote "python3.12", configured "python3.13"',
          `role differs: remote "${ROLE}", configured "${ROLE}2"`,
        ],
      },
    ],
    [
      'an empty description, which Lambda does not report',
      deployed(),
      { description: '' },
      { upToDate: true, code: false, keys: [], lines: [] },
    ],
    [
      'a description Lambda does not have',
      deployed(),
      { description: 'the api' },
      {
        upToDate: false,
        code: false,
        keys: ['description'],
        lines: ['description differs: remote "", configured "the api"'],
      },
    ],
    [
      'the same variables in another order',
      deployed({ Environment: { Variables: { MODE: '2', STAGE: '1' } } }),
      { environment: { STAGE: '1', MODE: '2' } },
      { upToDate: true, code: false, keys: [], lines: [] },
    ],
    [
      'no variables configured and none reported',
      deployed(),
      { environment: {} },
      { upToDate: true, code: false, keys: [], lines: [] },
    ],
    [
      'a variable changed, one added in Lambda',
      deployed({ Environment: { Variables: { STAGE: '0', EXTRA: 'x' } } }),
      { environment: { STAGE: '1' } },
      {
        upToDate: false,
        code: false,
        keys: ['environment'],
        lines: ['environment EXTRA differs', 'environment STAGE differs'],
      },
    ],
    [
      'variables Lambda has but lbuild.toml does not set: left alone',
      deployed({ Environment: { Variables: { STAGE: '1' } } }),
      {},
      { upToDate: true, code: false, keys: [], lines: [] },
    ],
    [
      'x86_64 configured, no Architectures reported (an old function)',
      deployed(),
      { architecture: 'x86_64' },
      { upToDate: true, code: false, keys: [], lines: [] },
    ],
    [
      'arm64 configured, x86_64 deployed: the code goes again, for arm64',
      deployed({ Architectures: ['x86_64'] }),
      { architecture: 'arm64' },
      {
        upToDate: false,
        code: true,
        keys: ['architecture'],
        lines: ['architecture differs: remote "x86_64", configured "arm64"'],
      },
    ],
    [
      'the function is in state Failed with this zip and these settings',
      deployed({ State: 'Failed', StateReason: 'role cannot be assumed' }),
      {},
      {
        upToDate: false,
        code: false,
        keys: [],
        lines: ['function api is in state Failed: role cannot be assumed'],
      },
    ],
    [
      'its last update failed: it still runs the old code',
      deployed({ CodeSha256: OTHER, LastUpdateStatus: 'Failed' }),
      {},
      {
        upToDate: false,
        code: true,
        keys: [],
        lines: [`CodeSha256 differs: remote ${OTHER.slice(0, 8)}… local ${LOCAL.slice(0, 8)}…`],
      },
    ],
    [
      'layers: the same version ARNs, in the same order',
      deployed({ Layers: [layer('deps', 3), layer('tools', 1)] }),
      { layers: [`${LAYER}:deps:3`, `${LAYER}:tools:1`] },
      { upToDate: true, code: false, keys: [], lines: [] },
    ],
    [
      'layers: the same ARNs in another order (Lambda loads them in order)',
      deployed({ Layers: [layer('tools', 1), layer('deps', 3)] }),
      { layers: [`${LAYER}:deps:3`, `${LAYER}:tools:1`] },
      {
        upToDate: false,
        code: false,
        keys: ['layers'],
        lines: [
          `layers differ: remote ["${LAYER}:tools:1","${LAYER}:deps:3"], configured ["${LAYER}:deps:3","${LAYER}:tools:1"]`,
        ],
      },
    ],
    [
      'layers: another version of one of them',
      deployed({ Layers: [layer('deps', 2)] }),
      { layers: [`${LAYER}:deps:3`] },
      {
        upToDate: false,
        code: false,
        keys: ['layers'],
        lines: [`layers differ: remote ["${LAYER}:deps:2"], configured ["${LAYER}:deps:3"]`],
      },
    ],
    [
      'layers = []: the layers Lambda has are removed',
      deployed({ Layers: [layer('deps', 2)] }),
      { layers: [] },
      {
        upToDate: false,
        code: false,
        keys: ['layers'],
        lines: [`layers differ: remote ["${LAYER}:deps:2"], configured []`],
      },
    ],
    [
      'layers = [] and Lambda reports none',
      deployed(),
      { layers: [] },
      { upToDate: true, code: false, keys: [], lines: [] },
    ],
    [
      'layers Lambda has but lbuild.toml does not set: left alone',
      deployed({ Layers: [layer('deps', 2)] }),
      {},
      { upToDate: true, code: false, keys: [], lines: [] },
    ],
    [
      'a [layer.NAME] not resolved to a version yet: a new version is to come',
      deployed({ Layers: [layer('deps', 2)] }),
      { layers: ['deps'] },
      {
        upToDate: false,
        code: false,
        keys: ['layers'],
        lines: [
          `layers differ: remote ["${LAYER}:deps:2"], configured ["layer deps (a new version)"]`,
        ],
      },
    ],
    [
      'an update in progress that already holds this zip',
      deployed({ LastUpdateStatus: 'InProgress' }),
      {},
      { upToDate: true, code: false, keys: [], lines: [] },
    ],
  ];
  test.each(cases)('%s', (_name, remote, extra, expected) => {
    expect(summary(plan(remote, extra))).toEqual(expected);
  });

  test('a function still being created or updated is waited for before anything is sent', () => {
    for (const busy of [
      { State: 'Pending' as const },
      { LastUpdateStatus: 'InProgress' as const },
    ]) {
      const p = plan(deployed({ CodeSha256: OTHER, ...busy }));
      expect(p).toMatchObject({ action: 'update', busy: true, via: 'zip' });
    }
    expect(plan(deployed())).toMatchObject({ busy: false });
  });

  test('the UpdateFunctionConfiguration fields carry exactly the settings that differ', () => {
    const p = plan(deployed({ Environment: { Variables: { STAGE: '0' } } }), {
      memory: 256,
      description: 'd',
      environment: { STAGE: '1' },
    });
    expect(p).toMatchObject({
      configuration: {
        MemorySize: 256,
        Description: 'd',
        Environment: { Variables: { STAGE: '1' } },
      },
    });
  });

  test('a new zip must hold the handler the function has when lbuild.toml sets none', () => {
    const p = planDeploy(config(), deployed({ CodeSha256: OTHER }), ZIP, { now: NOW });
    expect(p).toMatchObject({ handlerCheck: { handler: 'app.handler', runtime: 'python3.12' } });
    expect(planDeploy(config(), deployed(), ZIP, { now: NOW })).toMatchObject({
      handlerCheck: undefined,
    });
  });

  test('a create gets the bundle’s runtime and architecture when lbuild.toml sets none', () => {
    const p = planDeploy(config({ role: ROLE, handler: 'app.handler' }), { exists: false }, ZIP, {
      now: NOW,
      artifact: { ...ARTIFACT, architecture: 'arm64' },
    });
    expect(p).toMatchObject({ action: 'create', architecture: 'arm64', via: 'zip' });
    expect(p.action === 'create' && p.runtime.runtime).toBe('python3.12');
  });

  test('over the direct-upload limit: through S3 when there is a bucket', () => {
    const big = { zip: { ...ZIP, size: 60 * 1024 * 1024 } };
    expect(plan(deployed({ CodeSha256: OTHER }), { 's3-bucket': 'artifacts' }, big)).toMatchObject({
      via: 's3',
    });
    // Nothing to send: the size does not matter.
    expect(plan(deployed(), {}, big)).toMatchObject({ via: 'none' });
  });
});

describe('planDeploy with the layers of the project', () => {
  const layered = (extra: Record<string, unknown> = {}) =>
    config({ role: ROLE, runtime: 'python3.12', handler: 'app.handler', ...extra });
  const MB = 1024 * 1024;

  test('a project layer gets the version its publish target resolved; an ARN is used as written', () => {
    const p = planDeploy(
      layered({ layers: ['deps', `${LAYER}:other:3`] }),
      deployed({ Layers: [layer('deps', 4), layer('other', 3)] }),
      ZIP,
      {
        now: NOW,
        layers: [
          { label: 'layer deps', arn: `${LAYER}:deps:5`, unzippedSize: MB },
          { label: `${LAYER}:other:3`, arn: `${LAYER}:other:3` },
        ],
      },
    );
    expect(summary(p)).toEqual({
      upToDate: false,
      code: false,
      keys: ['layers'],
      lines: [
        `layers differ: remote ["${LAYER}:deps:4","${LAYER}:other:3"], configured ["${LAYER}:deps:5","${LAYER}:other:3"]`,
      ],
    });
    expect(p).toMatchObject({
      configuration: { Layers: [`${LAYER}:deps:5`, `${LAYER}:other:3`] },
    });
  });

  test('the newest version already set: nothing to do, with or without new code', () => {
    const options = {
      now: NOW,
      layers: [{ label: 'layer deps', arn: `${LAYER}:deps:4`, unzippedSize: MB }],
    };
    const same = planDeploy(
      layered({ layers: ['deps'] }),
      deployed({ Layers: [layer('deps', 4)] }),
      ZIP,
      options,
    );
    expect(isUpToDate(same)).toBe(true);
    const code = planDeploy(
      layered({ layers: ['deps'] }),
      deployed({ CodeSha256: OTHER, Layers: [layer('deps', 4)] }),
      ZIP,
      options,
    );
    expect(summary(code)).toMatchObject({ code: true, keys: [] });
  });

  test('a function lbuild creates gets its layers in order', () => {
    const p = planDeploy(
      layered({ layers: ['deps', `${LAYER}:other:3`] }),
      { exists: false },
      ZIP,
      {
        now: NOW,
        layers: [
          { label: 'layer deps', arn: `${LAYER}:deps:1` },
          { label: `${LAYER}:other:3`, arn: `${LAYER}:other:3` },
        ],
      },
    );
    expect(p).toMatchObject({ action: 'create', layers: [`${LAYER}:deps:1`, `${LAYER}:other:3`] });
  });

  test('the code and the layers together over 250 MB unzipped: refused, each part named', () => {
    let message = '';
    try {
      planDeploy(
        layered({ layers: ['deps', 'tools', `${LAYER}:other:3`] }),
        deployed(),
        { ...ZIP, unzippedSize: 150 * MB },
        {
          now: NOW,
          layers: [
            { label: 'layer deps', arn: `${LAYER}:deps:1`, unzippedSize: 80 * MB },
            { label: 'layer tools', arn: `${LAYER}:tools:1`, unzippedSize: 30 * MB },
            { label: `${LAYER}:other:3`, arn: `${LAYER}:other:3` },
          ],
        },
      );
    } catch (error) {
      expect(error).toBeInstanceOf(LbuildError);
      expect((error as LbuildError).failure).toMatchObject({
        reason: 'unzipped-too-large',
        kind: 'config',
      });
      message = (error as LbuildError).message;
    }
    expect(message).toBe(
      `[function.api] is 260.0 MB unzipped with its layers (bundle api 150.0 MB, layer deps 80.0 MB, layer tools 30.0 MB; not counted: ${LAYER}:other:3), over Lambda's limit of 250.0 MB (262144000 bytes) for a function and all its layers`,
    );
  });

  test('up to the limit, and a function without layers (its zip was checked when built): no refusal', () => {
    const at = planDeploy(
      layered({ layers: ['deps'] }),
      deployed({ Layers: [layer('deps', 1)] }),
      { ...ZIP, unzippedSize: 200 * MB },
      {
        now: NOW,
        layers: [{ label: 'layer deps', arn: `${LAYER}:deps:1`, unzippedSize: 50 * MB }],
      },
    );
    expect(isUpToDate(at)).toBe(true);
    expect(isUpToDate(plan(deployed(), {}, { zip: { ...ZIP, unzippedSize: 300 * MB } }))).toBe(
      true,
    );
  });
});

describe('planDeploy refuses what a deploy would refuse, before any change', () => {
  test.each<[string, () => unknown, { reason: string; kind: string }]>([
    [
      'an absent function without role and runtime',
      () => planDeploy(config(), { exists: false }, ZIP, { now: NOW }),
      { reason: 'function-not-found', kind: 'config' },
    ],
    [
      'a container-image function',
      () => plan(deployed({ PackageType: 'Image' })),
      { reason: 'function-is-image', kind: 'config' },
    ],
    [
      'a deployed runtime other than the bundle’s, none configured',
      () =>
        planDeploy(config(), deployed({ Runtime: 'python3.11' }), ZIP, {
          now: NOW,
          artifact: ARTIFACT,
        }),
      { reason: 'runtime-mismatch', kind: 'config' },
    ],
    [
      'a deployed architecture other than the bundle’s, none configured',
      () =>
        planDeploy(config(), deployed({ Architectures: ['arm64'] }), ZIP, {
          now: NOW,
          artifact: ARTIFACT,
        }),
      { reason: 'architecture-mismatch', kind: 'config' },
    ],
    [
      'new code over the limit without a bucket',
      () => plan(deployed({ CodeSha256: OTHER }), {}, { zip: { ...ZIP, size: 60 * 1024 * 1024 } }),
      { reason: 'zip-too-large', kind: 'config' },
    ],
  ])('%s', (_name, f, expected) => {
    expect(refusal(f)).toEqual(expected);
  });

  test('a configured runtime and architecture switch the function instead of refusing', () => {
    const p = planDeploy(
      config({ runtime: 'python3.12', architecture: 'x86_64' }),
      deployed({ Runtime: 'python3.11', Architectures: ['arm64'] }),
      ZIP,
      { now: NOW, artifact: ARTIFACT },
    );
    expect(summary(p).keys).toEqual(['architecture', 'runtime']);
  });
});
