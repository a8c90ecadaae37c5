import { readFileSync } from 'node:fs';
import { startLambdaEmulator, type LambdaEmulator } from '@lbuild/lambda-emulator';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { pythonProject } from '../helpers/fixtures.js';
import { killAll, type RunResult, type TempProject } from '../helpers/project.js';
import { waitFor } from '../helpers/wait.js';
import { HANDLER, helloProject, ZIP } from './rig.js';

/**
 * -q and -n promise that nothing runs; a watch runs (and deploys) on every change. Together they
 * are a usage error, in any order and also with `deploy`: exit 2 at once, no build, no AWS call.
 */
const DRY_RUN = `lbuild: error: -n (--dry-run) and --watch cannot be combined: -n runs nothing, a watch runs (and deploys) on every change
  hint: drop --watch to list once what would run, or drop -n to watch
`;
const QUESTION = `lbuild: error: -q (--question) and --watch cannot be combined: -q runs nothing and answers once, a watch runs (and deploys) on every change
  hint: drop --watch to ask once whether anything would run, or drop -q to watch
`;

const projects: TempProject[] = [];

afterEach(() => {
  for (const project of projects.splice(0)) project.dispose();
});

/**
 * Runs lbuild and waits for it to exit; one that is still running after `ms` (a watch that
 * started) is killed, and its result (exit null) returned for the assertions to report.
 */
async function runBriefly(
  project: TempProject,
  args: readonly string[],
  env: Record<string, string | undefined> = {},
  ms = 20_000,
): Promise<RunResult> {
  const running = project.start(args, { env });
  let result: RunResult | undefined;
  void running.exited.then((r) => (result = r));
  try {
    await waitFor(() => result !== undefined, { what: 'lbuild to exit', timeoutMs: ms });
  } catch {
    killAll([running.pid]);
  }
  return result ?? (await running.exited);
}

describe('-q / -n with --watch', () => {
  it.each([
    [['-n', '--watch'], DRY_RUN],
    [['--watch', '-n'], DRY_RUN],
    [['-nw'], DRY_RUN],
    [['-w', '-n', '--poll', '100', 'compile'], DRY_RUN],
    [['-q', '--watch'], QUESTION],
    [['--watch', 'docs', '-q'], QUESTION],
    [['-wq', '--poll'], QUESTION],
  ])('lbuild %s is a usage error and builds nothing', async (args, stderr) => {
    const project = pythonProject();
    projects.push(project);
    const result = await runBriefly(project, args, {}, 10_000);
    expect(project.lines('runs.log')).toEqual([]);
    expect(result).toEqual({ code: 2, signal: null, stdout: '', stderr });
    expect(project.exists('.lbuild')).toBe(false);
    expect(project.exists('build')).toBe(false);
  });
});

describe('-q / -n with --watch deploy (Lambda emulator)', () => {
  let emu: LambdaEmulator;

  beforeAll(async () => {
    emu = await startLambdaEmulator({ updateDelayMs: 20 });
  });

  afterAll(async () => {
    await emu.close();
  });

  const env = (project: TempProject): Record<string, string | undefined> => ({
    AWS_ENDPOINT_URL_LAMBDA: emu.endpoint,
    AWS_ENDPOINT_URL: undefined,
    AWS_ENDPOINT_URL_S3: emu.endpoint,
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    AWS_SESSION_TOKEN: undefined,
    AWS_PROFILE: undefined,
    AWS_REGION: emu.region,
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_CONFIG_FILE: project.path('no-such-aws-config'),
    AWS_SHARED_CREDENTIALS_FILE: project.path('no-such-aws-credentials'),
    LBUILD_DEPLOY_POLL_MS: '20',
  });

  it('a deployed function with a changed source is neither built nor uploaded', async () => {
    emu.reset();
    const project = helloProject(`[function.hello]
bundle = "hello"
function-name = "hello-world"
role = "arn:aws:iam::123456789012:role/hello"
runtime = "python3.12"
handler = "hello.handler.handler"
`);
    projects.push(project);
    expect((await project.run(['deploy'], { env: env(project) })).code).toBe(0);
    const deployed = emu.functionState('hello-world')?.CodeSha256;
    const zip = readFileSync(project.path(ZIP));
    project.write(HANDLER, `${project.read(HANDLER)}\n# not to be deployed by -n or -q\n`);
    emu.clearCalls();

    for (const [args, stderr] of [
      [['-n', '--watch', 'deploy'], DRY_RUN],
      [['deploy', '-n', '--watch'], DRY_RUN],
      [['--watch', '--poll', 'deploy', 'hello', '-n'], DRY_RUN],
      [['-q', '--watch', 'deploy'], QUESTION],
      [['deploy', '-wq'], QUESTION],
      [['-n', '-q', '--watch', 'deploy', '--offline'], QUESTION],
    ] as const) {
      const result = await runBriefly(project, args, env(project));
      expect(
        emu.calls().map((c) => c.operation),
        `lbuild ${args.join(' ')}`,
      ).toEqual([]);
      expect(result, `lbuild ${args.join(' ')}`).toEqual({
        code: 2,
        signal: null,
        stdout: '',
        stderr,
      });
    }
    expect(emu.countCalls('UpdateFunctionCode')).toBe(0);
    expect(emu.functionState('hello-world')?.CodeSha256).toBe(deployed);
    expect(readFileSync(project.path(ZIP)).equals(zip)).toBe(true);

    // The same project and servers do deploy the edit when asked to: the checks above could fail.
    expect((await project.run(['deploy'], { env: env(project) })).code).toBe(0);
    expect(emu.countCalls('UpdateFunctionCode', 'hello-world')).toBe(1);
    expect(emu.functionState('hello-world')?.CodeSha256).not.toBe(deployed);
  });
});
