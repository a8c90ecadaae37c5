import { spawn } from 'node:child_process';
import { BOOTSTRAP } from './bootstrap.js';

/** Lambda's error object, as its Invoke API returns it for a function error. */
export interface LambdaError {
  errorMessage: string;
  errorType: string;
  requestId?: string;
  stackTrace: string[];
}

/** The function as Lambda would describe it to its handler. */
export interface LocalFunction {
  /** The plain function name. */
  name: string;
  /** What `context.invoked_function_arn` says. */
  arn: string;
  /** `module.function` (or `path/module.function`), as in the function's configuration. */
  handler: string;
  memoryMb: number;
  timeoutSeconds: number;
  region: string;
  /** `python3.12`. */
  runtime: string;
  /** The function's own environment variables (the config's `environment`). */
  environment: Readonly<Record<string, string>>;
}

export interface InvokeRequest {
  /** The interpreter (of the runtime's Python version) to run the handler with. */
  python: string;
  /** The unpacked package: the handler's `LAMBDA_TASK_ROOT` and working directory. */
  taskRoot: string;
  fn: LocalFunction;
  /** The event, as JSON text. */
  event: string;
  /** The environment the handler starts from (the user's); Lambda's variables go on top. */
  baseEnv: Readonly<Record<string, string | undefined>>;
  /** Where the handler's stdout and stderr go: a file descriptor of the caller's. */
  output: number;
  /** Indent the result's JSON (for a terminal). */
  pretty: boolean;
  requestId: string;
  signal?: AbortSignal | undefined;
  /** How long imports may take before the timeout starts anyway (Lambda's init limit, 10 s). */
  initLimitMs?: number;
}

export type InvokeOutcome =
  /** `result`: the handler's return value, as JSON text. */
  | { status: 'ok'; result: string; durationMs: number }
  /** The handler (or its import) raised, the result could not be serialized, or Python died. */
  | { status: 'error'; error: LambdaError; durationMs: number }
  | { status: 'timeout'; error: LambdaError; durationMs: number }
  | { status: 'interrupted' };

/** Variables Lambda's environment sets for every Python function, on top of the user's. */
export function lambdaEnvironment(
  fn: LocalFunction,
  taskRoot: string,
  logStream: string,
  baseEnv: Readonly<Record<string, string | undefined>>,
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(baseEnv)) if (value !== undefined) env[key] = value;
  // The project's own modules must not be found through the user's settings: only the package.
  delete env.PYTHONPATH;
  delete env.PYTHONHOME;
  return {
    ...env,
    ...fn.environment,
    LAMBDA_TASK_ROOT: taskRoot,
    _HANDLER: fn.handler,
    AWS_EXECUTION_ENV: `AWS_Lambda_${fn.runtime}`,
    AWS_LAMBDA_FUNCTION_NAME: fn.name,
    AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(fn.memoryMb),
    AWS_LAMBDA_FUNCTION_TIMEOUT: String(fn.timeoutSeconds),
    AWS_LAMBDA_LOG_GROUP_NAME: `/aws/lambda/${fn.name}`,
    AWS_LAMBDA_LOG_STREAM_NAME: logStream,
    AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand',
    AWS_REGION: fn.region,
    AWS_DEFAULT_REGION: fn.region,
    TZ: ':UTC',
    LANG: 'en_US.UTF-8',
  };
}

/** A log stream name of Lambda's shape: `2025/01/31/[$LATEST]<32 hex digits>`. */
function logStreamName(requestId: string): string {
  const day = new Date().toISOString().slice(0, 10).replace(/-/g, '/');
  return `${day}/[$LATEST]${requestId.replace(/-/g, '')}`;
}

/**
 * Runs the handler once in a Python of its own process group, as Lambda would: imports, then
 * the timeout (from the call of the handler; imports get `initLimitMs` before it starts anyway),
 * after which the whole group is killed. Never rejects for what the handler does.
 */
export async function invokeHandler(request: InvokeRequest): Promise<InvokeOutcome> {
  const { fn, signal } = request;
  if (signal?.aborted) return { status: 'interrupted' };
  const timeoutMs = fn.timeoutSeconds * 1000;
  const env = lambdaEnvironment(
    fn,
    request.taskRoot,
    logStreamName(request.requestId),
    request.baseEnv,
  );
  const started = performance.now();
  // -I: no user site-packages, no PYTHON* variables, no script directory on sys.path; -B: the
  // package stays as unpacked (Lambda's is read-only, so it never gets a __pycache__ either).
  const child = spawn(
    request.python,
    [
      '-I',
      '-B',
      '-c',
      BOOTSTRAP,
      String(timeoutMs),
      fn.arn,
      request.requestId,
      request.pretty ? '2' : '0',
    ],
    {
      cwd: request.taskRoot,
      env,
      stdio: ['pipe', request.output, request.output, 'pipe'],
      detached: true,
    },
  );
  const chunks: Buffer[] = [];
  let callStarted: number | undefined;
  let ended: 'timeout' | 'interrupted' | undefined;
  let timer: NodeJS.Timeout | undefined;
  const killGroup = () => {
    try {
      if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
    } catch {
      // Gone already.
    }
  };
  const startTimeout = () => {
    if (callStarted !== undefined) return;
    callStarted = performance.now();
    clearTimeout(timer);
    timer = setTimeout(() => {
      ended ??= 'timeout';
      killGroup();
    }, timeoutMs);
  };
  timer = setTimeout(startTimeout, request.initLimitMs ?? 10_000);
  const onAbort = () => {
    ended ??= 'interrupted';
    killGroup();
  };
  signal?.addEventListener('abort', onAbort, { once: true });
  const channel = child.stdio[3] as NodeJS.ReadableStream;
  channel.on('data', (chunk: Buffer) => {
    chunks.push(chunk);
    if (callStarted === undefined && Buffer.concat(chunks).subarray(0, 6).toString() === 'start\n')
      startTimeout();
  });
  const stdin = child.stdin as NodeJS.WritableStream;
  stdin.on('error', () => {
    // Python ended before reading the event: its exit says why.
  });
  stdin.end(request.event);
  const exit = await new Promise<{ code: number | null; signal: string | null; error?: Error }>(
    (resolve) => {
      child.once('error', (error) => resolve({ code: null, signal: null, error }));
      child.once('close', (code, sig) => resolve({ code, signal: sig }));
    },
  );
  clearTimeout(timer);
  signal?.removeEventListener('abort', onAbort);
  const durationMs = performance.now() - (callStarted ?? started);
  if (ended === 'interrupted') return { status: 'interrupted' };
  // A whole answer given before the timeout counts, even if Python was slow to exit after it.
  const answer = parseAnswer(
    Buffer.concat(chunks)
      .toString('utf8')
      .replace(/^start\n/, ''),
  );
  if (answer?.kind === 'result') return { status: 'ok', result: answer.json, durationMs };
  if (answer?.kind === 'error') return { status: 'error', error: answer.error, durationMs };
  if (ended === 'timeout') {
    return {
      status: 'timeout',
      durationMs,
      error: {
        errorMessage: `Task timed out after ${fn.timeoutSeconds.toFixed(2)} seconds`,
        errorType: 'Sandbox.Timedout',
        requestId: request.requestId,
        stackTrace: [],
      },
    };
  }
  // Python ended without a word: sys.exit() or os._exit() in the handler, a crash, or no Python.
  const how = exit.error
    ? exit.error.message
    : exit.signal
      ? `signal: ${exit.signal}`
      : `exit status ${String(exit.code)}`;
  return {
    status: 'error',
    durationMs,
    error: {
      errorMessage: `RequestId: ${request.requestId} Error: Runtime exited with error: ${how}`,
      errorType: 'Runtime.ExitError',
      requestId: request.requestId,
      stackTrace: [],
    },
  };
}

/** The bootstrap's answer on fd 3, when it is complete: a kill can cut one short. */
function parseAnswer(
  text: string,
): { kind: 'result'; json: string } | { kind: 'error'; error: LambdaError } | undefined {
  const newline = text.indexOf('\n');
  const kind = text.slice(0, newline);
  const body = text.slice(newline + 1);
  if (newline < 0 || (kind !== 'result' && kind !== 'error')) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return undefined;
  }
  return kind === 'result' ? { kind, json: body } : { kind, error: parsed as LambdaError };
}
