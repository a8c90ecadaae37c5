import { copyFileSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { TempProject } from '../helpers/project.js';
import {
  ARN,
  codeSha256,
  editSource,
  functionTable,
  shown,
  useLocalAws,
  ZIP,
  zipBytes,
} from '../deploy/rig.js';
import type { DiffJson } from './rig.js';

/**
 * `lbuild diff --deployed FUNCTION` against the Lambda emulator: the code GetFunction's
 * Code.Location serves, compared with the local zip, without the presigned URL ever shown and
 * without a downloaded file left behind.
 */

const aws = useLocalAws();

/** The signature part of the function's presigned code URL, as GetFunction gives it. */
async function codeSignature(name: string): Promise<string> {
  const response = await fetch(`${aws.emu.endpoint}/2015-03-31/functions/${name}`);
  const body = (await response.json()) as { Code?: { Location?: string } };
  const signature = new URL(body.Code?.Location ?? '').searchParams.get('X-Amz-Signature');
  expect(signature).toMatch(/^[0-9a-f]{64}$/);
  return signature ?? '';
}

/** Runs `lbuild ARGS` against the emulator with a temporary directory of its own. */
async function run(project: TempProject, args: readonly string[]) {
  const temp = mkdtempSync(join(tmpdir(), 'lbuild-diff-tmp-'));
  try {
    const result = await aws.run(project, args, { TMPDIR: temp });
    return { ...result, leftInTemp: readdirSync(temp) };
  } finally {
    rmSync(temp, { recursive: true, force: true });
  }
}

describe('lbuild diff --deployed', () => {
  it('unchanged since the deploy: identical, exit 0, one GetFunction, nothing changed', async () => {
    const project = await aws.deployedProject();
    const signature = await codeSignature('hello');
    aws.emu.clearCalls();
    const result = await run(project, ['diff', '--deployed', 'hello']);
    expect(result.code, shown(result)).toBe(0);
    expect(result.stdout).toBe(
      `lbuild diff: identical: hello runs ${ZIP} (CodeSha256 ${codeSha256(zipBytes(project))})\n`,
    );
    expect(aws.emu.calls().map((c) => c.operation)).toEqual(['GetFunction']);
    expect(result.stdout + result.stderr).not.toContain(signature);
    expect(result.leftInTemp).toEqual([]);
  });

  it('a source edited after the deploy: the zip is rebuilt, and the diff names the file', async () => {
    const project = await aws.deployedProject();
    const deployed = codeSha256(zipBytes(project));
    const signature = await codeSignature('hello');
    editSource(project, '# not deployed yet');

    const result = await run(project, ['diff', '--deployed', 'hello']);
    expect(result.code, shown(result)).toBe(1);
    const local = codeSha256(zipBytes(project));
    expect(local).not.toBe(deployed);
    // The build's lines go to stderr: stdout is the diff alone.
    expect(result.stderr).toContain('hello:zip');
    expect(result.stdout).toContain(`lbuild diff: deployed hello and ${ZIP} differ\n`);
    expect(result.stdout).toContain(`  deployed CodeSha256 ${deployed}`);
    expect(result.stdout).toContain(`  local    CodeSha256 ${local}`);
    expect(result.stdout).toContain('content differs (1)\n  project files\n    hello/handler.py  ');
    expect(result.stdout).toContain('      +# not deployed yet\n');
    expect(result.stdout + result.stderr).not.toContain(signature);
    expect(result.leftInTemp).toEqual([]);
    expect(aws.mutations()).toEqual([]);

    const json = await run(project, ['diff', '--json', '--deployed', 'hello']);
    expect(json.code, shown(json)).toBe(1);
    const parsed = JSON.parse(json.stdout) as DiffJson;
    expect(parsed.deployed).toMatchObject({
      functionName: 'hello',
      functionArn: ARN,
      codeSha256: deployed,
    });
    expect(parsed.a.codeSha256).toBe(deployed);
    expect(parsed.b).toMatchObject({ path: ZIP, codeSha256: local });
    expect(parsed.content.map((c) => c.path)).toEqual(['hello/handler.py']);
    expect(json.stdout).not.toContain(signature);
  });

  it('a function name or ARN with a zip given compares that zip, outside any project', async () => {
    const project = await aws.deployedProject();
    const elsewhere = mkdtempSync(join(tmpdir(), 'lbuild-diff-elsewhere-'));
    try {
      copyFileSync(project.path(ZIP), join(elsewhere, 'copy.zip'));
      const same = await aws.run(project, ['-C', elsewhere, 'diff', '--deployed', ARN, 'copy.zip']);
      expect(same.code, shown(same)).toBe(0);
      expect(same.stdout).toContain('lbuild diff: identical: hello runs copy.zip');
    } finally {
      rmSync(elsewhere, { recursive: true, force: true });
    }
  });

  it('a function that is not deployed: exit 2, and what to do', async () => {
    const project = aws.project(functionTable());
    const result = await run(project, ['diff', '--deployed', 'hello']);
    expect(result.code, shown(result)).toBe(2);
    expect(result.stderr).toContain(
      'lbuild: error: Lambda function hello does not exist in us-east-1: nothing is deployed to compare with',
    );
    expect(result.stderr).toContain('hint: deploy it first (lbuild deploy hello)');
    expect(result.leftInTemp).toEqual([]);
  });

  it('a name that is no [function.NAME]: exit 2, with the names there are', async () => {
    const project = aws.project(functionTable());
    const result = await run(project, ['diff', '--deployed', 'helo']);
    expect(result.code, shown(result)).toBe(2);
    expect(result.stderr).toContain('no function named `helo`');
    expect(result.stderr).toContain('did you mean `hello`?');
  });
});
