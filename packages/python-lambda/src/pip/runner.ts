/** One process to run. */
export interface RunRequest {
  file: string;
  args: readonly string[];
  cwd: string;
  /** The complete environment of the child (nothing is inherited besides this). */
  env: Readonly<Record<string, string>>;
  /** Aborting kills the child (SIGTERM, then SIGKILL after a grace period). */
  signal?: AbortSignal | undefined;
  /** Each line of output as it arrives, stdout and stderr interleaved. */
  onLine?: ((line: string, stream: 'stdout' | 'stderr') => void) | undefined;
}

export interface RunResult {
  /** Undefined when the child did not exit by itself (killed by a signal, or never started). */
  exitCode: number | undefined;
  /** The file could not be run (ENOENT, EACCES). */
  spawnError?: string | undefined;
  stdout: string;
  stderr: string;
  /** All output lines in arrival order. */
  lines: string[];
}

/**
 * Runs processes. The default is {@link execaRunner}; tests inject their own to count or fake
 * process starts. When the request's signal aborts, a runner rejects with the signal's reason
 * (an `AbortError` unless the caller chose another).
 */
export type ProcessRunner = (request: RunRequest) => Promise<RunResult>;

/** How long a child may take to exit after SIGTERM before it gets SIGKILL. */
export const KILL_GRACE_MS = 2000;

function abortReason(signal: AbortSignal): unknown {
  const reason: unknown = signal.reason;
  if (reason instanceof Error) return reason;
  return Object.assign(new Error('aborted'), { name: 'AbortError' });
}

function isAborted(signal: AbortSignal | undefined): boolean {
  return signal?.aborted === true;
}

function lineSplitter(
  stream: 'stdout' | 'stderr',
  sink: (line: string, stream: 'stdout' | 'stderr') => void,
) {
  let pending = '';
  return {
    push(chunk: string) {
      pending += chunk;
      const parts = pending.split(/\r?\n|\r/);
      pending = parts.pop() ?? '';
      for (const line of parts) sink(line, stream);
    },
    end() {
      if (pending !== '') sink(pending, stream);
      pending = '';
    },
  };
}

/** Runs through execa: no shell, stdin closed, `cancelSignal` + `forceKillAfterDelay` for aborts. */
export const execaRunner: ProcessRunner = async (request) => {
  // Loaded on first use: a no-op check of the wheelhouse reads this module but runs no process.
  const { execa } = await import('execa');
  const signal = request.signal;
  if (signal?.aborted === true) throw abortReason(signal);
  const lines: string[] = [];
  let stdout = '';
  let stderr = '';
  const sink = (line: string, stream: 'stdout' | 'stderr') => {
    lines.push(line);
    request.onLine?.(line, stream);
  };
  const outLines = lineSplitter('stdout', sink);
  const errLines = lineSplitter('stderr', sink);
  const child = execa(request.file, request.args, {
    cwd: request.cwd,
    env: request.env,
    extendEnv: false,
    stdin: 'ignore',
    buffer: false,
    reject: false,
    encoding: 'utf8',
    ...(signal === undefined ? {} : { cancelSignal: signal }),
    forceKillAfterDelay: KILL_GRACE_MS,
  });
  child.stdout.setEncoding('utf8');
  child.stderr.setEncoding('utf8');
  child.stdout.on('data', (chunk: string) => {
    stdout += chunk;
    outLines.push(chunk);
  });
  child.stderr.on('data', (chunk: string) => {
    stderr += chunk;
    errLines.push(chunk);
  });
  const result = await child;
  outLines.end();
  errLines.end();
  // Read through a call: the check before the await narrowed `aborted` to false.
  if (result.isCanceled || isAborted(signal)) throw abortReason(signal ?? AbortSignal.abort());
  const cause: unknown = result.cause;
  const code = cause instanceof Error ? (cause as NodeJS.ErrnoException).code : undefined;
  const spawnError =
    result.exitCode === undefined && result.signal === undefined
      ? (code ?? 'spawn-failed')
      : undefined;
  return { exitCode: result.exitCode, spawnError, stdout, stderr, lines };
};
