import { buildError } from './failure.js';

export interface RunProcessOptions {
  cwd: string;
  signal: AbortSignal;
  env?: Record<string, string | undefined>;
  /** Run through /bin/sh (a command line) instead of as an argv list. */
  shell?: boolean;
  onOutput?: (stream: 'stdout' | 'stderr', text: string) => void;
}

export interface ProcessResult {
  exitCode: number | undefined;
  signal: string | undefined;
  stdout: string;
  stderr: string;
}

/** How long a child gets to exit after SIGTERM before SIGKILL. */
const KILL_GRACE_MS = 3000;

/**
 * Runs a child in its own process group so that an interrupt ends the whole tree it started (a
 * shell, the Python it runs, pip's own children), not just the direct child.
 */
export async function runProcess(
  file: string,
  args: readonly string[],
  options: RunProcessOptions,
): Promise<ProcessResult> {
  const { execa } = await import('execa');
  const child = execa(file, args, {
    cwd: options.cwd,
    shell: options.shell ?? false,
    reject: false,
    stdin: 'ignore',
    detached: true,
    buffer: true,
    ...(options.env ? { env: options.env, extendEnv: false } : {}),
  });
  const kill = () => {
    if (child.pid === undefined) return;
    signalGroup(child.pid, 'SIGTERM');
    setTimeout(() => signalGroup(child.pid ?? 0, 'SIGKILL'), KILL_GRACE_MS).unref();
  };
  if (options.signal.aborted) kill();
  options.signal.addEventListener('abort', kill, { once: true });
  child.stdout.on('data', (chunk: Buffer) => options.onOutput?.('stdout', chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => options.onOutput?.('stderr', chunk.toString('utf8')));
  try {
    const result = await child;
    if (options.signal.aborted) throw Object.assign(new Error('aborted'), { name: 'AbortError' });
    const spawnError = (result as { code?: string }).code;
    if (
      spawnError === 'ENOENT' ||
      (result.failed && result.exitCode === undefined && result.signal === undefined)
    ) {
      throw buildError('command-not-found', `command not found: ${file}`, {
        hint: 'check the spelling, or install it and make sure it is on PATH',
      });
    }
    return {
      exitCode: result.exitCode,
      signal: result.signal,
      stdout: result.stdout,
      stderr: result.stderr,
    };
  } finally {
    options.signal.removeEventListener('abort', kill);
  }
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // Already gone.
  }
}
