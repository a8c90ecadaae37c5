import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  cpSync,
  existsSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  realpathSync,
  statSync,
} from 'node:fs';
import { join, relative, sep } from 'node:path';
import {
  isRunning,
  killAll,
  REPO,
  TempProject,
  type RunningLbuild,
  type RunOptions,
  type RunResult,
} from '../helpers/project.js';
import { waitFor } from '../helpers/wait.js';

/**
 * The rig of the `lbuild --watch` tests: a long-running lbuild (the shared RunningLbuild) whose
 * stdout is read as it comes, one line per rebuild:
 *
 *   HH:MM:SS <changed> → <targets> <status> in <time> — <summaries>
 *
 * Every wait is for something lbuild does (a line, a stamp it writes, its exit), never a sleep.
 */

/** How lbuild learns of changes: native file events, or stat polling every 100 ms. */
export interface Mode {
  name: string;
  args: readonly string[];
}

export const MODES: readonly Mode[] = [
  { name: 'native events', args: [] },
  { name: 'polling', args: ['--poll', '100'] },
];

/** One rebuild line, taken apart. */
export interface Rebuild {
  line: string;
  /** Root-relative paths that changed (`start` for the first build); a `(+N more)` tail is dropped. */
  changed: string[];
  /** The targets that ran, in the order printed; [] for "nothing to run". */
  targets: string[];
  status: string;
  /** As printed: `12ms`, `1.10s`. */
  duration: string;
  /** The targets' summaries, `; `-separated as printed ('' when none). */
  summaries: string;
}

const TIME = /^\d\d:\d\d:\d\d /;
const REBUILD = /^\d\d:\d\d:\d\d (.+?) → (.+?) (ok|failed|interrupted|stale) in (\S+)(?: — (.*))?$/;

export function parseRebuild(line: string): Rebuild | undefined {
  const match = REBUILD.exec(line);
  if (!match) return undefined;
  const [, changed = '', targets = '', status = '', duration = '', summaries = ''] = match;
  return {
    line,
    changed: changed.replace(/ \(\+\d+ more\)$/, '').split(', '),
    targets: targets === 'nothing to run' ? [] : targets.split(', '),
    status,
    duration,
    summaries,
  };
}

/** `lbuild --watch ARGS` running on a project. */
export class WatchSession {
  readonly project: TempProject;
  readonly running: RunningLbuild;

  private constructor(project: TempProject, running: RunningLbuild) {
    this.project = project;
    this.running = running;
  }

  /** Starts `lbuild --watch ARGS` and returns at once. */
  static launch(
    project: TempProject,
    args: readonly string[],
    options: RunOptions = {},
  ): WatchSession {
    return new WatchSession(project, project.start(['--watch', ...args], options));
  }

  /** Starts `lbuild --watch ARGS` and waits until it says it is watching (after the first build). */
  static async start(
    project: TempProject,
    args: readonly string[],
    options: RunOptions = {},
  ): Promise<WatchSession> {
    const session = WatchSession.launch(project, args, options);
    try {
      await session.waitForStdout('watching ');
    } catch (error) {
      session.dispose(); // the test never gets the session to clean up
      throw error;
    }
    return session;
  }

  get stdout(): string {
    return this.running.stdout;
  }

  get stderr(): string {
    return this.running.stderr;
  }

  /** The time-stamped lines of stdout: rebuilds and "configuration reloaded". */
  get lines(): string[] {
    return this.stdout.split('\n').filter((line) => TIME.test(line));
  }

  /** The rebuild lines so far. */
  get rebuilds(): Rebuild[] {
    return this.lines.flatMap((line) => parseRebuild(line) ?? []);
  }

  #describe(): string {
    return `\n--- stdout ---\n${this.stdout}--- stderr ---\n${this.stderr}`;
  }

  async waitForStdout(text: string, timeoutMs?: number): Promise<void> {
    await waitFor(() => this.stdout.includes(text), {
      what: () => `lbuild to print ${JSON.stringify(text)}${this.#describe()}`,
      ...(timeoutMs ? { timeoutMs } : {}),
    });
  }

  async waitForStderr(text: string): Promise<void> {
    await waitFor(() => this.stderr.includes(text), {
      what: () => `lbuild to print ${JSON.stringify(text)} on stderr${this.#describe()}`,
    });
  }

  /** Waits for rebuild line number `index` (0-based) and returns it. */
  async rebuild(index: number, what = 'a rebuild'): Promise<Rebuild> {
    await waitFor(() => this.rebuilds.length > index, {
      what: () => `${what} (rebuild line #${index + 1})${this.#describe()}`,
    });
    const found = this.rebuilds[index];
    if (!found) throw new Error('unreachable');
    return found;
  }

  /**
   * Makes a change and returns the rebuild line it caused, which must be the very next one: a
   * line from anything else in between (a loop, a second build for one save) fails the test.
   */
  async change(make: () => void, what = 'the rebuild of a change'): Promise<Rebuild> {
    const index = this.rebuilds.length;
    make();
    return this.rebuild(index, what);
  }

  /** Ctrl-C: sends SIGINT and waits for lbuild to exit. */
  async interrupt(): Promise<RunResult> {
    this.running.child.kill('SIGINT');
    let result: RunResult | undefined;
    void this.running.exited.then((r) => (result = r));
    await waitFor(() => result !== undefined, {
      what: () => `lbuild to exit after SIGINT${this.#describe()}`,
      timeoutMs: 15_000,
    });
    return result!;
  }

  /** Test cleanup: kills lbuild if a test left it running. */
  dispose(): void {
    if (isRunning(this.running.pid)) killAll([this.running.pid]);
  }
}

/** examples/hello-lambda in the repository. */
export const EXAMPLE = join(REPO, 'examples', 'hello-lambda');
export const ZIP = 'dist/hello.zip';
export const HANDLER = 'hello/handler.py';

/** A copy of examples/hello-lambda (without its build state) in a temp dir; `extra` ends lbuild.toml. */
export function helloProject(extra = ''): TempProject {
  const project = TempProject.create();
  cpSync(EXAMPLE, project.dir, {
    recursive: true,
    filter: (source) =>
      !relative(EXAMPLE, source)
        .split(sep)
        .some((part) => part === '.lbuild' || part === 'dist' || part === '__pycache__'),
  });
  if (extra) project.write('lbuild.toml', `${project.read('lbuild.toml')}\n${extra}`);
  return project;
}

/** SHA-256 (hex) of a project file. */
export function sha256(project: TempProject, rel: string): string {
  return createHash('sha256')
    .update(readFileSync(project.path(rel)))
    .digest('hex');
}

const ZIP_SCRIPT = `import json, sys, zipfile
z = zipfile.ZipFile(sys.argv[1])
print(json.dumps({i.filename: z.read(i).decode('utf-8', 'replace') for i in z.infolist()}))`;

/** The entries of a zip and their text, read by Python's zipfile (not by lbuild's own code). */
export function zipContents(project: TempProject, rel = ZIP): Record<string, string> {
  return JSON.parse(
    execFileSync('python3', ['-c', ZIP_SCRIPT, project.path(rel)], { encoding: 'utf8' }),
  ) as Record<string, string>;
}

interface FileRecordJson {
  hash: string;
  size: number;
  mtimeMs: number;
  ctimeMs: number;
  ino: number;
}

/** The record of `file` in the stamp of target `key` (`:` in keys is %-encoded in file names). */
export function stampRecord(
  project: TempProject,
  key: string,
  file: string,
): FileRecordJson | undefined {
  const name = key.replace(/[^A-Za-z0-9._-]/g, (c) => '%' + c.charCodeAt(0).toString(16));
  const path = project.path(`.lbuild/stamps/${name}.json`);
  if (!existsSync(path)) return undefined;
  // Stamps keep file records in columns (paths, hash, size, mtimeMs, ...): row `i` is one file.
  const { files } = JSON.parse(readFileSync(path, 'utf8')) as {
    files: Record<keyof FileRecordJson | 'paths', unknown[]>;
  };
  const i = files.paths.indexOf(file);
  if (i < 0) return undefined;
  return Object.fromEntries(
    Object.entries(files)
      .filter(([column]) => column !== 'paths' && column !== 'flags')
      .map(([column, values]) => [column, values[i]]),
  ) as unknown as FileRecordJson;
}

/**
 * Waits until a build has checked `file` as it is now: a build that finds a touched (or rewritten
 * but equal) input unchanged runs nothing and refreshes the target's stamp with the file's new
 * stat. That is the proof that lbuild saw the change and that it made a build, with no line.
 */
export async function waitUntilChecked(
  session: WatchSession,
  key: string,
  file: string,
): Promise<void> {
  const now = statSync(session.project.path(file));
  await waitFor(
    () => {
      const record = stampRecord(session.project, key, file);
      return (
        record !== undefined &&
        record.size === now.size &&
        record.mtimeMs === now.mtimeMs &&
        record.ctimeMs === now.ctimeMs &&
        record.ino === now.ino
      );
    },
    {
      what: () =>
        `a build to check ${file} for ${key}\n--- stdout ---\n${session.stdout}--- stderr ---\n${session.stderr}`,
    },
  );
}

/** Processes (not zombies) whose working directory is `dir` or below it: what lbuild left running. */
export function processesIn(dir: string): number[] {
  const real = realpathSync(dir);
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    let cwd: string;
    try {
      cwd = readlinkSync(`/proc/${entry}/cwd`);
    } catch {
      continue;
    }
    if ((cwd === real || cwd.startsWith(real + sep)) && isRunning(pid)) found.push(pid);
  }
  return found;
}
