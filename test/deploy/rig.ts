import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, sep } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, expect } from 'vitest';
import {
  makeZip,
  startLambdaEmulator,
  type CallRecord,
  type LambdaEmulator,
} from '@lbuild/lambda-emulator';
import {
  startS3rver,
  type RunningS3 as EmulatorTestS3,
} from '../../packages/lambda-emulator/test/helpers.js';
import { REPO, TempProject, childEnv, lbuildBin, type RunResult } from '../helpers/project.js';

/**
 * The rig of the deploy tests: a copy of examples/hello-lambda with a `[function.hello]` table,
 * run through the built CLI against a Lambda emulator (and s3rver) on 127.0.0.1, with dummy
 * credentials and no AWS config files. Nothing here can reach AWS.
 */

export const EXAMPLE = join(REPO, 'examples', 'hello-lambda');
export const ROLE = 'arn:aws:iam::123456789012:role/lambda-exec';
export const HANDLER = 'hello.handler.handler';
export const ARN = 'arn:aws:lambda:us-east-1:123456789012:function:hello';
/** The stamp of the upload target `hello:upload` (`:` is escaped in stamp file names). */
export const UPLOAD_STAMP = '.lbuild/stamps/hello%3aupload.json';
export const ZIP = 'dist/hello.zip';
/** A source edit that changes the zip: one more line in the handler module. */
export const HANDLER_FILE = 'hello/handler.py';

/** The operations that change a function; a read-only run must make none of them. */
export const MUTATIONS = [
  'CreateFunction',
  'UpdateFunctionCode',
  'UpdateFunctionConfiguration',
  'PublishVersion',
  'DeleteFunction',
] as const;

/** `[function.hello]` for bundle `hello`, with what creating it needs, then `extra` lines. */
export function functionTable(extra = ''): string {
  return `[function.hello]
bundle = "hello"
role = "${ROLE}"
runtime = "python3.12"
handler = "${HANDLER}"
${extra}`;
}

let builtExample: string | undefined;

/** Copies the example without its build state. */
const withoutBuildState = {
  recursive: true,
  filter: (source: string) => {
    const parts = relative(EXAMPLE, source).split(sep);
    return !parts.some((p) => p === '.lbuild' || p === 'dist' || p === '__pycache__');
  },
};

/**
 * examples/hello-lambda (without its build state) built once per test process: a deploy test
 * is about what happens after the zip, and a pip run per test costs seconds. The copy keeps its
 * stamps, which name files by their project paths, so it is up to date where it lands.
 */
function prebuiltExample(): string {
  if (builtExample) return builtExample;
  const dir = mkdtempSync(join(tmpdir(), 'lbuild-deploy-example-'));
  cpSync(EXAMPLE, dir, withoutBuildState);
  execFileSync(process.execPath, [lbuildBin()], { cwd: dir, env: childEnv(), stdio: 'pipe' });
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  builtExample = dir;
  return dir;
}

/**
 * A copy of examples/hello-lambda whose lbuild.toml ends with `table`: without build state, or
 * with `built`, already built (for tests about what happens after the zip).
 */
export function helloProject(table: string, { built = false } = {}): TempProject {
  const project = TempProject.create();
  if (built) cpSync(prebuiltExample(), project.dir, { recursive: true, preserveTimestamps: true });
  else cpSync(EXAMPLE, project.dir, withoutBuildState);
  project.write('lbuild.toml', `${project.read('lbuild.toml')}\n${table}`);
  return project;
}

/** Base64 SHA-256 of bytes: what Lambda reports as CodeSha256. */
export function codeSha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('base64');
}

/** The built zip's bytes. */
export function zipBytes(project: TempProject): Buffer {
  return readFileSync(project.path(ZIP));
}

/** The upload stamp's exact bytes, or undefined when there is none. */
export function uploadStamp(project: TempProject): Buffer | undefined {
  const file = project.path(UPLOAD_STAMP);
  return existsSync(file) ? readFileSync(file) : undefined;
}

/** The value the last successful deploy recorded in the upload stamp. */
export function stampValue(project: TempProject): Record<string, unknown> | undefined {
  const bytes = uploadStamp(project);
  if (!bytes) return undefined;
  return (JSON.parse(bytes.toString('utf8')) as { value?: Record<string, unknown> }).value;
}

/** Appends a line to the handler module, so the next zip differs. */
export function editSource(project: TempProject, line = '# edited'): void {
  project.write(HANDLER_FILE, `${project.read(HANDLER_FILE)}${line}\n`);
}

/** A zip someone else deployed: same handler module name, different bytes. */
export function otherCode(): Buffer {
  return makeZip({
    'hello/__init__.py': '',
    'hello/handler.py': 'def handler(event, context):\n    return "deployed by someone else"\n',
  });
}

/** The 1-based line of lbuild.toml that is exactly `line`. */
export function lineOf(project: TempProject, line: string): number {
  const index = project.read('lbuild.toml').split('\n').indexOf(line);
  if (index < 0) throw new Error(`lbuild.toml has no line ${JSON.stringify(line)}`);
  return index + 1;
}

/** Durations vary from run to run: `(12ms)`, `in 1.20s` become `(T)`, `in T`. */
export function withoutTimes(text: string): string {
  return text.replace(/\b\d+(\.\d+)?m?s\b/g, 'T');
}

/** Every file below `dir`, recursively, with its content (for secret scans). */
export function filesBelow(dir: string): { path: string; content: Buffer }[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => {
      const path = join(entry.parentPath, entry.name);
      return { path, content: readFileSync(path) };
    });
}

export interface RunningS3 extends EmulatorTestS3 {
  /** The object's bytes by a plain GET, or undefined when s3rver answers 404. */
  get(bucket: string, key: string): Promise<Buffer | undefined>;
}

/** s3rver on 127.0.0.1 (a free port, a temp directory) with these buckets. */
export async function startS3(buckets: string[]): Promise<RunningS3> {
  const s3 = await startS3rver(buckets);
  return {
    ...s3,
    get: async (bucket, key) => {
      const response = await fetch(`${s3.endpoint}/${bucket}/${key}`);
      const body = Buffer.from(await response.arrayBuffer());
      if (response.status === 404) return undefined;
      if (!response.ok) throw new Error(`s3rver GET ${bucket}/${key}: ${response.status}`);
      return body;
    },
  };
}

export interface LocalAws {
  emu: LambdaEmulator;
  s3: RunningS3 | undefined;
  /** The environment of an lbuild that deploys to these servers; `extra` wins. */
  env(extra?: Record<string, string | undefined>): Record<string, string | undefined>;
  /** Runs `lbuild ARGS` in the project against these servers. */
  run(
    project: TempProject,
    args: readonly string[],
    extra?: Record<string, string | undefined>,
  ): Promise<RunResult>;
  /** Lambda calls since the last `emu.clearCalls()` that change a function. */
  mutations(): CallRecord[];
  close(): Promise<void>;
}

/**
 * A Lambda emulator (updates stay InProgress for a few ms, so lbuild's waiting is exercised)
 * and, with buckets, s3rver. The environment drops every AWS_* and PIP_* variable of the test
 * process, so no profile, real credential, CA bundle or package index can take part.
 */
export async function startLocalAws(options: { buckets?: string[] } = {}): Promise<LocalAws> {
  const home = mkdtempSync(join(tmpdir(), 'lbuild-aws-home-'));
  const s3 = options.buckets ? await startS3(options.buckets) : undefined;
  const emu = await startLambdaEmulator({
    updateDelayMs: 30,
    ...(s3 ? { s3Endpoint: s3.endpoint } : {}),
  });
  const scrubbed = Object.fromEntries(
    Object.keys(process.env)
      .filter((name) => name.startsWith('AWS_') || name.startsWith('PIP_'))
      .map((name) => [name, undefined]),
  );
  const env = (extra: Record<string, string | undefined> = {}) => ({
    ...scrubbed,
    AWS_ACCESS_KEY_ID: 'S3RVER',
    AWS_SECRET_ACCESS_KEY: 'S3RVER',
    AWS_REGION: 'us-east-1',
    AWS_CONFIG_FILE: join(home, 'no-such-aws-config'),
    AWS_SHARED_CREDENTIALS_FILE: join(home, 'no-such-aws-credentials'),
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_ENDPOINT_URL_LAMBDA: emu.endpoint,
    // Without s3rver, S3 still points at 127.0.0.1: a stray S3 call fails locally.
    AWS_ENDPOINT_URL_S3: s3?.endpoint ?? emu.endpoint,
    LBUILD_DEPLOY_POLL_MS: '10',
    LBUILD_DEPLOY_RETRY_BASE_MS: '5',
    PIP_DISABLE_PIP_VERSION_CHECK: '1',
    ...extra,
  });
  return {
    emu,
    s3,
    env,
    run: (project, args, extra) => project.run(args, { env: env(extra) }),
    mutations: () =>
      emu.calls().filter((c) => (MUTATIONS as readonly string[]).includes(c.operation)),
    close: async () => {
      await emu.close();
      await s3?.close();
      rmSync(home, { recursive: true, force: true });
    },
  };
}

/** A result's output for assertion messages. */
export function shown(result: RunResult): string {
  return `exit ${String(result.code)}\n--- stdout\n${result.stdout}\n--- stderr\n${result.stderr}`;
}

/** What a deploy test file works with: its servers, and projects disposed after each test. */
export interface LocalAwsRig extends Omit<LocalAws, 'close'> {
  /** `helloProject(table)`, disposed after the test. */
  project(table: string, options?: { built?: boolean }): TempProject;
  /** Runs `lbuild deploy` in the project and expects it to succeed. */
  deploy(project: TempProject): Promise<RunResult>;
  /**
   * A project (`functionTable(extra)`) deployed once, with the emulator's call log emptied
   * afterwards; with `created`, that deploy must have made exactly one CreateFunction.
   */
  deployedProject(extra?: string, options?: { created?: boolean }): Promise<TempProject>;
}

/**
 * The lifecycle of a deploy test file: local AWS started before its tests and closed after them,
 * the emulator reset before each test, and the projects of a test disposed after it.
 */
export function useLocalAws(options: { buckets?: string[] } = {}): LocalAwsRig {
  let running: LocalAws | undefined;
  const projects: TempProject[] = [];
  const aws = (): LocalAws => {
    if (!running) throw new Error('local AWS runs only while the tests of the file run');
    return running;
  };

  beforeAll(async () => {
    running = await startLocalAws(options);
  });
  afterAll(async () => {
    await running?.close();
  });
  beforeEach(() => {
    aws().emu.reset();
  });
  afterEach(() => {
    for (const project of projects.splice(0)) project.dispose();
  });

  const rig: LocalAwsRig = {
    get emu() {
      return aws().emu;
    },
    get s3() {
      return aws().s3;
    },
    env: (extra) => aws().env(extra),
    run: (project, args, extra) => aws().run(project, args, extra),
    mutations: () => aws().mutations(),
    project: (table, options) => {
      const project = helloProject(table, options);
      projects.push(project);
      return project;
    },
    deploy: async (project) => {
      const result = await aws().run(project, ['deploy']);
      expect(result.code, shown(result)).toBe(0);
      return result;
    },
    deployedProject: async (extra = '', { created = false } = {}) => {
      // Built beforehand: these tests are about the deploys that follow.
      const project = rig.project(functionTable(extra), { built: true });
      await rig.deploy(project);
      if (created) expect(aws().emu.countCalls('CreateFunction')).toBe(1);
      aws().emu.clearCalls();
      return project;
    },
  };
  return rig;
}
