import { describe, expect, it } from 'vitest';
import { faults, type Fault, type FaultRule, type Operation } from '@lbuild/lambda-emulator';
import type { TempProject } from '../helpers/project.js';
import {
  codeSha256,
  editSource,
  functionTable,
  shown,
  stampValue,
  uploadStamp,
  useLocalAws,
  withoutTimes,
  zipBytes,
} from './rig.js';

/**
 * Every fault Lambda can throw at a deploy ends in one of two ways: the function runs the new
 * zip (and the stamp says so), or a clear error with the stamp byte-for-byte as it was, so the
 * next deploy tries again.
 */
const aws = useLocalAws();

interface Deployed {
  project: TempProject;
  /** CodeSha256 of the zip that is deployed. */
  oldSha: string;
  /** The upload stamp after that deploy. */
  stamp: Buffer;
}

/** Deploys the example once, then edits a source so that the next deploy has code to send. */
async function deployedThenEdited(extra = ''): Promise<Deployed> {
  const p = await aws.deployedProject(extra);
  const oldSha = codeSha256(zipBytes(p));
  const stamp = uploadStamp(p);
  expect(stamp).toBeDefined();
  editSource(p);
  return { project: p, oldSha, stamp: stamp! };
}

/** The next `times` UpdateFunctionCode calls for hello meet `fault`. */
function failUpdates(fault: Fault, times = 1): void {
  aws.emu.injectFault({ operation: 'UpdateFunctionCode', functionName: 'hello', times, fault });
}

/** The stamp is byte-for-byte as it was and Lambda still runs the previous zip. */
function expectNothingDeployed({ project: p, oldSha, stamp }: Deployed): void {
  expect(uploadStamp(p)).toEqual(stamp);
  expect(aws.emu.functionState('hello')?.CodeSha256).toBe(oldSha);
}

describe('faults that retrying gets past: the function ends up deployed', () => {
  it.each<[string, Omit<FaultRule, 'functionName'> & { operation: Operation }, number]>([
    // [what, fault, calls of that operation in all (-1: polling decides)]
    [
      '409 conflict (busy) three times',
      { operation: 'UpdateFunctionCode', times: 3, fault: faults.conflict() },
      4,
    ],
    [
      '429 throttle past the SDK retries',
      { operation: 'UpdateFunctionCode', times: 4, fault: faults.throttle() },
      5,
    ],
    [
      '500 past the SDK retries',
      { operation: 'UpdateFunctionCode', times: 4, fault: faults.serviceError() },
      5,
    ],
    [
      'a dropped connection before the update',
      { operation: 'UpdateFunctionCode', times: 4, fault: faults.drop('before') },
      5,
    ],
    [
      '412 once (changed under the deploy): read again, deployed',
      {
        operation: 'UpdateFunctionCode',
        fault: { kind: 'error', status: 412, type: 'PreconditionFailedException' },
      },
      2,
    ],
    [
      '500 on the first read',
      { operation: 'GetFunction', times: 4, fault: faults.serviceError() },
      5,
    ],
    [
      '500 while polling the update',
      { operation: 'GetFunctionConfiguration', times: 4, fault: faults.serviceError() },
      -1,
    ],
  ])('%s', async (_what, rule, calls) => {
    const { project: p } = await deployedThenEdited();
    aws.emu.injectFault({ ...rule, functionName: 'hello' });

    const result = await aws.run(p, ['deploy']);
    expect(result.code, shown(result)).toBe(0);
    expect(aws.emu.pendingFaults()).toEqual([]);
    const sha = codeSha256(zipBytes(p));
    expect(aws.emu.functionState('hello')?.CodeSha256).toBe(sha);
    expect(aws.emu.functionCode('hello')).toEqual(zipBytes(p));
    expect(stampValue(p)?.codeSha256).toBe(sha);
    if (calls >= 0) expect(aws.emu.countCalls(rule.operation)).toBe(calls);
    // The code went in once that counted: every failed attempt left the function as it was.
    expect(
      aws.emu.calls({ operation: 'UpdateFunctionCode' }).filter((c) => c.status === 200),
    ).toHaveLength(1);

    aws.emu.clearCalls();
    const next = await aws.run(p, ['deploy']);
    expect(next.code, shown(next)).toBe(0);
    expect(aws.mutations()).toEqual([]);
  });

  it('a connection dropped after the update was made: deployed once, not twice', async () => {
    const { project: p } = await deployedThenEdited();
    aws.emu.injectFault({
      operation: 'UpdateFunctionCode',
      functionName: 'hello',
      fault: faults.drop('after'),
    });
    const result = await aws.run(p, ['deploy']);
    expect(result.code, shown(result)).toBe(0);
    const sha = codeSha256(zipBytes(p));
    expect(aws.emu.functionState('hello')?.CodeSha256).toBe(sha);
    expect(stampValue(p)?.codeSha256).toBe(sha);
    expect(
      aws.emu.calls({ operation: 'UpdateFunctionCode' }).filter((c) => c.status === 200),
    ).toHaveLength(1);
  });

  it('a create whose answer was lost: the function exists once and runs the zip', async () => {
    const p = aws.project(functionTable());
    aws.emu.injectFault({
      operation: 'CreateFunction',
      functionName: 'hello',
      fault: faults.drop('after'),
    });
    const result = await aws.run(p, ['deploy']);
    expect(result.code, shown(result)).toBe(0);
    const sha = codeSha256(zipBytes(p));
    expect(aws.emu.functionState('hello')?.CodeSha256).toBe(sha);
    expect(
      aws.emu.calls({ operation: 'CreateFunction' }).filter((c) => c.status === 201),
    ).toHaveLength(1);
    expect(aws.emu.countCalls('UpdateFunctionCode')).toBe(0);
    expect(stampValue(p)?.codeSha256).toBe(sha);
  });

  it('409 on PublishVersion: published once', async () => {
    const { project: p } = await deployedThenEdited('publish = true\n');
    aws.emu.injectFault({
      operation: 'PublishVersion',
      functionName: 'hello',
      times: 2,
      fault: faults.conflict(),
    });
    const result = await aws.run(p, ['deploy']);
    expect(result.code, shown(result)).toBe(0);
    const sha = codeSha256(zipBytes(p));
    expect(stampValue(p)).toMatchObject({ codeSha256: sha, version: '2' });
    expect(aws.emu.functionCode('hello', '2')).toEqual(zipBytes(p));
  });
});

describe('faults that end the deploy: a clear error, the stamp unchanged', () => {
  it('an update that ends Failed: Lambda’s reason, exit 1, the previous code still runs', async () => {
    const { project: p, oldSha, stamp } = await deployedThenEdited();
    failUpdates(
      faults.updateFailed('The runtime could not unpack the package.', 'InvalidZipFileException'),
    );
    const result = await aws.run(p, ['deploy']);
    expect(result.code, shown(result)).toBe(1);
    expect(withoutTimes(result.stderr)).toContain(
      `✗ hello:upload failed (T)
error: Lambda could not apply the code update to hello: The runtime could not unpack the package. (InvalidZipFileException)
  hint: the function keeps its previous code and configuration; fix the cause and deploy again
lbuild: build failed: 1 failed, 0 skipped, 2 built, in T
`,
    );
    expect(uploadStamp(p)).toEqual(stamp);
    expect(aws.emu.functionState('hello')).toMatchObject({
      CodeSha256: oldSha,
      LastUpdateStatus: 'Failed',
    });

    // Nothing was recorded as deployed: the next deploy tries again, and succeeds.
    expect((await aws.run(p, ['-q', 'deploy'])).code).toBe(1);
    const retry = await aws.run(p, ['deploy']);
    expect(retry.code, shown(retry)).toBe(0);
    expect(aws.emu.functionState('hello')?.CodeSha256).toBe(codeSha256(zipBytes(p)));
  });

  it.each([
    // [status, fault, the error, UpdateFunctionCode calls in all]
    ['500', faults.serviceError(), 'ServiceException: Internal error', 21],
    [
      '409',
      faults.conflict(),
      'ResourceConflictException: The operation cannot be performed at this time. An update is in progress.',
      7,
    ],
  ])(
    'retries exhausted (%s every time): says which call kept failing, exit 1',
    async (_what, fault, error, calls) => {
      const deployed = await deployedThenEdited();
      const p = deployed.project;
      failUpdates(fault, 1000);
      const result = await aws.run(p, ['deploy']);
      expect(result.code, shown(result)).toBe(1);
      expect(withoutTimes(result.stderr)).toContain(
        `✗ hello:upload failed (T)
error: UpdateFunctionCode for hello kept failing: ${error}
  hint: Lambda was busy, throttled or unreachable through every retry; try again later
`,
      );
      expectNothingDeployed(deployed);
      // Not forever: a first try and 6 retries (each of a 5xx also retried by the SDK itself).
      expect(aws.emu.countCalls('UpdateFunctionCode')).toBe(calls);
    },
  );

  it('a dropped connection on every try: exit 1, the stamp unchanged', async () => {
    const deployed = await deployedThenEdited();
    const p = deployed.project;
    failUpdates(faults.drop('before'), 1000);
    const result = await aws.run(p, ['deploy']);
    expect(result.code, shown(result)).toBe(1);
    expect(result.stderr).toContain('error: UpdateFunctionCode for hello kept failing: ');
    expectNothingDeployed(deployed);
  });

  it('a request Lambda refuses (400): not retried, its message shown', async () => {
    const deployed = await deployedThenEdited();
    const p = deployed.project;
    failUpdates({
      kind: 'error',
      status: 400,
      type: 'CodeStorageExceededException',
      message: 'Code storage limit exceeded.',
    });
    const result = await aws.run(p, ['deploy']);
    expect(result.code, shown(result)).toBe(1);
    expect(result.stderr).toContain(
      'error: AWS refused UpdateFunctionCode for hello: CodeStorageExceededException: Code storage limit exceeded.\n',
    );
    expect(aws.emu.countCalls('UpdateFunctionCode')).toBe(1);
    expectNothingDeployed(deployed);
  });

  it('access denied (403): a config error (exit 2) about the credentials, not retried', async () => {
    const deployed = await deployedThenEdited();
    const p = deployed.project;
    failUpdates({
      kind: 'error',
      status: 403,
      type: 'AccessDeniedException',
      message: 'User is not authorized to perform: lambda:UpdateFunctionCode',
    });
    const result = await aws.run(p, ['deploy']);
    expect(result.code, shown(result)).toBe(2);
    expect(result.stderr).toContain(
      `error: AWS refused UpdateFunctionCode for hello: AccessDeniedException: User is not authorized to perform: lambda:UpdateFunctionCode
`,
    );
    expect(result.stderr).toContain(
      '  hint: check which AWS credentials are in use (aws sts get-caller-identity) and their permissions\n',
    );
    expect(aws.emu.countCalls('UpdateFunctionCode')).toBe(1);
    expectNothingDeployed(deployed);
  });

  it('the function changed under the deploy twice (412, 412): a clear error, nothing overwritten', async () => {
    const deployed = await deployedThenEdited();
    const p = deployed.project;
    failUpdates(
      {
        kind: 'error',
        status: 412,
        type: 'PreconditionFailedException',
        message: 'The Revision Id provided does not match the latest Revision Id.',
      },
      2,
    );
    const result = await aws.run(p, ['deploy']);
    expect(result.code, shown(result)).toBe(1);
    expect(result.stderr).toContain(
      `error: hello kept changing while lbuild applied the code update (RevisionId changed twice): someone or something else is deploying it at the same time
  hint: stop the other deploy, then run lbuild again
`,
    );
    expect(aws.emu.countCalls('UpdateFunctionCode')).toBe(2);
    expectNothingDeployed(deployed);

    // Once the other deploy is over, the next one goes through.
    const retry = await aws.run(p, ['deploy']);
    expect(retry.code, shown(retry)).toBe(0);
    expect(aws.emu.functionState('hello')?.CodeSha256).toBe(codeSha256(zipBytes(p)));
  });

  it('a create that ends Failed: exit 1, Lambda’s reason, no stamp', async () => {
    const p = aws.project(functionTable());
    aws.emu.injectFault({
      operation: 'CreateFunction',
      functionName: 'hello',
      fault: faults.updateFailed('The role defined for the function cannot be assumed by Lambda.'),
    });
    const result = await aws.run(p, ['deploy']);
    expect(result.code, shown(result)).toBe(1);
    expect(result.stderr).toContain(
      'error: Lambda could not create hello: The role defined for the function cannot be assumed by Lambda. (InvalidConfiguration)\n',
    );
    expect(uploadStamp(p)).toBeUndefined();

    // The failed function holds this very zip, but runs nothing: not up to date, and a deploy
    // that has nothing to send still fails instead of recording success.
    expect(aws.emu.functionState('hello')).toMatchObject({
      State: 'Failed',
      CodeSha256: codeSha256(zipBytes(p)),
    });
    const question = await aws.run(p, ['-q', '--explain', 'deploy']);
    expect(question).toMatchObject({
      code: 1,
      stdout:
        'hello:upload would run: function hello is in state Failed: The role defined for the function cannot be assumed by Lambda.\nlbuild: not up to date\n',
    });
    const again = await aws.run(p, ['deploy']);
    expect(again.code, shown(again)).toBe(1);
    expect(again.stderr).toContain(
      `error: hello is in state Failed: The role defined for the function cannot be assumed by Lambda. (InvalidConfiguration); it does not run this zip
  hint: fix the cause Lambda names (often the role), then deploy again; or delete the function and let lbuild create it
`,
    );
    expect(uploadStamp(p)).toBeUndefined();

    // New code does not bring it back either: Lambda's state is the error.
    editSource(p);
    const changed = await aws.run(p, ['deploy']);
    expect(changed.code, shown(changed)).toBe(1);
    expect(changed.stderr).toContain(
      'error: hello is in state Failed after the code update: The role defined for the function cannot be assumed by Lambda. (InvalidConfiguration)\n',
    );
    expect(uploadStamp(p)).toBeUndefined();

    // Deleted, it is created again, and works.
    aws.emu.reset();
    const recreated = await aws.run(p, ['deploy']);
    expect(recreated.code, shown(recreated)).toBe(0);
    expect(aws.emu.functionState('hello')?.State).toBe('Active');
    expect(stampValue(p)?.codeSha256).toBe(codeSha256(zipBytes(p)));
  });
});
