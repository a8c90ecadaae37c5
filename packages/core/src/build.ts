import { availableParallelism } from 'node:os';
import { monotonicMs } from './clock.js';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { mkdir, rm } from 'node:fs/promises';
import { buildError, isAbortError, LbuildError, toFailure, type Failure } from './failure.js';
import { FileHasher, statFile, unchangedSince, type FileRecord } from './file-state.js';
import {
  emptyTable,
  hashesOfTable,
  pushRecord,
  recordAt,
  toRecords,
  toTable,
  type FileTable,
} from './file-table.js';
import { hashJson } from './hash.js';
import { expandInputs, specId, type ExpandedInputs } from './inputs.js';
import type { TargetGraph } from './graph.js';
import type { TargetKey } from './key.js';
import { HASH_CONCURRENCY, changedSince, listOutputFiles, verifyTrace } from './rebuilder.js';
import { mapLimit, Semaphore } from './limit.js';
import { acquireProjectLock } from './lock.js';
import type { Reason } from './reason.js';
import { hashRecipe } from './recipe.js';
import { matchRows, StampStore, STAMP_VERSION, type Stamp } from './stamp.js';
import { sharedCacheDir, stateDirOf, targetStateDir } from './state-paths.js';
import type { BuildEvent, BuildMode, BuildSummary, TargetReport } from './events.js';
import type { DependencyResult, Json, RunContext, TargetDefinition } from './target.js';
import type { CacheOptions } from './cache/options.js';
import type { BuildCache, CacheHit } from './cache/build-cache.js';

export interface BuildOptions {
  /** Absolute project root. */
  root: string;
  graph: TargetGraph;
  /** Keys to bring up to date (their dependencies come along). */
  targets: TargetKey[];
  mode?: BuildMode;
  /** `-B`: run every selected target. */
  force?: boolean;
  /** `-j`: targets run at once. */
  jobs?: number;
  /** `-k`: after a failure, go on with targets that do not depend on it. */
  keepGoing?: boolean;
  /** Collect every reason, not just the first (`--explain`, `--json`). */
  explain?: boolean;
  /** Run external freshness checks (a deployed function); false with `--offline`. */
  external?: boolean;
  signal?: AbortSignal;
  onEvent?: (event: BuildEvent) => void;
  /** Where stamps and caches live; default `<root>/.lbuild`. */
  stateDir?: string;
  /**
   * The shared build cache (absent: off). Used by builds only, never by `-q` or `-n`, and only
   * for targets that opt in (TargetDefinition.cache).
   */
  cache?: CacheOptions;
}

export { stateDirOf };

/**
 * Runs one build: the scheduler (topological, parallel up to `jobs`) asks the rebuilder
 * whether each target's trace still verifies and runs the ones that do not.
 */
export async function runBuild(options: BuildOptions): Promise<BuildSummary> {
  const mode = options.mode ?? 'build';
  const started = monotonicMs();
  const emit = options.onEvent ?? (() => undefined);
  const stateDir = options.stateDir ?? stateDirOf(options.root);
  const order = options.graph.closure(options.targets);
  const jobs = options.jobs ?? availableParallelism();
  emit({ type: 'build-start', targets: order, jobs, mode });

  const lock =
    mode === 'build'
      ? await acquireProjectLock(stateDir, {
          ...(options.signal ? { signal: options.signal } : {}),
          onWait: (holder) => emit({ type: 'lock-wait', ...(holder ? { holder } : {}) }),
        })
      : undefined;
  try {
    const scheduler = new Scheduler(options, mode, stateDir, jobs, emit);
    const reports = await scheduler.run(order);
    const summary: BuildSummary = {
      mode,
      status: summarise(reports, options.signal),
      targets: reports,
      durationMs: Math.round(monotonicMs() - started),
    };
    emit({ type: 'build-finish', summary });
    return summary;
  } finally {
    await lock?.release();
  }
}

function summarise(
  reports: TargetReport[],
  signal: AbortSignal | undefined,
): BuildSummary['status'] {
  if (signal?.aborted || reports.some((r) => r.status === 'interrupted')) return 'interrupted';
  if (reports.some((r) => r.status === 'failed')) return 'failed';
  if (reports.some((r) => r.status === 'stale' || r.status === 'would-run')) return 'stale';
  return 'ok';
}

/** What a target's check starts from: its matched inputs, its hashed recipe, its last stamp. */
interface Prepared {
  inputs: ExpandedInputs;
  recipe: { hash: string; fields: Record<string, string> };
  stamp: Stamp | undefined;
}

class Scheduler {
  readonly #options: BuildOptions;
  readonly #mode: BuildMode;
  readonly #emit: (event: BuildEvent) => void;
  readonly #stamps: StampStore;
  readonly #stateDir: string;
  /** The state directory relative to the root ('' when it is elsewhere): never an input. */
  readonly #stateDirInRoot: string;
  readonly #slots: Semaphore;
  readonly #hasher = new FileHasher();
  readonly #visits = new Map<TargetKey, Promise<TargetReport>>();
  /** Aborted on a signal, or on the first failure without `-k`, or on the first stale `-q` answer. */
  readonly #stop = new AbortController();
  #stopReason: 'failure' | 'signal' | 'answered' | undefined;
  /** The shared cache of this build, made on first use (it loads node:crypto). */
  #cache: Promise<BuildCache> | undefined;
  /**
   * The targets whose outputs this build must leave on disk: those asked for that nothing else
   * asked for depends on (`lbuild` builds every target, but people want the zip). The others,
   * when the cache has them, are only stamped until a dependent needs their files.
   */
  #wanted = new Set<TargetKey>();
  /** Targets stamped as not materialised, and the hit that found them in this build. */
  readonly #notMaterialised = new Map<TargetKey, { stamp: Stamp; hit?: CacheHit }>();
  /** Their outputs as a dependent needs them: restored, or run again. */
  readonly #materialised = new Map<TargetKey, Promise<MaterialisedOutputs>>();

  constructor(
    options: BuildOptions,
    mode: BuildMode,
    stateDir: string,
    jobs: number,
    emit: (e: BuildEvent) => void,
  ) {
    this.#options = options;
    this.#mode = mode;
    this.#emit = emit;
    this.#stateDir = stateDir;
    const inRoot = relative(options.root, stateDir).split('\\').join('/');
    this.#stateDirInRoot =
      inRoot === '..' || inRoot.startsWith('../') || isAbsolute(inRoot) ? '' : inRoot;
    this.#stamps = new StampStore(stateDir);
    this.#slots = new Semaphore(jobs);
    const signal = options.signal;
    if (signal) {
      const onAbort = () => this.#halt('signal');
      if (signal.aborted) onAbort();
      else signal.addEventListener('abort', onAbort, { once: true });
    }
  }

  async run(order: TargetKey[]): Promise<TargetReport[]> {
    const depended = new Set(order.flatMap((key) => this.#options.graph.get(key).deps));
    this.#wanted = new Set(this.#options.targets.filter((key) => !depended.has(key)));
    const reports = await Promise.all(order.map((key) => this.#visit(key)));
    return reports;
  }

  #halt(reason: 'failure' | 'signal' | 'answered'): void {
    if (this.#stopReason === 'signal') return;
    this.#stopReason = reason;
    if (!this.#stop.signal.aborted) this.#stop.abort();
  }

  #visit(key: TargetKey): Promise<TargetReport> {
    let visit = this.#visits.get(key);
    if (!visit) {
      visit = this.#visitOnce(key).then((report) => {
        this.#emit({ type: 'target-finish', report });
        return report;
      });
      this.#visits.set(key, visit);
    }
    return visit;
  }

  async #visitOnce(key: TargetKey): Promise<TargetReport> {
    const def = this.#options.graph.get(key);
    const depReports = await Promise.all(def.deps.map((dep) => this.#visit(dep)));
    const base = {
      key,
      kind: def.kind,
      ...(def.description ? { description: def.description } : {}),
      reasons: [] as Reason[],
      durationMs: 0,
    };
    if (
      depReports.some(
        (r) => r.status === 'failed' || r.status === 'skipped' || r.status === 'interrupted',
      )
    ) {
      return { ...base, status: 'skipped' };
    }
    if (this.#stop.signal.aborted && this.#stopReason !== 'failure')
      return { ...base, status: 'skipped' };
    if (this.#stop.signal.aborted && !this.#options.keepGoing)
      return { ...base, status: 'skipped' };

    const pending = depReports.filter((r) => r.status === 'stale' || r.status === 'would-run');
    if (pending.length > 0) {
      const reasons: Reason[] = pending.map((r) => ({ kind: 'dependency-will-run', dep: r.key }));
      return { ...base, reasons, status: this.#mode === 'query' ? 'stale' : 'would-run' };
    }

    const started = monotonicMs();
    try {
      const deps = new Map<TargetKey, DependencyResult>();
      for (const r of depReports) {
        const depDef = this.#options.graph.get(r.key);
        deps.set(r.key, {
          key: r.key,
          outputs: (depDef.outputs ?? []).map((o) => join(this.#options.root, o)),
          value: r.value,
          outputHash: r.outputHash ?? '',
          ...(depDef.artifact ? { artifact: depDef.artifact } : {}),
        });
      }
      const prepared = await this.#prepare(def);
      const firstOnly = this.#mode === 'query' && !this.#options.explain;
      const verification = this.#options.force
        ? { reasons: [{ kind: 'forced' } as Reason], refresh: false, files: {}, outputs: {} }
        : await verifyTrace({
            root: this.#options.root,
            stamp: prepared.stamp,
            recipe: prepared.recipe.fields,
            deps: new Map([...deps].map(([k, d]) => [k, d.outputHash])),
            inputs: prepared.inputs,
            outputs: def.outputs ?? [],
            hasher: this.#hasher,
            firstOnly,
          });
      let reasons = verification.reasons;
      const stamp = prepared.stamp;
      if (reasons.length === 0 && stamp?.notMaterialised && this.#mode === 'build') {
        if (this.#wanted.has(key))
          reasons = [{ kind: 'output-missing', path: def.outputs?.[0] ?? key }];
        else this.#notMaterialised.set(key, { stamp });
      }
      const checkExternal = this.#options.external !== false ? def.checkExternal : undefined;
      if (checkExternal && (this.#mode !== 'build' || reasons.length === 0)) {
        const external = await checkExternal({
          key,
          root: this.#options.root,
          signal: this.#stop.signal,
          deps,
          value: stamp?.value,
        });
        if (this.#mode === 'build') {
          if (external) reasons = [{ kind: 'external', message: external }];
        } else {
          // Asked whether a run would change anything, the outside world has the last word.
          reasons = external
            ? [
                ...reasons.filter((r) => r.kind !== 'no-stamp'),
                { kind: 'external', message: external },
              ]
            : [];
        }
      }
      if (reasons.length === 0 && !stamp && this.#mode !== 'build') {
        return { ...base, status: 'up-to-date', durationMs: Math.round(monotonicMs() - started) };
      }
      if (reasons.length === 0 && stamp) {
        if (verification.refresh && this.#mode === 'build') {
          await this.#stamps.write({
            ...stamp,
            files: withRecords(stamp.files, verification.files),
            outputs: withRecords(stamp.outputs, verification.outputs),
          });
        }
        return {
          ...base,
          status: 'up-to-date',
          outputHash: stamp.outputHash,
          outputs: hashesOfTable(stamp.outputs),
          ...(stamp.value !== undefined ? { value: stamp.value } : {}),
          durationMs: Math.round(monotonicMs() - started),
        };
      }
      if (this.#options.explain && def.explain) reasons = await explained(def.explain, reasons);
      if (this.#mode === 'query') {
        if (!this.#options.explain) this.#halt('answered');
        return { ...base, reasons, status: 'stale' };
      }
      if (this.#mode === 'dry-run') return { ...base, reasons, status: 'would-run' };
      const cacheKey = await this.#cacheKey(def, deps, prepared);
      if (cacheKey && !this.#options.force) {
        const restored = await this.#restore(def, deps, prepared, reasons, cacheKey);
        if (restored) return restored;
      }
      return await this.#execute(def, deps, prepared, reasons, cacheKey);
    } catch (error) {
      // A target that could not even be checked (a missing input) fails like one whose command
      // failed: without -k, nothing else starts.
      if (!this.#options.keepGoing) this.#halt('failure');
      return {
        ...base,
        status: 'failed',
        failure: toFailure(error),
        durationMs: Math.round(monotonicMs() - started),
      };
    }
  }

  /** The files `def`'s input specs match now: before the run, and again after it. */
  #expand(def: TargetDefinition): ExpandedInputs {
    const specs = def.inputs ?? [];
    return expandInputs(this.#options.root, specs, def.key, def.outputs ?? [], {
      stateDir: this.#stateDirInRoot,
      otherOutputs: specs.some((s) => s.excludeOutputs === true) ? this.#outputsOutside(def) : [],
    });
  }

  async #prepare(def: TargetDefinition): Promise<Prepared> {
    const inputs = this.#expand(def);
    const recipe = await hashRecipe(await def.recipe());
    const stamp = this.#stamps.read(def.key);
    return { inputs, recipe, stamp };
  }

  /** The outputs of every target that `def` does not depend on, directly or indirectly. */
  #outputsOutside(def: TargetDefinition): string[] {
    const graph = this.#options.graph;
    const upstream = new Set(graph.closure([def.key]));
    const outputs: string[] = [];
    for (const other of graph.targets.values())
      if (!upstream.has(other.key)) outputs.push(...(other.outputs ?? []));
    return outputs;
  }

  async #execute(
    def: TargetDefinition,
    givenDeps: ReadonlyMap<TargetKey, DependencyResult>,
    prepared: Prepared,
    reasons: Reason[],
    cacheKey?: string,
  ): Promise<TargetReport> {
    // Dependencies whose outputs are only in the cache are fetched (or run) first, before this
    // run takes a slot: fetching one may run it, and that needs a slot of its own.
    const deps = new Map(givenDeps);
    for (const dep of def.deps) {
      if (!this.#notMaterialised.has(dep) && !this.#materialised.has(dep)) continue;
      const got = await this.#materialise(dep);
      if ('failure' in got) {
        return { key: def.key, kind: def.kind, reasons, status: 'skipped', durationMs: 0 };
      }
      const known = deps.get(dep);
      if (known) deps.set(dep, { ...known, outputHash: got.outputHash, value: got.value });
    }
    const release = await this.#slots.acquire();
    const root = this.#options.root;
    const base = { key: def.key, kind: def.kind, reasons };
    const started = monotonicMs();
    const duration = () => Math.round(monotonicMs() - started);
    if (this.#stop.signal.aborted && (this.#stopReason !== 'failure' || !this.#options.keepGoing)) {
      release();
      return { ...base, status: 'skipped', durationMs: 0 };
    }
    this.#emit({ type: 'target-start', key: def.key, kind: def.kind, reasons });
    const outputs = def.outputs ?? [];
    const before = new Map(outputs.map((o) => [o, statFile(join(root, o))]));
    const controller = new AbortController();
    const onStop = () => {
      if (this.#stopReason === 'signal') controller.abort();
    };
    this.#stop.signal.addEventListener('abort', onStop);
    if (this.#stop.signal.aborted) onStop();
    /** What the run started from, once it has started: a failure is judged against it. */
    let seen:
      | { inputFiles: Record<string, FileRecord>; snapshots: Map<string, FileRecord | undefined> }
      | undefined;
    try {
      // Inputs are hashed before the run, and checked again after it (#changedDuringRun).
      const inputFiles = await this.#hashAll(
        prepared.inputs.files,
        prepared.stamp && toRecords(prepared.stamp.files),
      );
      // No stamp may claim success while the target is running or after it failed.
      if (!def.keepStampOnFailure) await this.#stamps.remove(def.key);
      const stateDir = targetStateDir(this.#stateDir, def.key);
      const cacheDir = sharedCacheDir(this.#stateDir);
      await mkdir(stateDir, { recursive: true });
      /** Files the run snapshotted (root-relative): their record then, undefined if absent. */
      const snapshots = new Map<string, FileRecord | undefined>();
      seen = { inputFiles, snapshots };
      const ctx: RunContext = {
        key: def.key,
        root,
        signal: controller.signal,
        deps,
        inputs: prepared.inputs.files.map((f) => join(root, f)),
        inputGroups: (def.inputs ?? []).map((spec) =>
          (prepared.inputs.matches[specId(spec)] ?? []).map((f) => join(root, f)),
        ),
        stateDir,
        cacheDir,
        snapshot: (paths) =>
          mapLimit([...paths], HASH_CONCURRENCY, async (path) => {
            const rel = rootRelative(root, path);
            const declared = inputFiles[rel];
            if (declared) return declared.hash;
            if (!snapshots.has(rel)) {
              const record = await this.#hasher.current(join(root, rel));
              // Two snapshots of one path at once: the first one taken stands.
              if (!snapshots.has(rel)) snapshots.set(rel, record);
            }
            return snapshots.get(rel)?.hash;
          }),
        hashFile: async (path) => {
          const state = await this.#hasher.state(isAbsolute(path) ? path : join(root, path));
          if (!state) throw buildError('missing-file', `cannot read ${path}: no such file`);
          return state.hash;
        },
        log: (level, message, data) =>
          this.#emit({
            type: 'target-log',
            key: def.key,
            level,
            message,
            ...(data ? { data } : {}),
          }),
        output: (stream, text) => this.#emit({ type: 'target-output', key: def.key, stream, text }),
        progress: (done, total, unit, detail) =>
          this.#emit({
            type: 'target-progress',
            key: def.key,
            done,
            total,
            ...(unit ? { unit } : {}),
            ...(detail ? { detail } : {}),
          }),
      };
      const outcome = await def.run(ctx);
      if (controller.signal.aborted)
        throw Object.assign(new Error('aborted'), { name: 'AbortError' });

      for (const o of outputs) this.#hasher.forget(join(root, o));
      const produced = listOutputFiles(root, outputs);
      for (const declared of outputs) {
        const exists =
          produced.has(declared) || [...produced].some((p) => p.startsWith(declared + '/'));
        if (!exists && !statFile(join(root, declared))?.isDirectory()) {
          throw buildError(
            'output-not-produced',
            `target ${def.key} did not produce its declared output \`${declared}\``,
            {
              hint: 'make the command write that file, or remove it from `outputs`',
              ...(def.location ? { location: def.location } : {}),
            },
          );
        }
      }
      const outputRecords = await this.#hashAll([...produced].sort(), undefined);
      const value = outcome?.value;
      const outputHash = await hashJson({ outputs: hashesOf(outputRecords), value: value ?? null });
      const changed = await this.#changedDuringRun(def, prepared, inputFiles, snapshots);
      // A signal that arrived while hashing still means "do not claim success".
      if (isAborted(controller.signal))
        throw Object.assign(new Error('aborted'), { name: 'AbortError' });
      const report: TargetReport = {
        ...base,
        status: 'built',
        outputHash,
        unchanged: prepared.stamp?.outputHash === outputHash,
        outputs: hashesOf(outputRecords),
        ...(value !== undefined ? { value } : {}),
        ...(outcome?.summary ? { summary: outcome.summary } : {}),
        durationMs: duration(),
      };
      if (changed.length > 0) {
        // The outputs were made from what the run saw, which is no longer what is on disk:
        // dependents may use them in this build, but no stamp may say they match the disk.
        for (const path of changed) this.#hasher.forget(join(root, path));
        await this.#stamps.remove(def.key);
        this.#emit({ type: 'target-changed-during-run', key: def.key, changed });
        return { ...report, changedDuringRun: changed };
      }
      await this.#stamps.write(
        stampOf(def, prepared, deps, inputFiles, snapshots, {
          outputs: toTable(outputRecords),
          value,
          outputHash,
          durationMs: report.durationMs,
        }),
      );
      if (cacheKey) {
        await this.#store(def, cacheKey, {
          snapshots,
          outputRecords,
          cacheFiles: outcome?.cacheFiles ?? [],
          value,
          outputHash,
          ...(outcome?.summary ? { summary: outcome.summary } : {}),
        });
      }
      return report;
    } catch (error) {
      const interrupted = controller.signal.aborted || isAbortError(error);
      if (interrupted) {
        // A killed command may leave half-written outputs; they were not stamped, but remove
        // them so nothing downstream (or a person) mistakes them for finished ones.
        for (const [o, stats] of before) {
          const abs = join(root, o);
          if (changedSince(abs, stats)) await rm(abs, { recursive: true, force: true });
        }
        return { ...base, status: 'interrupted', durationMs: duration() };
      }
      if (!this.#options.keepGoing) this.#halt('failure');
      return {
        ...base,
        status: 'failed',
        failure: withTarget(await this.#raceAware(def, prepared, seen, toFailure(error)), def),
        durationMs: duration(),
      };
    } finally {
      this.#stop.signal.removeEventListener('abort', onStop);
      release();
    }
  }

  /**
   * A failed run's failure, said as the race it was when what the run depended on changed under
   * it: a file removed while a step read it gives a raw ENOENT, which is neither lbuild's fault
   * (internal) nor the user's setup (config), and the cure is to build again (exit 1, as make).
   * Inputs are re-hashed only when the run failed, so a good run pays nothing here.
   */
  async #raceAware(
    def: TargetDefinition,
    prepared: Prepared,
    seen:
      | { inputFiles: Record<string, FileRecord>; snapshots: Map<string, FileRecord | undefined> }
      | undefined,
    failure: Failure,
  ): Promise<Failure> {
    if (!seen || failure.kind === 'interrupted' || failure.reason === 'input-changed-during-run')
      return failure;
    let changed: string[];
    try {
      changed = await this.#changedDuringRun(def, prepared, seen.inputFiles, seen.snapshots);
    } catch {
      return failure;
    }
    if (changed.length === 0) return failure;
    for (const path of changed) this.#hasher.forget(join(this.#options.root, path));
    const shown = changed.slice(0, 5).join(', ') + (changed.length > 5 ? ', …' : '');
    return {
      kind: 'build',
      reason: 'input-changed-during-run',
      message: `${def.key} failed while what it depends on changed (${shown}): ${'message' in failure ? failure.message : failure.reason}`,
      hint: 'The edit raced the build; run lbuild again once the files are settled.',
    };
  }

  /**
   * What the run depended on that is no longer as it was when the run started (or, for a
   * snapshot, when the run took it): declared inputs by their pre-run records, files a glob now
   * matches that it did not, snapshotted files, and the recipe's fields. Sorted; empty when
   * the stamp may be written.
   */
  async #changedDuringRun(
    def: TargetDefinition,
    prepared: { inputs: ExpandedInputs; recipe: { fields: Record<string, string> } },
    inputFiles: Record<string, FileRecord>,
    snapshots: ReadonlyMap<string, FileRecord | undefined>,
  ): Promise<string[]> {
    const root = this.#options.root;
    const changed = new Set<string>();
    const checks: [string, FileRecord | undefined][] = [
      ...Object.entries(inputFiles),
      ...snapshots,
    ];
    await mapLimit(checks, HASH_CONCURRENCY, async ([path, record]) => {
      const abs = join(root, path);
      const same = record ? await unchangedSince(abs, record) : !statFile(abs)?.isFile();
      if (!same) changed.add(path);
    });
    let now: ExpandedInputs | undefined;
    try {
      now = this.#expand(def);
    } catch {
      // A plain-path input is gone: the check of its record above names it.
    }
    for (const file of now?.files ?? []) if (!(file in inputFiles)) changed.add(file);
    let recipe: Record<string, string> | undefined;
    try {
      recipe = (await hashRecipe(await def.recipe())).fields;
    } catch {
      recipe = undefined;
    }
    const before = prepared.recipe.fields;
    if (!recipe) changed.add('recipe');
    else
      for (const field of new Set([...Object.keys(before), ...Object.keys(recipe)]))
        if (before[field] !== recipe[field]) changed.add(`recipe field ${field}`);
    return [...changed].sort();
  }

  /** The shared cache, made on first use; undefined when the build has none. */
  #sharedCache(): Promise<BuildCache> | undefined {
    const options = this.#options.cache;
    if (!options || this.#mode !== 'build') return undefined;
    this.#cache ??= import('./cache/build-cache.js').then(({ BuildCache }) => {
      const root = this.#options.root;
      const inRoot = rootRelative(root, sharedCacheDir(this.#stateDir));
      return new BuildCache(
        options,
        root,
        inRoot.startsWith('../') ? undefined : inRoot,
        // The user's interrupt only: a failure elsewhere in the build must not cut short the
        // storing of a run that succeeded.
        this.#options.signal ?? new AbortController().signal,
        (message, key) => this.#emit({ type: 'cache-warning', message, ...(key ? { key } : {}) }),
      );
    });
    return this.#cache;
  }

  /**
   * The static cache key of a target that opts in (see cache/key.ts for what enters it), or
   * undefined when the build has no cache or the target does not use it.
   */
  async #cacheKey(
    def: TargetDefinition,
    deps: ReadonlyMap<TargetKey, DependencyResult>,
    prepared: Prepared,
  ): Promise<string | undefined> {
    if (!def.cache || !this.#sharedCache() || (def.outputs ?? []).length === 0) return undefined;
    const [{ staticKey }, inputFiles, recipe] = await Promise.all([
      import('./cache/key.js'),
      this.#hashAll(prepared.inputs.files, prepared.stamp && toRecords(prepared.stamp.files)),
      def.cache.recipe ? def.cache.recipe(prepared.recipe.fields) : prepared.recipe.fields,
    ]);
    return staticKey({
      kind: def.kind,
      recipe,
      inputs: Object.fromEntries(
        Object.entries(inputFiles).map(([path, r]) => [
          path,
          { hash: r.hash, exec: r.exec === true },
        ]),
      ),
      matches: prepared.inputs.matches,
      deps: Object.fromEntries([...deps].map(([k, d]) => [k, d.outputHash])),
    });
  }

  /**
   * Restores a target from the shared cache instead of running it: the outputs verified blob by
   * blob (see restoreFiles), then hashed and stamped exactly as after a run, so the next check is
   * a plain stamp check with no cache in sight. Undefined on a miss: the target runs.
   */
  async #restore(
    def: TargetDefinition,
    deps: ReadonlyMap<TargetKey, DependencyResult>,
    prepared: Prepared,
    reasons: Reason[],
    key: string,
  ): Promise<TargetReport | undefined> {
    const cache = await this.#sharedCache();
    if (!cache) return undefined;
    const root = this.#options.root;
    const started = monotonicMs();
    const dynamic = new Map<string, FileRecord | undefined>();
    const hit: CacheHit | undefined = await cache.lookup(def.key, key, async (paths) => {
      const records = await mapLimit(paths, HASH_CONCURRENCY, (path) =>
        this.#hasher.current(resolve(root, path)),
      );
      const contents: Record<string, string | null> = {};
      paths.forEach((path, i) => {
        dynamic.set(path, records[i]);
        contents[path] = records[i]?.hash ?? null;
      });
      return contents;
    });
    if (!hit) return undefined;
    const release = await this.#slots.acquire();
    try {
      if (this.#stop.signal.aborted) return undefined;
      const outputs = def.outputs ?? [];
      await this.#stamps.remove(def.key);
      if (!this.#wanted.has(def.key))
        return await this.#record(def, deps, prepared, reasons, hit, dynamic, started);
      if (!(await this.#restoreFiles(cache, hit, outputs))) return undefined;
      for (const o of outputs) this.#hasher.forget(join(root, o));
      for (const f of hit.manifest.extra) this.#hasher.forget(join(root, f.path));
      const outputRecords = await this.#hashAll(
        [...listOutputFiles(root, outputs)].sort(),
        undefined,
      );
      const value = hit.manifest.value ?? undefined;
      const outputHash = await hashJson({ outputs: hashesOf(outputRecords), value: value ?? null });
      if (outputHash !== hit.manifest.outputHash) {
        this.#emit({
          type: 'cache-warning',
          key: def.key,
          message: `cache entry ${hit.entryKey.slice(0, 12)} in ${hit.store.name} restored files whose hash is not the entry's; building instead`,
        });
        return undefined;
      }
      const inputFiles = await this.#hashAll(prepared.inputs.files, undefined);
      const durationMs = Math.round(monotonicMs() - started);
      await this.#stamps.write(
        stampOf(def, prepared, deps, inputFiles, dynamic, {
          outputs: toTable(outputRecords),
          value,
          outputHash,
          durationMs,
        }),
      );
      return {
        key: def.key,
        kind: def.kind,
        ...(def.description ? { description: def.description } : {}),
        reasons,
        status: 'built',
        outputHash,
        unchanged: prepared.stamp?.outputHash === outputHash,
        outputs: hashesOf(outputRecords),
        ...(value !== undefined ? { value } : {}),
        ...(hit.manifest.summary ? { summary: hit.manifest.summary } : {}),
        restored: { key: hit.entryKey, store: hit.store.name, materialised: true },
        durationMs,
      };
    } finally {
      release();
    }
  }

  /**
   * A hit that nothing in this build reads: stamped, its files left in the cache. The declared
   * outputs are removed, so that nothing on disk claims to be what these inputs make.
   */
  async #record(
    def: TargetDefinition,
    deps: ReadonlyMap<TargetKey, DependencyResult>,
    prepared: Prepared,
    reasons: Reason[],
    hit: CacheHit,
    dynamic: ReadonlyMap<string, FileRecord | undefined>,
    started: number,
  ): Promise<TargetReport> {
    const root = this.#options.root;
    for (const output of def.outputs ?? []) {
      await rm(join(root, output), { recursive: true, force: true });
      this.#hasher.forget(join(root, output));
    }
    const inputFiles = await this.#hashAll(prepared.inputs.files, undefined);
    const value = hit.manifest.value ?? undefined;
    const durationMs = Math.round(monotonicMs() - started);
    const stamp: Stamp = {
      ...stampOf(def, prepared, deps, inputFiles, dynamic, {
        outputs: emptyTable(),
        value,
        outputHash: hit.manifest.outputHash,
        durationMs,
      }),
      notMaterialised: { entryKey: hit.entryKey },
    };
    await this.#stamps.write(stamp);
    this.#notMaterialised.set(def.key, { stamp, hit });
    return {
      key: def.key,
      kind: def.kind,
      ...(def.description ? { description: def.description } : {}),
      reasons,
      status: 'built',
      outputHash: stamp.outputHash,
      unchanged: prepared.stamp?.outputHash === stamp.outputHash,
      ...(value !== undefined ? { value } : {}),
      restored: { key: hit.entryKey, store: hit.store.name, materialised: false },
      durationMs,
    };
  }

  /**
   * The outputs of a target stamped as not materialised, for a dependent that must run: fetched
   * from the cache and verified (the files must hash to the stamp's output hash, which
   * dependents were given), else made by running the target. Once per target and build.
   *
   * Why such a stamp cannot hide a stale output: it stands for files that are not on disk, and
   * the check of such a stamp requires them to be absent (anything at their paths reruns the
   * target). Every reader of the files is a dependent run, and every dependent run comes here
   * first, so it reads either the very bytes the output hash names or those of a fresh run.
   */
  #materialise(key: TargetKey): Promise<MaterialisedOutputs> {
    let pending = this.#materialised.get(key);
    if (!pending) {
      pending = this.#materialiseOnce(key);
      this.#materialised.set(key, pending);
    }
    return pending;
  }

  async #materialiseOnce(key: TargetKey): Promise<MaterialisedOutputs> {
    const lazy = this.#notMaterialised.get(key);
    const def = this.#options.graph.get(key);
    if (!lazy) return { failure: true };
    this.#notMaterialised.delete(key);
    const root = this.#options.root;
    const outputs = def.outputs ?? [];
    const cache = await this.#sharedCache();
    const entryKey = lazy.stamp.notMaterialised?.entryKey ?? '';
    const hit = lazy.hit ?? (cache ? await cache.fetch(key, entryKey) : undefined);
    if (cache && hit) {
      const release = await this.#slots.acquire();
      try {
        if (await this.#restoreFiles(cache, hit, outputs)) {
          for (const o of outputs) this.#hasher.forget(join(root, o));
          for (const f of hit.manifest.extra) this.#hasher.forget(join(root, f.path));
          const records = await this.#hashAll(
            [...listOutputFiles(root, outputs)].sort(),
            undefined,
          );
          const value = lazy.stamp.value;
          const outputHash = await hashJson({ outputs: hashesOf(records), value: value ?? null });
          if (outputHash === lazy.stamp.outputHash) {
            // eslint-disable-next-line @typescript-eslint/no-unused-vars
            const { notMaterialised: _, ...stamp } = lazy.stamp;
            await this.#stamps.write({ ...stamp, outputs: toTable(records) });
            return { outputHash, ...(value !== undefined ? { value } : {}) };
          }
          this.#emit({
            type: 'cache-warning',
            key,
            message: `cache entry ${entryKey.slice(0, 12)} in ${hit.store.name} restored files whose hash is not the stamp's; building instead`,
          });
        }
      } finally {
        release();
      }
    }
    // Not in the cache (any more): run it, as a build of what is on disk would.
    await this.#stamps.remove(key);
    const depReports = await Promise.all(def.deps.map((dep) => this.#visit(dep)));
    const deps = new Map<TargetKey, DependencyResult>();
    for (const r of depReports) {
      const depDef = this.#options.graph.get(r.key);
      deps.set(r.key, {
        key: r.key,
        outputs: (depDef.outputs ?? []).map((o) => join(root, o)),
        value: r.value,
        outputHash: r.outputHash ?? '',
        ...(depDef.artifact ? { artifact: depDef.artifact } : {}),
      });
    }
    const prepared = await this.#prepare(def);
    const reasons: Reason[] = [{ kind: 'output-missing', path: outputs[0] ?? key }];
    const cacheKey = await this.#cacheKey(def, deps, prepared);
    const report = await this.#execute(def, deps, prepared, reasons, cacheKey);
    this.#emit({ type: 'target-finish', report });
    if (report.status !== 'built' || report.outputHash === undefined) return { failure: true };
    return {
      outputHash: report.outputHash,
      ...(report.value !== undefined ? { value: report.value } : {}),
    };
  }

  /** Stores a stamped run in the shared cache; a run whose extra files it cannot carry is not. */
  async #store(
    def: TargetDefinition,
    staticKey: string,
    run: {
      snapshots: ReadonlyMap<string, FileRecord | undefined>;
      outputRecords: Record<string, FileRecord>;
      cacheFiles: readonly string[];
      value: Json | undefined;
      outputHash: string;
      summary?: string;
    },
  ): Promise<void> {
    const cache = await this.#sharedCache();
    if (!cache?.writes) return;
    const root = this.#options.root;
    const extra: { path: string; exec: boolean }[] = [];
    for (const file of run.cacheFiles) {
      const path = rootRelative(root, file);
      const record = await this.#hasher.state(join(root, path));
      if (!record) return;
      extra.push({ path, exec: record.exec === true });
    }
    const dynamic: Record<string, string | null> = {};
    for (const [path, record] of run.snapshots) dynamic[path] = record?.hash ?? null;
    await this.#safely(def.key, 'not stored', () =>
      cache.save({
        target: def.key,
        staticKey,
        dynamic,
        outputs: Object.entries(run.outputRecords).map(([path, r]) => ({
          path,
          exec: r.exec === true,
        })),
        extra,
        value: run.value,
        outputHash: run.outputHash,
        ...(run.summary ? { summary: run.summary } : {}),
      }),
    );
  }

  /** Restores a hit's files; anything but an interrupt that goes wrong is a miss. */
  async #restoreFiles(
    cache: BuildCache,
    hit: CacheHit,
    outputs: readonly string[],
  ): Promise<boolean> {
    let restored = false;
    await this.#safely(hit.manifest.target, 'not restored', async () => {
      restored = await cache.restore(hit, outputs);
    });
    return restored;
  }

  /**
   * Runs cache work whose failure must not fail the build (a store's own failures are handled by
   * BuildCache; this is for the rest, such as a file that vanished): one warning instead.
   */
  async #safely(key: TargetKey, what: string, work: () => Promise<void>): Promise<void> {
    try {
      await work();
    } catch (error) {
      if (this.#options.signal?.aborted || isAbortError(error)) throw error;
      this.#emit({
        type: 'cache-warning',
        key,
        message: `${key} ${what} in the shared cache: ${error instanceof Error ? error.message : String(error)}`,
      });
    }
  }

  async #hashAll(
    files: string[],
    known: Record<string, FileRecord> | undefined,
  ): Promise<Record<string, FileRecord>> {
    const root = this.#options.root;
    const records = await mapLimit(files, HASH_CONCURRENCY, (file) =>
      this.#hasher.state(join(root, file), known?.[file]),
    );
    const out: Record<string, FileRecord> = {};
    files.forEach((file, i) => {
      const record = records[i];
      if (record) out[file] = record;
      else throw buildError('input-vanished', `input ${file} disappeared during the build`);
    });
    return out;
  }
}

/**
 * The stamp of a run or a restore: the inputs and snapshotted files it saw (their records from
 * before it), the recipe and dependencies it was made from, and what it made.
 */
function stampOf(
  def: TargetDefinition,
  prepared: { inputs: ExpandedInputs; recipe: { hash: string; fields: Record<string, string> } },
  deps: ReadonlyMap<TargetKey, DependencyResult>,
  inputFiles: Record<string, FileRecord>,
  snapshots: ReadonlyMap<string, FileRecord | undefined>,
  made: { outputs: FileTable; value: Json | undefined; outputHash: string; durationMs: number },
): Stamp {
  const readRecords: Record<string, FileRecord> = {};
  for (const [path, record] of snapshots) if (record) readRecords[path] = record;
  const files = toTable({ ...inputFiles, ...readRecords });
  return {
    version: STAMP_VERSION,
    key: def.key,
    recipeHash: prepared.recipe.hash,
    recipe: prepared.recipe.fields,
    deps: Object.fromEntries([...deps].map(([k, d]) => [k, d.outputHash])),
    matches: matchRows(files, prepared.inputs.matches),
    files,
    outputs: made.outputs,
    ...(made.value !== undefined ? { value: made.value } : {}),
    outputHash: made.outputHash,
    builtAt: new Date().toISOString(),
    durationMs: made.durationMs,
  };
}

/** A path as the trace records it: relative to the root (`../` for one outside it). */
function rootRelative(root: string, path: string): string {
  return relative(root, resolve(root, path)).split('\\').join('/');
}

/** Reads `aborted` afresh (TypeScript narrows the property across awaits). */
function isAborted(signal: AbortSignal): boolean {
  return signal.aborted;
}

function hashesOf(records: Record<string, FileRecord>): Record<string, string> {
  return Object.fromEntries(Object.entries(records).map(([path, r]) => [path, r.hash]));
}

/** `table` with the rows of `updates` replaced (a refresh: same paths, same hashes, new stats). */
function withRecords(table: FileTable, updates: Record<string, FileRecord>): FileTable {
  if (Object.keys(updates).length === 0) return table;
  const out = emptyTable();
  table.paths.forEach((path, i) => pushRecord(out, path, updates[path] ?? recordAt(table, i)));
  return out;
}

/**
 * `reasons` with the target's detail on each recipe field that changed (see `explain`). Fields
 * made from one setting (an index URL and constraint files) often get the same text: it is
 * given on the first of them only.
 */
async function explained(
  explain: NonNullable<TargetDefinition['explain']>,
  reasons: Reason[],
): Promise<Reason[]> {
  const given = new Set<string>();
  const out: Reason[] = [];
  for (const reason of reasons) {
    const detail = reason.kind === 'recipe-changed' ? await explain(reason.field) : undefined;
    if (reason.kind === 'recipe-changed' && detail && !given.has(detail)) {
      given.add(detail);
      out.push({ ...reason, detail });
    } else out.push(reason);
  }
  return out;
}

function withTarget(failure: Failure, def: TargetDefinition): Failure {
  if (failure.location || !def.location) return failure;
  return failure.kind === 'config' ? { ...failure, location: def.location } : failure;
}

/** A not-materialised target's outputs once a dependent needed them, or that it failed. */
type MaterialisedOutputs = { outputHash: string; value?: Json } | { failure: true };

export type { Json };
export { LbuildError };
