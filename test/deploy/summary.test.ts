import { describe, expect, it } from 'vitest';
import { statuses } from '../helpers/project.js';
import { ARN, codeSha256, editSource, functionTable, shown, useLocalAws, zipBytes } from './rig.js';

/** `lbuild --json deploy`: the upload target's value says what Lambda now runs. */
const aws = useLocalAws();

describe('lbuild --json deploy', () => {
  it('has the upload value: functionArn, codeSha256, revisionId, version', async () => {
    const project = aws.project(functionTable('publish = true\n'));
    const { result, summary } = await project.json(['deploy'], { env: aws.env() });
    expect(result.code, shown(result)).toBe(0);
    expect(summary).toMatchObject({ status: 'ok', mode: 'build', exitCode: 0 });
    expect(statuses(summary)).toEqual({
      'hello:wheelhouse': 'built',
      'hello:staging': 'built',
      'hello:tree': 'built',
      'hello:zip': 'built',
      'hello:upload': 'built',
    });
    const state = aws.emu.functionState('hello');
    const sha = codeSha256(zipBytes(project));
    const upload = summary.targets.find((t) => t.key === 'hello:upload');
    expect(upload).toMatchObject({ kind: 'upload', status: 'built' });
    expect(upload?.value).toEqual({
      functionArn: ARN,
      codeSha256: sha,
      revisionId: state?.RevisionId,
      version: '1',
    });
    expect(state?.CodeSha256).toBe(sha);

    // Up to date: the same value, from the stamp.
    const again = await project.json(['deploy'], { env: aws.env() });
    const same = again.summary.targets.find((t) => t.key === 'hello:upload');
    expect(same?.status).toBe('up-to-date');
    expect(same?.value).toEqual(upload?.value);

    // A change: a new CodeSha256, RevisionId and version.
    editSource(project);
    const changed = await project.json(['deploy'], { env: aws.env() });
    expect(changed.result.code, shown(changed.result)).toBe(0);
    const after = aws.emu.functionState('hello');
    const value = changed.summary.targets.find((t) => t.key === 'hello:upload')?.value;
    expect(value).toEqual({
      functionArn: ARN,
      codeSha256: codeSha256(zipBytes(project)),
      revisionId: after?.RevisionId,
      version: '2',
    });
    expect(after?.RevisionId).not.toBe(state?.RevisionId);
  });

  it('a failed deploy: status failed, exit 1, the failure with its reason, no value', async () => {
    const project = aws.project(functionTable());
    aws.emu.injectFault({
      operation: 'CreateFunction',
      times: 1000,
      fault: { kind: 'error', status: 500, type: 'ServiceException', message: 'Internal error' },
    });
    const { result, summary } = await project.json(['deploy'], { env: aws.env() });
    expect(result.code, shown(result)).toBe(1);
    expect(summary).toMatchObject({ status: 'failed', exitCode: 1 });
    const upload = summary.targets.find((t) => t.key === 'hello:upload');
    expect(upload).toMatchObject({
      status: 'failed',
      failure: {
        reason: 'lambda-unavailable',
        kind: 'build',
        message: 'CreateFunction for hello kept failing: ServiceException: Internal error',
      },
    });
    expect(upload).not.toHaveProperty('value');
  });
});
