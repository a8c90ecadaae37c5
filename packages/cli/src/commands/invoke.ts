import { readFile } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import {
  configError,
  LbuildError,
  locateKey,
  runSession,
  stateDirOf,
  type BuildSummary,
  type Project,
  type SourceLocation,
  type TargetKey,
  type WatchEvent,
} from '@lbuild/core';
import {
  regionOfArn,
  shortFunctionName,
  validateFunctionConfig,
  type FunctionConfig,
} from '@lbuild/lambda-deploy/config';
import { bundleSchema, type LocalFunction } from '@lbuild/python-lambda';
import { openProject, workingDirectory, type GlobalOptions } from '../context.js';
import { EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK } from '../exit-code.js';
import { colorsFor } from '../render/colors.js';
import { invokeError, invokeResult } from '../render/invoke.js';
import { jsonSummary } from '../render/json-summary.js';
import { SessionRenderer } from '../render/session.js';
import { abortOnSignals } from '../signals.js';
import { sessionOptions } from './build.js';
import { selectFunctions } from './deploy.js';
import { watchCommand } from './watch.js';

export interface InvokeOptions extends GlobalOptions {
  /** A JSON file, or `-` for stdin. */
  event?: string;
}

/** Lambda's defaults for a function that sets no timeout or memory. */
const DEFAULT_TIMEOUT_SECONDS = 3;
const DEFAULT_MEMORY_MB = 128;
/** Where a function whose ARN does not say is pretended to live. */
const DEFAULT_REGION = 'us-east-1';
const EXAMPLE_ACCOUNT = '123456789012';

/** The event of an invoke: JSON text, and where it came from (for messages, and to watch). */
interface EventSource {
  /** Absolute path of the event file; undefined for stdin or the default. */
  file?: string;
  text: string;
}

/**
 * `lbuild invoke FUNCTION [--event FILE]`: builds the function's bundle as `lbuild BUNDLE` does,
 * then runs its handler on this machine from the unpacked zip (what a deploy sends), with an
 * interpreter of the runtime's Python version, Lambda's environment variables and a context
 * object. stdout is the handler's result as JSON; its own output goes to stderr with the build's.
 */
export async function invokeCommand(name: string, options: InvokeOptions): Promise<number> {
  refuseModes(options);
  const cwd = workingDirectory(options);
  const event = await readEvent(options, cwd);
  if (options.watch) {
    return watchCommand([name], options, (project) => [zipKeyOf(functionOf(project, name))], {
      ...(event.file !== undefined ? { paths: [event.file] } : {}),
      afterCycle: (project, outcome, signal) =>
        afterCycle(project, name, outcome, event, options, signal),
    });
  }
  const project = await openProject(options);
  const fn = functionOf(project, name);
  const local = await localFunction(project, fn);
  const render = await SessionRenderer.create(options, 'build', 'report');
  const signals = abortOnSignals();
  try {
    const summary = await runSession(
      project,
      sessionOptions([], { ...options, json: false }, () => [zipKeyOf(fn)], render.onEvent),
      signals.signal,
    );
    const code = render.finishQuietly(summary);
    if (code !== 0) {
      // A script that asked for JSON gets an answer on stdout: the build's summary.
      if (options.json) process.stdout.write(jsonSummary(summary, code) + '\n');
      return code;
    }
    return await invoke(project, fn, local, summary, event.text, options, signals.signal);
  } finally {
    signals.dispose();
  }
}

/** A watch cycle's run of the handler: after every good build, with the event as it is now. */
async function afterCycle(
  project: Project,
  name: string,
  outcome: WatchEvent,
  event: EventSource,
  options: InvokeOptions,
  signal: AbortSignal,
): Promise<void> {
  if (outcome.type !== 'rebuild-finish' || outcome.summary.status !== 'ok') return;
  const fn = functionOf(project, name);
  const local = await localFunction(project, fn);
  const text =
    event.file !== undefined ? await readEventFile(event.file, project.root) : event.text;
  await invoke(project, fn, local, outcome.summary, text, options, signal);
}

/** Unpacks the zip the build made and runs the handler from it; prints what it gave. */
async function invoke(
  project: Project,
  fn: FunctionConfig,
  local: Local,
  summary: BuildSummary,
  event: string,
  options: InvokeOptions,
  signal: AbortSignal,
): Promise<number> {
  const zipKey = zipKeyOf(fn);
  const zipTarget = project.graph.get(zipKey);
  const zip = resolve(project.root, zipTarget.outputs?.[0] ?? '');
  const value = summary.targets.find((t) => t.key === zipKey)?.value as
    { sha256?: string } | undefined;
  if (typeof value?.sha256 !== 'string') {
    throw new LbuildError({
      reason: 'zip-missing',
      kind: 'build',
      message: `the zip of bundle ${fn.bundle} has no recorded hash`,
      hint: `build it again: lbuild -B ${fn.bundle}`,
    });
  }
  const { localInvoke } = await import('@lbuild/python-lambda');
  const { unpackZip, invokeHandler } = await localInvoke();
  const taskRoot = await unpackZip(
    zip,
    value.sha256,
    join(cacheDirOf(project), 'invoke', fn.bundle),
  );
  const outcome = await invokeHandler({
    python: local.python,
    taskRoot,
    fn: local.fn,
    event,
    baseEnv: process.env,
    output: 2,
    pretty: process.stdout.isTTY && options.json !== true,
    // Web Crypto's: importing node:crypto at the top would load it for every command, -q too.
    requestId: globalThis.crypto.randomUUID(),
    signal,
  });
  switch (outcome.status) {
    case 'ok':
      process.stdout.write(invokeResult(outcome.result));
      return EXIT_OK;
    case 'error':
    case 'timeout':
      process.stderr.write(invokeError(outcome, colorsFor(process.stderr)));
      if (options.json) process.stdout.write(JSON.stringify(outcome.error) + '\n');
      return EXIT_FAILED;
    case 'interrupted':
      return EXIT_INTERRUPTED;
  }
}

/** What running the handler needs that the config decides, found before anything is built. */
interface Local {
  /** The interpreter's executable. */
  python: string;
  fn: LocalFunction;
}

/** The project's shared cache directory: `lbuild clean --all` removes what is kept there. */
const cacheDirOf = (project: Project): string => join(stateDirOf(project.root), 'cache');

/** `[function.NAME]`, resolved; an unknown name is the error `lbuild deploy NAME` gives. */
function functionOf(project: Project, name: string): FunctionConfig {
  selectFunctions(project, [name]);
  const tables = project.config.data.function as Record<string, unknown> | undefined;
  const result = validateFunctionConfig(name, tables?.[name]);
  // The config was validated when it was loaded.
  if (!result.ok) throw new Error(`[function.${name}] did not validate`);
  return result.config;
}

const zipKeyOf = (fn: FunctionConfig): TargetKey => `${fn.bundle}:zip`;

/**
 * The function as the handler will see it, and the interpreter to run it with: errors here are
 * the user's to fix (exit 2), found before the build.
 */
async function localFunction(project: Project, fn: FunctionConfig): Promise<Local> {
  const locate = (keys: string[]): SourceLocation => {
    const full = [...project.config.prefix, ...keys];
    return {
      file: project.config.file,
      key: full.join('.'),
      ...locateKey(project.config.source, full),
    };
  };
  if (fn.handler === undefined) {
    throw configError(
      'handler-missing',
      `[function.${fn.name}] has no handler: lbuild invoke needs to know what to call`,
      {
        hint: 'add handler = "MODULE.FUNCTION", e.g. handler = "app.handler" for def handler(event, context) in app.py',
        location: locate(['function', fn.name]),
      },
    );
  }
  const { findRuntimePython, localInvoke } = await import('@lbuild/python-lambda');
  const { lambdaArtifactOf } = await localInvoke();
  const artifact = lambdaArtifactOf(project.graph.get(zipKeyOf(fn)).artifact);
  if (!artifact) throw new Error(`${zipKeyOf(fn)} does not say what Lambda runtime it is for`);
  const bundles = project.config.data.bundle as Record<string, unknown> | undefined;
  const configured = bundleSchema.parse(bundles?.[fn.bundle])['runtime-python'];
  let python: string;
  try {
    python = (
      await findRuntimePython(artifact.python, configured, {
        cwd: project.root,
        cacheFile: join(cacheDirOf(project), 'runtime-python.json'),
      })
    ).executable;
  } catch (error) {
    if (error instanceof LbuildError && configured !== undefined)
      throw new LbuildError({
        ...error.failure,
        location: locate(['bundle', fn.bundle, 'runtime-python']),
      });
    throw error;
  }
  const region = regionOfArn(fn.functionName) ?? fn.region ?? envRegion() ?? DEFAULT_REGION;
  const shortName = shortFunctionName(fn.functionName);
  return {
    python,
    fn: {
      name: shortName,
      arn: fn.functionName.startsWith('arn:')
        ? fn.functionName
        : `arn:aws:lambda:${region}:${EXAMPLE_ACCOUNT}:function:${shortName}`,
      handler: fn.handler,
      memoryMb: fn.memory ?? DEFAULT_MEMORY_MB,
      timeoutSeconds: fn.timeout ?? DEFAULT_TIMEOUT_SECONDS,
      region,
      runtime: `python${artifact.python}`,
      environment: fn.environment ?? {},
    },
  };
}

function envRegion(): string | undefined {
  return process.env.AWS_REGION || process.env.AWS_DEFAULT_REGION || undefined;
}

/** The event: `--event FILE`, `--event -` or stdin when it is not a terminal, else `{}`. */
async function readEvent(options: InvokeOptions, cwd: string): Promise<EventSource> {
  if (options.event !== undefined && options.event !== '-') {
    const file = resolve(cwd, options.event);
    return { file, text: await readEventFile(file, cwd) };
  }
  if (options.event === '-' || !process.stdin.isTTY) {
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    if (text.trim() !== '') {
      checkJson(text, 'the event on stdin');
      return { text };
    }
    if (options.event === '-') {
      throw configError('invalid-event', 'the event on stdin is empty', {
        hint: 'pipe a JSON document in (echo \'{"key": "value"}\' | lbuild invoke NAME --event -), or leave --event out to send {}',
      });
    }
  }
  return { text: '{}' };
}

async function readEventFile(file: string, cwd: string): Promise<string> {
  const shown = relative(cwd, file) || file;
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw configError(
      'invalid-event',
      `the event file ${shown} cannot be read: ${code === 'ENOENT' ? 'it does not exist' : String(code ?? error)}`,
      {
        hint: 'give --event the path of a JSON file (relative to the current directory), or - for stdin',
      },
    );
  }
  checkJson(text, `the event file ${shown}`);
  return text;
}

/** A JSON syntax error, said with its line and column. */
function checkJson(text: string, what: string): void {
  try {
    JSON.parse(text);
  } catch (error) {
    const detail = error instanceof Error ? error.message : String(error);
    const position = /at position (\d+)/.exec(detail);
    let where = '';
    if (position) {
      const before = text.slice(0, Number(position[1]));
      const line = before.split('\n').length;
      const column = before.length - before.lastIndexOf('\n');
      where = ` at line ${line}, column ${column}`;
    }
    throw configError(
      'invalid-event',
      `${what} is not valid JSON${where}: ${detail.replace(/ in JSON at position \d+.*$/, '')}`,
      { hint: 'the event is one JSON document, e.g. {"path": "/", "httpMethod": "GET"}' },
    );
  }
}

/** -q and -n promise that nothing runs; ignoring them would surprise. */
function refuseModes(options: InvokeOptions): void {
  const refuse = (flag: string) =>
    configError('invoke-mode', `${flag} does not apply to lbuild invoke: it runs the handler`, {
      hint: `drop ${flag}; lbuild invoke builds the zip it runs, as lbuild BUNDLE does`,
    });
  if (options.question) throw refuse('-q (--question)');
  if (options.dryRun) throw refuse('-n (--dry-run)');
}
