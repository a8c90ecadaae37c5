import { existsSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import picomatch from 'picomatch';
import { stateDirOf } from './build.js';
import { loadProject, type Project } from './config/load.js';
import { toFailure, type Failure } from './failure.js';
import type { BuildSummary } from './events.js';
import type { TargetKey } from './key.js';
import type { PluginSource } from './config/load.js';
import { runSession, sessionTargets, type SessionOptions } from './session/session.js';
import { StampStore } from './stamp.js';

export type WatchEvent =
  | { type: 'watching'; paths: number; root: string; polling: boolean }
  | { type: 'config-error'; failure: Failure; keptPrevious: boolean }
  | { type: 'config-reloaded' }
  | { type: 'rebuild-start'; changed: string[] }
  | { type: 'rebuild-finish'; changed: string[]; summary: BuildSummary }
  | { type: 'build-error'; failure: Failure };

export interface WatchOptions {
  /** Where to look for the config (as `-C`). */
  start: string;
  plugins: readonly PluginSource[];
  /**
   * What each cycle builds, and the listener of its events: every cycle is one session, as a
   * one-shot build is. `force` (-B) applies to the first cycle only: later ones build what changed.
   */
  session: SessionOptions;
  /** Poll instead of native events (network and container file systems); a number sets the interval in ms. */
  poll?: boolean | number;
  /** Quiet period that coalesces the several writes of one save. */
  debounceMs?: number;
  signal: AbortSignal;
  onEvent: (event: WatchEvent) => void;
  /** Absolute paths watched on top of the selected targets' inputs: a change starts a cycle. */
  extraPaths?: readonly string[];
  /**
   * Runs after each cycle has been reported (`lbuild invoke` runs the handler there), before the
   * watch says it is watching again; changes meanwhile wait for it, as they wait for a build.
   */
  afterCycle?: (project: Project, outcome: WatchEvent, signal: AbortSignal) => Promise<void>;
}

/**
 * `lbuild --watch`: build, then watch exactly the inputs of the selected targets (their globs'
 * directories, files their runs read, the config file) and rebuild on change. The build itself
 * re-hashes before acting, so a touch or a save without changes runs nothing.
 *
 *   idle ──change──▶ debouncing ──quiet──▶ building ──done──▶ idle
 *                                            │  ▲
 *                                   change   ▼  │ done, rerun once
 *                                          building+queued
 */
export async function watch(options: WatchOptions): Promise<void> {
  const chokidar = await import('chokidar');
  const polling = options.poll !== undefined && options.poll !== false;
  const interval = typeof options.poll === 'number' ? options.poll : 200;
  // The quiet period must outlast chokidar's throttle of 'change' events (a path's changes within
  // 50 ms of the last one it reported are dropped, with no trailing event), or a build can start
  // in the middle of a save and never see its last write; when polling, it must also outlast
  // the interval, as the writes of one save can fall on both sides of a poll.
  const debounceMs = options.debounceMs ?? (polling ? interval + 100 : 100);
  let project: Project | undefined;
  let state: 'idle' | 'debouncing' | 'building' | 'building+queued' = 'idle';
  let changed = new Set<string>();
  /** Files the selected targets' stamps recorded: a change line may name them even once deleted. */
  let knownInputs = new Set<string>();
  let configChanged = false;
  let timer: NodeJS.Timeout | undefined;
  let current: AbortController | undefined;
  /** The build in progress (or the last one): Ctrl-C waits for it before closing the watcher. */
  let running: Promise<void> | undefined;
  let ignoreOutputs: (path: string) => boolean = () => false;
  let configFailure: Failure | undefined;

  const load = async (): Promise<boolean> => {
    try {
      const next = await loadProject(options.start, options.plugins);
      const hadPrevious = project !== undefined;
      project = next;
      if (hadPrevious) options.onEvent({ type: 'config-reloaded' });
      return true;
    } catch (error) {
      configFailure = toFailure(error);
      options.onEvent({
        type: 'config-error',
        failure: configFailure,
        keptPrevious: project !== undefined,
      });
      return false;
    }
  };

  const selected = (p: Project): TargetKey[] => sessionTargets(p, options.session);
  let cycles = 0;

  const watcherOptions: Parameters<typeof chokidar.watch>[1] = {
    ignoreInitial: true,
    persistent: true,
    usePolling: polling,
    ...(typeof options.poll === 'number'
      ? { interval: options.poll, binaryInterval: options.poll }
      : { interval, binaryInterval: 300 }),
    ignored: (path: string) => {
      const parts = path.split(sep);
      return (
        parts.includes('.lbuild') ||
        parts.includes('.git') ||
        parts.includes('node_modules') ||
        ignoreOutputs(path)
      );
    },
  };
  const watchers: ReturnType<typeof chokidar.watch>[] = [];
  const watched = new Set<string>();
  /**
   * Watches more paths; resolves once chokidar has scanned them, as it sees no change before.
   * chokidar reports that ('ready') once per watcher, so each batch gets a watcher of its own:
   * "watching" and each rebuild line come only after the paths they add are really watched, or
   * an edit made on seeing the line would be lost.
   */
  const watchPaths = (paths: string[]): Promise<void> => {
    for (const path of paths) watched.add(path);
    const batch = chokidar.watch(paths, watcherOptions);
    watchers.push(batch);
    batch.on('all', (event, path) => onChange(batch, event, path));
    return new Promise<void>((resolveReady) => batch.once('ready', () => resolveReady()));
  };

  const refreshWatchSet = async (): Promise<void> => {
    if (!project) return;
    const p = project;
    const bases = new Set<string>();
    const recorded: string[] = [];
    const outputs: string[] = [];
    const stamps = new StampStore(stateDirOf(p.root));
    let keys: TargetKey[] = [];
    try {
      keys = p.graph.closure(selected(p));
    } catch {
      keys = [];
    }
    for (const key of keys) {
      const def = p.graph.get(key);
      for (const out of def.outputs ?? []) outputs.push(join(p.root, out));
      for (const spec of def.inputs ?? []) {
        for (const pattern of spec.patterns) bases.add(join(p.root, globBase(pattern)));
      }
      // Files a run recorded reading (requirements includes, local packages, ...).
      for (const file of stamps.read(key)?.files.paths ?? [])
        recorded.push(isAbsolute(file) ? file : join(p.root, file));
    }
    knownInputs = new Set(recorded);
    const isOutput = picomatch(
      outputs.flatMap((o) => [o, `${o}/**`]),
      { dot: true },
    );
    ignoreOutputs = (path) => outputs.length > 0 && isOutput(resolve(path));
    const paths = new Set<string>([p.config.file, ...bases, ...(options.extraPaths ?? [])]);
    // Those below a watched directory are watched already.
    for (const abs of recorded)
      if (![...bases].some((base) => abs.startsWith(base + sep))) paths.add(abs);
    const added = [...paths].filter((path) => !watched.has(path));
    if (added.length) await watchPaths(added);
  };

  const announce = (p: Project): void => {
    options.onEvent({
      type: 'watching',
      paths: watched.size,
      root: p.root,
      polling: Boolean(options.poll),
    });
  };

  const build = async (): Promise<void> => {
    state = 'building';
    // An editor's temporary file (written, then renamed over the source) is gone by now and was
    // never an input: it is not what changed. A deleted input still is.
    const base = project ? project.root : resolve(options.start);
    const why = [...changed]
      .filter((rel) => {
        const abs = resolve(base, rel);
        return knownInputs.has(abs) || existsSync(abs);
      })
      .sort();
    changed = new Set();
    if (configChanged) {
      configChanged = false;
      await load();
    }
    if (project) {
      const p = project;
      current = new AbortController();
      const onAbort = () => current?.abort();
      options.signal.addEventListener('abort', onAbort, { once: true });
      let outcome: WatchEvent;
      try {
        if (why.length) options.onEvent({ type: 'rebuild-start', changed: why });
        const summary = await runSession(
          p,
          { ...options.session, force: cycles++ === 0 && options.session.force },
          current.signal,
        );
        outcome = { type: 'rebuild-finish', changed: why, summary };
        // A target whose inputs changed while it ran has no stamp: build again, as for a change
        // seen now (the watcher may not have watched those files yet, on a first build).
        const unstamped = summary.targets.flatMap((t) => t.changedDuringRun ?? []);
        if (unstamped.length > 0) {
          for (const path of unstamped) changed.add(path);
          state = 'building+queued';
        }
      } catch (error) {
        outcome = { type: 'build-error', failure: toFailure(error) };
      } finally {
        options.signal.removeEventListener('abort', onAbort);
        current = undefined;
      }
      // Not after Ctrl-C: a watcher made (or chokidar's add() on a closed one, which opens it
      // again) after the watchers are closed would keep lbuild from exiting. The line comes
      // after the paths this build added are watched, so an edit made on seeing it is seen.
      if (!options.signal.aborted) await refreshWatchSet();
      options.onEvent(outcome);
      if (options.afterCycle && !options.signal.aborted) {
        try {
          await options.afterCycle(p, outcome, options.signal);
        } catch (error) {
          options.onEvent({ type: 'build-error', failure: toFailure(error) });
        }
      }
      if (!options.signal.aborted) announce(p);
    }
    // `state` may have moved to building+queued while the build awaited.
    const again = (state as string) === 'building+queued';
    state = 'idle';
    if (again && !options.signal.aborted) schedule();
  };

  const schedule = (): void => {
    if (state === 'building' || state === 'building+queued') {
      state = 'building+queued';
      return;
    }
    state = 'debouncing';
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = undefined;
      running = build();
    }, debounceMs);
  };

  function onChange(batch: ReturnType<typeof chokidar.watch>, event: string, path: string): void {
    if (options.signal.aborted) return;
    const abs = resolve(path);
    // chokidar forgets a path it was given once it is deleted (unless it was the only one), so
    // a plain-file input, the config file or a source directory that is deleted and created
    // again (a checkout, an editor's save) would never be seen again: ask for it again.
    if ((event === 'unlink' || event === 'unlinkDir') && watched.has(abs)) batch.add(abs);
    // With no good config yet, the config file is all that is watched.
    if (!project || abs === project.config.file) configChanged = true;
    changed.add(relative(project ? project.root : resolve(options.start), abs));
    schedule();
  }

  await load();
  if (project) {
    // Watch before the first build, so that a change made while it runs is built after it (its
    // inputs were hashed before): changes until it starts are part of it.
    state = 'building';
    await refreshWatchSet();
    changed = new Set();
    running = build();
    await running;
  } else {
    // No good config yet: watch the config file (the one in error, found above the start
    // directory as lbuild finds it) until it becomes valid.
    const file = configFailure?.location?.file ?? guessConfigFile(options.start);
    configChanged = true;
    await watchPaths([file]);
    options.onEvent({ type: 'watching', paths: 1, root: dirname(file), polling });
  }
  await new Promise<void>((resolveDone) => {
    if (options.signal.aborted) resolveDone();
    options.signal.addEventListener('abort', () => resolveDone(), { once: true });
  });
  if (timer) clearTimeout(timer);
  current?.abort();
  // An interrupted build ends its commands (and their children) and removes partial outputs.
  await running;
  await Promise.all(watchers.map((w) => w.close()));
}

/** The directory part of a glob before its first wildcard: what must be watched for it. */
export function globBase(pattern: string): string {
  const base = picomatch.scan(pattern.replace(/^\.\//, '')).base;
  return base === '' ? '.' : base;
}

function guessConfigFile(start: string): string {
  const candidate = join(resolve(start), 'lbuild.toml');
  return existsSync(candidate) ? candidate : join(resolve(start), 'pyproject.toml');
}
