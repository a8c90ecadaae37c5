import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { startLambdaEmulator, type LambdaEmulator } from '@lbuild/lambda-emulator';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { TempProject } from '../helpers/project.js';
import { waitFor } from '../helpers/wait.js';
import {
  HANDLER,
  helloProject,
  MODES,
  waitUntilChecked,
  WatchSession,
  ZIP,
  zipContents,
} from './rig.js';

/**
 * `lbuild --watch deploy` against the Lambda emulator (in this process, on 127.0.0.1), with
 * dummy credentials and no AWS config files: nothing here can reach AWS.
 */
const FUNCTION = `[function.hello]
bundle = "hello"
function-name = "hello-world"
role = "arn:aws:iam::123456789012:role/hello"
runtime = "python3.12"
handler = "hello.handler.handler"
`;

let emu: LambdaEmulator;
let project: TempProject;
let session: WatchSession | undefined;

beforeAll(async () => {
  emu = await startLambdaEmulator({ updateDelayMs: 20 });
});

afterAll(async () => {
  await emu.close();
});

beforeEach(() => {
  emu.reset();
  project = helloProject(FUNCTION);
});

afterEach(() => {
  session?.dispose();
  session = undefined;
  project.dispose();
});

function awsEnv(): Record<string, string | undefined> {
  return {
    AWS_ENDPOINT_URL_LAMBDA: emu.endpoint,
    AWS_ENDPOINT_URL: undefined,
    AWS_ENDPOINT_URL_S3: undefined,
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    AWS_SESSION_TOKEN: undefined,
    AWS_PROFILE: undefined,
    AWS_REGION: emu.region,
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_CONFIG_FILE: project.path('no-such-aws-config'),
    AWS_SHARED_CREDENTIALS_FILE: project.path('no-such-aws-credentials'),
    LBUILD_DEPLOY_POLL_MS: '20',
  };
}

function codeSha256(): string {
  return createHash('sha256')
    .update(readFileSync(project.path(ZIP)))
    .digest('base64');
}

describe.each(MODES)('lbuild --watch deploy ($name)', (mode) => {
  it('uploads on a code edit and makes no upload on a touch', async () => {
    session = await WatchSession.start(project, [...mode.args, 'deploy'], { env: awsEnv() });
    const first = await session.rebuild(0, 'the first deploy');
    expect(first).toMatchObject({ changed: ['start'], status: 'ok' });
    expect(first.targets).toContain('hello:upload');
    expect(first.summaries).toContain('uploaded to hello-world (created)');
    expect(emu.functionState('hello-world')?.CodeSha256).toBe(codeSha256());

    const edit = await session.change(() =>
      project.write(HANDLER, `${project.read(HANDLER)}\n# deployed while watching\n`),
    );
    expect(edit).toMatchObject({
      changed: [HANDLER],
      targets: ['hello:tree', 'hello:zip', 'hello:upload'],
      status: 'ok',
    });
    expect(edit.summaries).toContain('uploaded to hello-world');
    expect(emu.countCalls('UpdateFunctionCode', 'hello-world')).toBe(1);
    expect(emu.functionState('hello-world')?.CodeSha256).toBe(codeSha256());
    const deployed = emu.functionCode('hello-world');
    expect(deployed?.equals(readFileSync(project.path(ZIP)))).toBe(true);
    expect(zipContents(project)[HANDLER]).toContain('# deployed while watching');

    // A touch: a build checks the handler (and asks Lambda once), uploads nothing, prints nothing.
    const lines = session.lines.length;
    const asked = emu.countCalls('GetFunction', 'hello-world');
    project.touch(HANDLER);
    await waitUntilChecked(session, 'hello:tree', HANDLER);
    await waitFor(() => emu.countCalls('GetFunction', 'hello-world') > asked, {
      what: 'the build of the touch to ask Lambda for the deployed CodeSha256',
    });
    expect(session.lines.length).toBe(lines);
    expect(emu.countCalls('UpdateFunctionCode', 'hello-world')).toBe(1);
    expect(emu.countCalls('CreateFunction', 'hello-world')).toBe(1);

    // The next line is the next code edit's, and it uploads.
    const again = await session.change(() => project.write(HANDLER, `${project.read(HANDLER)}#\n`));
    expect(again).toMatchObject({ changed: [HANDLER], status: 'ok' });
    expect(again.summaries).toContain('uploaded to hello-world');
    expect(emu.countCalls('UpdateFunctionCode', 'hello-world')).toBe(2);
    expect(emu.functionState('hello-world')?.CodeSha256).toBe(codeSha256());

    const result = await session.interrupt();
    expect(result.code).toBe(0);
  });
});
