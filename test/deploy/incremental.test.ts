import { describe, expect, it } from 'vitest';
import { statuses } from '../helpers/project.js';
import {
  codeSha256,
  editSource,
  shown,
  stampValue,
  uploadStamp,
  useLocalAws,
  zipBytes,
} from './rig.js';

const aws = useLocalAws();

/** A project deployed once (created), with the emulator's call log emptied afterwards. */
const deployedProject = (extra = '') => aws.deployedProject(extra, { created: true });

describe('deploying only what changed', () => {
  it('an unchanged zip: zero UpdateFunctionCode calls, one read, the stamp untouched', async () => {
    const project = await deployedProject();
    const stamp = uploadStamp(project);
    const result = await aws.run(project, ['deploy']);
    expect(result.code, shown(result)).toBe(0);
    expect(result.stdout).toBe('lbuild: up to date (5 targets)\n');
    expect(aws.emu.countCalls('UpdateFunctionCode')).toBe(0);
    expect(aws.mutations()).toEqual([]);
    expect(aws.emu.calls().map((c) => c.operation)).toEqual(['GetFunction']);
    expect(uploadStamp(project)).toEqual(stamp);
  });

  it('-B deploy re-runs the upload but sends no code when Lambda already runs the zip', async () => {
    const project = await deployedProject();
    const result = await aws.run(project, ['-B', 'deploy', 'hello']);
    expect(result.code, shown(result)).toBe(0);
    expect(result.stdout).toContain(
      '  skipped upload: hello already runs CodeSha256 ' + codeSha256(zipBytes(project)),
    );
    expect(aws.mutations()).toEqual([]);
  });

  it('a changed source: exactly one UpdateFunctionCode, then none on the next deploy', async () => {
    const project = await deployedProject();
    const before = codeSha256(zipBytes(project));
    editSource(project);

    const result = await aws.run(project, ['deploy']);
    expect(result.code, shown(result)).toBe(0);
    const after = codeSha256(zipBytes(project));
    expect(after).not.toBe(before);
    expect(result.stdout).toContain('  uploaded to hello\n');
    expect(aws.mutations().map((c) => c.operation)).toEqual(['UpdateFunctionCode']);
    expect(aws.emu.calls({ operation: 'UpdateFunctionCode' })[0]?.zipFileBytes).toBe(
      zipBytes(project).length,
    );
    expect(aws.emu.functionState('hello')?.CodeSha256).toBe(after);
    expect(aws.emu.functionCode('hello')).toEqual(zipBytes(project));
    expect(stampValue(project)?.codeSha256).toBe(after);

    aws.emu.clearCalls();
    const next = await aws.run(project, ['deploy']);
    expect(next.code, shown(next)).toBe(0);
    expect(next.stdout).toBe('lbuild: up to date (5 targets)\n');
    expect(aws.mutations()).toEqual([]);
  });

  it('a comment-only edit of requirements.txt: same zip bytes, nothing deployed', async () => {
    const project = await deployedProject();
    const zip = zipBytes(project);
    const stamp = uploadStamp(project);
    project.write(
      'requirements.txt',
      `# a comment that changes nothing in the zip\n${project.read('requirements.txt')}`,
    );

    const { result, summary } = await project.json(['deploy'], { env: aws.env() });
    expect(result.code, shown(result)).toBe(0);
    // Something re-ran on the edit (the requirements are an input), but the zip came out
    // byte-identical, so the upload was not even attempted.
    expect(Object.values(statuses(summary))).toContain('built');
    expect(statuses(summary)['hello:upload']).toBe('up-to-date');
    expect(zipBytes(project)).toEqual(zip);
    expect(aws.mutations()).toEqual([]);
    expect(aws.emu.countCalls('UpdateFunctionCode')).toBe(0);
    expect(uploadStamp(project)).toEqual(stamp);
  });

  it('publish = true: a code change publishes a version for exactly the new CodeSha256', async () => {
    const project = await deployedProject('publish = true\n');
    expect(aws.emu.functionState('hello')).toBeDefined();
    editSource(project);

    const result = await aws.run(project, ['deploy']);
    expect(result.code, shown(result)).toBe(0);
    const sha = codeSha256(zipBytes(project));
    expect(aws.mutations().map((c) => c.operation)).toEqual([
      'UpdateFunctionCode',
      'PublishVersion',
    ]);
    const [publish] = aws.emu.calls({ operation: 'PublishVersion' });
    expect(publish?.params.CodeSha256).toBe(sha);
    expect(publish?.status).toBe(201);
    // Version 1 came with the create; the change is version 2, with the new code.
    expect(result.stdout).toContain('  uploaded to hello; version 2\n');
    expect(stampValue(project)).toMatchObject({ codeSha256: sha, version: '2' });
    expect(aws.emu.functionCode('hello', '2')).toEqual(zipBytes(project));

    // Nothing changed: no new version either.
    aws.emu.clearCalls();
    const next = await aws.run(project, ['deploy']);
    expect(next.code, shown(next)).toBe(0);
    expect(aws.mutations()).toEqual([]);
  });
});
