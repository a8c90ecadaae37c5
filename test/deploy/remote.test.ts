import { describe, expect, it } from 'vitest';
import { startLambdaEmulator } from '@lbuild/lambda-emulator';
import { waitFor } from '../helpers/wait.js';
import {
  ARN,
  HANDLER,
  ROLE,
  codeSha256,
  editSource,
  shown,
  stampValue,
  uploadStamp,
  useLocalAws,
  zipBytes,
} from './rig.js';

/**
 * What lives in Lambda has the last word: settings changed there, a deleted function, another
 * endpoint; and an interrupted deploy records nothing.
 */
const aws = useLocalAws();

describe('changes made in Lambda', () => {
  it('a setting changed there: -q says which, deploy puts it back without sending code', async () => {
    const p = await aws.deployedProject('memory = 256\n');
    const state = aws.emu.functionState('hello')!;
    aws.emu.seedFunction({
      name: 'hello',
      code: aws.emu.functionCode('hello')!,
      role: ROLE,
      runtime: 'python3.12',
      handler: HANDLER,
      memorySize: 512,
    });
    expect(aws.emu.functionState('hello')?.CodeSha256).toBe(state.CodeSha256);

    expect(await aws.run(p, ['-q', '--explain', 'deploy'])).toMatchObject({
      code: 1,
      stdout:
        'hello:upload would run: memory differs: remote 512, configured 256\nlbuild: not up to date\n',
    });
    const result = await aws.run(p, ['deploy']);
    expect(result.code, shown(result)).toBe(0);
    expect(result.stdout).toContain(
      `  skipped upload: hello already runs CodeSha256 ${state.CodeSha256}; updated memory\n`,
    );
    expect(aws.mutations().map((c) => [c.operation, c.params.MemorySize])).toEqual([
      ['UpdateFunctionConfiguration', 256],
    ]);
    expect(aws.emu.functionState('hello')?.MemorySize).toBe(256);
    expect((await aws.run(p, ['-q', 'deploy'])).code).toBe(0);
  });

  it('a setting changed in lbuild.toml: UpdateFunctionConfiguration only', async () => {
    const p = await aws.deployedProject('timeout = 10\n');
    p.write('lbuild.toml', p.read('lbuild.toml').replace('timeout = 10', 'timeout = 30'));
    expect((await aws.run(p, ['-q', 'deploy'])).code).toBe(1);
    const result = await aws.run(p, ['deploy']);
    expect(result.code, shown(result)).toBe(0);
    expect(aws.mutations().map((c) => c.operation)).toEqual(['UpdateFunctionConfiguration']);
    expect(aws.emu.functionState('hello')?.Timeout).toBe(30);
  });

  it('the function deleted there: the next deploy creates it again', async () => {
    const p = await aws.deployedProject();
    const stamp = uploadStamp(p);
    aws.emu.reset();
    const explained = await aws.run(p, ['-q', '--explain', 'deploy']);
    expect(explained).toMatchObject({
      code: 1,
      stdout:
        'hello:upload would run: function hello does not exist yet (a deploy creates it)\nlbuild: not up to date\n',
    });
    expect(uploadStamp(p)).toEqual(stamp);
    const result = await aws.run(p, ['deploy']);
    expect(result.code, shown(result)).toBe(0);
    expect(aws.mutations().map((c) => c.operation)).toEqual(['CreateFunction']);
    expect(aws.emu.functionState('hello')?.CodeSha256).toBe(codeSha256(zipBytes(p)));
  });

  it('the update uses the RevisionId it read as a precondition', async () => {
    const p = await aws.deployedProject();
    const revision = aws.emu.functionState('hello')?.RevisionId;
    editSource(p);
    const result = await aws.run(p, ['deploy']);
    expect(result.code, shown(result)).toBe(0);
    expect(aws.emu.calls({ operation: 'UpdateFunctionCode' })[0]?.params.RevisionId).toBe(revision);
  });
});

describe('another destination is another deploy', () => {
  it('a second endpoint gets its own deploy; back on the first, nothing is sent again', async () => {
    const p = await aws.deployedProject();
    const other = await startLambdaEmulator({ updateDelayMs: 30 });
    try {
      const there = { AWS_ENDPOINT_URL_LAMBDA: other.endpoint };
      expect((await aws.run(p, ['-q', '--offline', 'deploy'], there)).code).toBe(1);
      const explained = await aws.run(p, ['-n', '--explain', '--offline', 'deploy'], there);
      expect(explained.stdout).toContain(
        'would run hello:upload: upload the zip of bundle hello to Lambda function hello\n    because environment variable AWS_ENDPOINT_URL_LAMBDA changed\n',
      );
      const result = await aws.run(p, ['deploy'], there);
      expect(result.code, shown(result)).toBe(0);
      expect(other.countCalls('CreateFunction')).toBe(1);
      expect(other.functionState('hello')?.CodeSha256).toBe(codeSha256(zipBytes(p)));
      // Nothing reached the first endpoint.
      expect(aws.emu.calls()).toEqual([]);

      // Back to the first: the stamp is the second's now, so lbuild asks, and sends nothing.
      const back = await aws.run(p, ['deploy']);
      expect(back.code, shown(back)).toBe(0);
      expect(aws.mutations()).toEqual([]);
      expect(stampValue(p)?.functionArn).toBe(ARN);
    } finally {
      await other.close();
    }
  });
});

describe('an interrupted deploy', () => {
  it('Ctrl-C while Lambda applies the update: exit 130, the stamp unchanged; the next deploy finishes without re-sending', async () => {
    const p = await aws.deployedProject();
    const stamp = uploadStamp(p);
    editSource(p);
    // The first poll of the update's status hangs until lbuild is interrupted.
    aws.emu.injectFault({
      operation: 'GetFunctionConfiguration',
      fault: { kind: 'delay', ms: 30_000 },
    });
    const running = p.start(['deploy'], { env: aws.env() });
    await waitFor(() => aws.emu.countCalls('GetFunctionConfiguration') === 1, {
      what: () => `lbuild to poll the update (stdout: ${running.stdout})`,
    });
    expect(aws.emu.functionState('hello')?.CodeSha256).toBe(codeSha256(zipBytes(p)));
    running.child.kill('SIGINT');
    const result = await running.exited;
    expect(result.code, shown(result)).toBe(130);
    expect(result.stderr).toContain('✗ hello:upload interrupted\n');
    expect(uploadStamp(p)).toEqual(stamp);

    aws.emu.clearCalls();
    const next = await aws.run(p, ['deploy']);
    expect(next.code, shown(next)).toBe(0);
    expect(aws.mutations()).toEqual([]);
    expect(stampValue(p)?.codeSha256).toBe(codeSha256(zipBytes(p)));
  });
});
