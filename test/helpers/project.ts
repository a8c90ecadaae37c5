import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { devNull, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { waitFor } from './wait.js';

/** The repository root. */
export const REPO = fileURLToPath(new URL('../..', import.meta.url));
const CLI = join(REPO, 'packages', 'cli');
/** The built CLI in the repository (tests start a copy of it: {@link lbuildBin}). */
export const LBUILD = join(CLI, 'bin', 'lbuild.cjs');
const BUNDLE = join(CLI, 'bundle', 'lbuild.cjs');

let snapshot: string | undefined;

/** A build of the CLI replaces bundle/; a copy waits until it has been this still. */
const QUIET_MS = 1_500;

/**
 * The built CLI (`packages/cli/bin/lbuild.cjs` and the `bundle/` it loads), started as a user
 * starts it, but from a copy in the temporary directory, so that a rebuild of packages/cli/bundle
 * while tests run (it renames a new bundle/ over the old one) cannot fail them. One copy per build of the CLI,
 * shared by every test file; copies older than a day are removed.
 */
export function lbuildBin(): string {
  if (snapshot) return snapshot;
  if (!existsSync(BUNDLE)) {
    throw new Error(
      `the CLI is not built (${BUNDLE} is missing): run \`pnpm build\` or \`node packages/cli/build.mjs\` first`,
    );
  }
  const wanted = (path: string) => !path.endsWith('.v8cache');
  const bundle = join(CLI, 'bundle');
  for (let attempt = 1; attempt <= 300; attempt++) {
    try {
      const built = statSync(BUNDLE);
      const key = `${String(built.size)}-${String(Math.floor(built.mtimeMs))}`;
      // A copy made while a build was still replacing bundle/ is left alone (another test file may
      // be using it) and passed over for the next name.
      let final = '';
      for (let n = 0; ; n++) {
        final = join(tmpdir(), `lbuild-test-cli3-${key}${n ? `-${String(n)}` : ''}`);
        if (!existsSync(join(final, 'bin', 'lbuild.cjs'))) break;
        if (complete(join(final, 'bundle'))) {
          snapshot = join(final, 'bin', 'lbuild.cjs');
          return snapshot;
        }
      }
      const changed = lastChange(bundle);
      if (Date.now() - changed >= QUIET_MS) {
        const staging = mkdtempSync(join(tmpdir(), 'lbuild-test-cli3-staging-'));
        try {
          cpSync(join(CLI, 'bin'), join(staging, 'bin'), { recursive: true });
          cpSync(bundle, join(staging, 'bundle'), { recursive: true, filter: wanted });
          if (lastChange(bundle) === changed && complete(join(staging, 'bundle'))) {
            pruneOldCopies();
            renameSync(staging, final);
            snapshot = join(final, 'bin', 'lbuild.cjs');
            return snapshot;
          }
        } finally {
          rmSync(staging, { recursive: true, force: true });
        }
      }
    } catch {
      // A build replaced bundle/ under us, or another test file moved the same copy into place.
    }
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 200);
  }
  throw new Error(
    'packages/cli/bundle did not settle (a build kept rewriting it, or it is incomplete)',
  );
}

/** Removes the copies made for builds more than a day old. */
function pruneOldCopies(): void {
  for (const name of readdirSync(tmpdir())) {
    if (!name.startsWith('lbuild-test-cli')) continue;
    const path = join(tmpdir(), name);
    try {
      if (Date.now() - statSync(path).mtimeMs > 24 * 3600_000)
        rmSync(path, { recursive: true, force: true });
    } catch {
      // Removed by another test file meanwhile.
    }
  }
}

/** The latest modification time of anything below `dir`. */
function lastChange(dir: string): number {
  let latest = statSync(dir).mtimeMs;
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    latest = Math.max(latest, statSync(join(entry.parentPath, entry.name)).mtimeMs);
  }
  return latest;
}

/** Every file the bundle loads from `./vendor/` is there, and its deflate worker. */
function complete(dir: string): boolean {
  const bundle = readFileSync(join(dir, 'lbuild.cjs'), 'utf8');
  const vendored = new Set(bundle.match(/\.\/vendor\/[\w.-]+\.cjs/g) ?? []);
  vendored.add('deflate-worker.cjs');
  return [...vendored].every((file) => existsSync(join(dir, file)));
}

export interface RunResult {
  /** Exit status, or null when the process was ended by a signal. */
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  /** Added to (or, with `undefined`, removed from) the environment lbuild gets. */
  env?: Record<string, string | undefined>;
  /** Working directory; default the project directory. */
  cwd?: string;
}

/** PIP_* variables removed, and pip's config files too (PIP_CONFIG_FILE=/dev/null loads none). */
export const NO_PIP_CONFIG: Record<string, string | undefined> = {
  ...Object.fromEntries(
    Object.keys(process.env)
      .filter((key) => key.startsWith('PIP_'))
      .map((key) => [key, undefined]),
  ),
  PIP_CONFIG_FILE: devNull,
};

/**
 * The environment every lbuild under test starts with: no colour, no debug switches, and none
 * of the machine's pip configuration (PIP_* variables, pip.conf files), which lbuild applies:
 * a test that wants some sets it in `extra`.
 */
export function childEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const merged: Record<string, string | undefined> = {
    ...process.env,
    NO_COLOR: '1',
    FORCE_COLOR: undefined,
    LBUILD_DEBUG: undefined,
    ...NO_PIP_CONFIG,
    ...extra,
  };
  return Object.fromEntries(
    Object.entries(merged).filter((entry): entry is [string, string] => entry[1] !== undefined),
  );
}

/** An lbuild process that is still running: its output so far, and its exit. */
export class RunningLbuild {
  readonly child: ChildProcessWithoutNullStreams;
  readonly exited: Promise<RunResult>;
  #stdout = '';
  #stderr = '';

  constructor(args: readonly string[], options: RunOptions & { cwd: string }) {
    this.child = spawn(process.execPath, [lbuildBin(), ...args], {
      cwd: options.cwd,
      env: childEnv(options.env),
      stdio: 'pipe',
    });
    this.child.stdin.end();
    this.child.stdout.setEncoding('utf8').on('data', (text: string) => (this.#stdout += text));
    this.child.stderr.setEncoding('utf8').on('data', (text: string) => (this.#stderr += text));
    this.exited = new Promise((resolve, reject) => {
      this.child.on('error', reject);
      this.child.on('close', (code, signal) => {
        resolve({ code, signal, stdout: this.#stdout, stderr: this.#stderr });
      });
    });
  }

  get pid(): number {
    const pid = this.child.pid;
    if (pid === undefined) throw new Error('lbuild did not start');
    return pid;
  }

  get stdout(): string {
    return this.#stdout;
  }

  get stderr(): string {
    return this.#stderr;
  }

  /** Resolves once stderr contains `text`. */
  async waitForStderr(text: string): Promise<void> {
    await waitFor(() => this.#stderr.includes(text), {
      what: () =>
        `lbuild to print ${JSON.stringify(text)} on stderr (so far: ${JSON.stringify(this.#stderr)})`,
    });
  }
}

/**
 * A project in a fresh temporary directory that tests write files into and run the built
 * `lbuild` on, as a user would. Paths are relative to the project root.
 */
export class TempProject {
  readonly dir: string;

  private constructor(dir: string) {
    this.dir = dir;
  }

  static create(files: Record<string, string> = {}): TempProject {
    lbuildBin();
    const project = new TempProject(mkdtempSync(join(tmpdir(), 'lbuild-test-')));
    for (const [path, content] of Object.entries(files)) project.write(path, content);
    return project;
  }

  path(rel: string): string {
    return join(this.dir, rel);
  }

  write(rel: string, content: string): void {
    mkdirSync(dirname(this.path(rel)), { recursive: true });
    writeFileSync(this.path(rel), content);
  }

  read(rel: string): string {
    return readFileSync(this.path(rel), 'utf8');
  }

  exists(rel: string): boolean {
    return existsSync(this.path(rel));
  }

  remove(rel: string): void {
    rmSync(this.path(rel), { recursive: true, force: true });
  }

  /** Sets a file's access and modification times (default: 10 s later than now), content unchanged. */
  touch(rel: string, when = new Date(Date.now() + 10_000)): void {
    utimesSync(this.path(rel), when, when);
  }

  /** Every file below `rel` (default the root), root-relative, sorted; `.lbuild/` left out. */
  files(rel = '.'): string[] {
    const out: string[] = [];
    const walk = (dir: string): void => {
      for (const entry of readdirSync(this.path(dir), { withFileTypes: true })) {
        const child = dir === '.' ? entry.name : `${dir}/${entry.name}`;
        if (child === '.lbuild') continue;
        if (entry.isDirectory()) walk(child);
        else out.push(child);
      }
    };
    walk(rel);
    return out.sort();
  }

  /** The lines of a file, without the final newline; [] when it does not exist. */
  lines(rel: string): string[] {
    if (!this.exists(rel)) return [];
    const text = this.read(rel);
    return text === '' ? [] : text.replace(/\n$/, '').split('\n');
  }

  /** Reads the lines of a log file and empties it, so the next check sees only new entries. */
  take(rel: string): string[] {
    const lines = this.lines(rel);
    if (this.exists(rel)) writeFileSync(this.path(rel), '');
    return lines;
  }

  /** The parsed stamp of a target, or undefined when there is none. */
  stamp(key: string): StampJson | undefined {
    const file = this.path(`.lbuild/stamps/${key}.json`);
    return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as StampJson) : undefined;
  }

  /** Modification time of a file in ms, to prove a file was not rewritten. */
  mtime(rel: string): number {
    return statSync(this.path(rel)).mtimeMs;
  }

  /** Runs `lbuild ARGS` to completion. */
  run(args: readonly string[] = [], options: RunOptions = {}): Promise<RunResult> {
    return this.start(args, options).exited;
  }

  /** Starts `lbuild ARGS` and returns at once. */
  start(args: readonly string[] = [], options: RunOptions = {}): RunningLbuild {
    return new RunningLbuild(args, { ...options, cwd: options.cwd ?? this.dir });
  }

  /** Runs `lbuild --json ARGS` and parses the summary it prints on stdout. */
  async json(
    args: readonly string[] = [],
    options: RunOptions = {},
  ): Promise<{ result: RunResult; summary: JsonSummary }> {
    const result = await this.run(['--json', ...args], options);
    let summary: JsonSummary;
    try {
      summary = JSON.parse(result.stdout) as JsonSummary;
    } catch {
      throw new Error(
        `lbuild --json printed no JSON (exit ${String(result.code)}):\n${result.stdout}\n${result.stderr}`,
      );
    }
    return { result, summary };
  }

  dispose(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** The `--json` summary, as far as the tests read it. */
export interface JsonSummary {
  status: 'ok' | 'stale' | 'failed' | 'interrupted';
  mode: 'build' | 'query' | 'dry-run';
  exitCode: number;
  durationMs: number;
  targets: JsonTarget[];
}

export interface JsonTarget {
  key: string;
  kind: string;
  status: 'up-to-date' | 'built' | 'failed' | 'skipped' | 'stale' | 'would-run' | 'interrupted';
  reasons: string[];
  reasonDetails: { kind: string; [field: string]: unknown }[];
  durationMs: number;
  outputHash?: string;
  unchanged?: boolean;
  outputs?: Record<string, string>;
  failure?: {
    reason: string;
    message: string;
    kind: string;
    hint?: string;
    [field: string]: unknown;
  };
  /** The value the target's run returned (an upload's functionArn, codeSha256, ...). */
  value?: unknown;
  /** Built but not stamped: what changed while it ran. */
  changedDuringRun?: string[];
}

export interface StampJson {
  key: string;
  outputHash: string;
  /** Columns: row i is the file `paths[i]` with hash `hash[i]`. */
  outputs: { paths: string[]; hash: string[] };
  files: { paths: string[]; hash: string[] };
  [field: string]: unknown;
}

/** `{ key: status }` of a summary, for compact assertions. */
export function statuses(summary: JsonSummary): Record<string, JsonTarget['status']> {
  return Object.fromEntries(summary.targets.map((t) => [t.key, t.status]));
}

/** The keys of targets that ran (built or failed) in a summary, sorted. */
export function ran(summary: JsonSummary): string[] {
  return summary.targets
    .filter((t) => t.status === 'built' || t.status === 'failed')
    .map((t) => t.key)
    .sort();
}

/** Whether a process is running. A zombie (exited, not yet reaped by its new parent) is not. */
export function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    // /proc/PID/stat: "pid (comm) S ...": the state letter follows the last ")".
    const stat = readFileSync(`/proc/${String(pid)}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true;
  }
}

/** Sends SIGKILL to each process (and its group), ignoring those already gone: test cleanup. */
export function killAll(pids: readonly number[]): void {
  for (const pid of pids) {
    for (const target of [-pid, pid]) {
      try {
        process.kill(target, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
  }
}
