import { buildError } from './failure.js';

/** One process to run. */
export interface RunRequest {
  file: string;
  args: readonly string[];
  cwd: string;
  /** The complete environment of the child (nothing else is inherited); default: this process's. */
  env?: Readonly<Record<string, string | undefined>> | undefined;
  /** Run `file` as a command line through /bin/sh instead of as a program. */
  shell?: boolean | undefined;
  /** Aborting ends the child's whole process group (SIGTERM, then SIGKILL after a grace period). */
  signal?: AbortSignal | undefined;
  /** Output as it arrives, in chunks. */
  onOutput?: ((stream: 'stdout' | 'stderr', text: string) => void) | undefined;
  /** Each line of output as it arrives, stdout and stderr interleaved. */
  onLine?: ((line: string, stream: 'stdout' | 'stderr') => void) | undefined;
}

export interface ProcessResult {
  /** Undefined when the child did not exit by itself (killed by a signal, or never started). */
  exitCode: number | undefined;
  /** The signal that ended the child, if one did. */
  signal: string | undefined;
  /** The file could not be run (ENOENT, EACCES). */
  spawnError?: string | undefined;
  stdout: string;
  stderr: string;
  /** All output lines in arrival order. */
  lines: string[];
}

/**
 * Runs processes. The default is {@link runProcess}; tests inject their own to count or fake
 * process starts. When the request's signal aborts, a runner rejects with the signal's reason
 * (an `AbortError` unless the caller chose another).
 */
export type ProcessRunner = (request: RunRequest) => Promise<ProcessResult>;

/** How long a process group gets to exit after SIGTERM before SIGKILL. */
export const KILL_GRACE_MS = 2000;

/**
 * Runs a child in its own process group, so that an abort ends the whole tree it started (a
 * shell, the Python it runs, pip's own build subprocesses), not just the direct child. stdin is
 * closed. Resolves however the child ended (look at exitCode, signal and spawnError); rejects
 * only when the signal aborted.
 */
export async function runProcess(request: RunRequest): Promise<ProcessResult> {
  const { signal } = request;
  if (signal?.aborted === true) throw abortReason(signal);
  // Loaded on first use: a no-op check reads the modules that run processes but runs none.
  const { execa } = await import('execa');
  const lines: string[] = [];
  const output = { stdout: '', stderr: '' };
  const child = execa(request.file, request.args, {
    cwd: request.cwd,
    shell: request.shell ?? false,
    ...(request.env === undefined ? {} : { env: request.env, extendEnv: false }),
    stdin: 'ignore',
    detached: true,
    buffer: false,
    reject: false,
    encoding: 'utf8',
  });
  const splitters = (['stdout', 'stderr'] as const).map((stream) => {
    const splitter = lineSplitter((line) => {
      lines.push(line);
      request.onLine?.(line, stream);
    });
    child[stream].setEncoding('utf8');
    child[stream].on('data', (chunk: string) => {
      output[stream] += chunk;
      request.onOutput?.(stream, chunk);
      splitter.push(chunk);
    });
    return splitter;
  });
  let killTimer: NodeJS.Timeout | undefined;
  const kill = () => {
    const pid = child.pid;
    if (pid === undefined) return;
    signalGroup(pid, 'SIGTERM');
    killTimer = setTimeout(() => signalGroup(pid, 'SIGKILL'), KILL_GRACE_MS);
    killTimer.unref();
  };
  signal?.addEventListener('abort', kill, { once: true });
  let result: Awaited<typeof child>;
  try {
    result = await child;
  } finally {
    signal?.removeEventListener('abort', kill);
  }
  for (const splitter of splitters) splitter.end();
  // Read through a call: the check before the await narrowed `aborted` to false.
  if (isAborted(signal)) {
    // The group may outlive its leader: end the rest at once rather than after the grace.
    if (killTimer !== undefined && child.pid !== undefined) {
      clearTimeout(killTimer);
      signalGroup(child.pid, 'SIGKILL');
    }
    throw abortReason(signal ?? AbortSignal.abort());
  }
  const cause: unknown = result.cause;
  const code = cause instanceof Error ? (cause as NodeJS.ErrnoException).code : undefined;
  const spawnError =
    result.exitCode === undefined && result.signal === undefined
      ? (code ?? 'spawn-failed')
      : undefined;
  return {
    exitCode: result.exitCode,
    signal: result.signal,
    spawnError,
    stdout: output.stdout,
    stderr: output.stderr,
    lines,
  };
}

/**
 * {@link runProcess} for a command that must start: a file that cannot be run is a build error
 * (`command-not-found`).
 */
export async function runCommand(request: RunRequest): Promise<ProcessResult> {
  const result = await runProcess(request);
  if (result.spawnError !== undefined) {
    throw buildError('command-not-found', `command not found: ${request.file}`, {
      hint: 'check the spelling, or install it and make sure it is on PATH',
    });
  }
  return result;
}

function abortReason(signal: AbortSignal): unknown {
  const reason: unknown = signal.reason;
  if (reason instanceof Error) return reason;
  return Object.assign(new Error('aborted'), { name: 'AbortError' });
}

function isAborted(signal: AbortSignal | undefined): boolean {
  return signal?.aborted === true;
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // Already gone.
  }
}

function lineSplitter(sink: (line: string) => void) {
  let pending = '';
  return {
    push(chunk: string) {
      pending += chunk;
      const parts = pending.split(/\r?\n|\r/);
      pending = parts.pop() ?? '';
      for (const line of parts) sink(line);
    },
    end() {
      if (pending !== '') sink(pending);
      pending = '';
    },
  };
}
