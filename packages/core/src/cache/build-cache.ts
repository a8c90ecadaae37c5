import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Json } from '../target.js';
import { dynamicKey } from './key.js';
import {
  decodeEntry,
  encodeEntry,
  MANIFEST_FORMAT,
  type Manifest,
  type ManifestFile,
} from './manifest.js';
import { mapLimit } from '../limit.js';
import {
  owningOutput,
  restoreFiles,
  RestoreMiss,
  safeRelativePath,
  sha256File,
  TRANSFERS,
} from './files.js';
import type { CacheOptions } from './options.js';
import { CacheStoreError, type CacheStore } from './store.js';

export type OutputsManifest = Extract<Manifest, { type: 'outputs' }>;

/** An entry found for a target: where, under which key, and what it holds. */
export interface CacheHit {
  store: CacheStore;
  /** The key the outputs are stored under (static, or dynamic when the run snapshotted files). */
  entryKey: string;
  manifest: OutputsManifest;
  /** The entries as read, so a hit in a remote store can be copied to the local one. */
  bodies: [string, Uint8Array][];
}

/** What a successful run leaves to store. */
export interface CacheSave {
  target: string;
  staticKey: string;
  /** The files the run snapshotted, with their content hashes then (null: absent). */
  dynamic: Record<string, string | null>;
  /** Declared outputs as files, root-relative, with their execute bits. */
  outputs: { path: string; exec: boolean }[];
  /** RunOutcome.cacheFiles, root-relative. */
  extra: { path: string; exec: boolean }[];
  value: Json | undefined;
  outputHash: string;
  summary?: string;
}

/**
 * One build's use of the shared cache: looks entries up in the stores in order, restores them
 * verified, and stores what runs made. A store that fails is warned about once and not used
 * again in this build; nothing the cache does fails the build.
 */
export class BuildCache {
  readonly #options: CacheOptions;
  readonly #root: string;
  /** The shared cache directory, root-relative: the only place extra files may go. */
  readonly #cacheDir: string | undefined;
  readonly #signal: AbortSignal;
  readonly #warn: (message: string, key?: string) => void;
  readonly #disabled = new Set<CacheStore>();

  constructor(
    options: CacheOptions,
    root: string,
    cacheDir: string | undefined,
    signal: AbortSignal,
    warn: (message: string, key?: string) => void,
  ) {
    this.#options = options;
    this.#root = root;
    this.#cacheDir = cacheDir;
    this.#signal = signal;
    this.#warn = warn;
  }

  get writes(): boolean {
    return this.#options.mode === 'read-write';
  }

  /** The entry for `staticKey`, or undefined on a miss (after any warning it deserves). */
  async lookup(
    target: string,
    staticKey: string,
    contentsOf: (paths: string[]) => Promise<Record<string, string | null>>,
  ): Promise<CacheHit | undefined> {
    for (const store of this.#stores()) {
      const first = await this.#get(store, staticKey, target);
      if (!first) continue;
      const bodies: [string, Uint8Array][] = [[staticKey, first.body]];
      let manifest = first.manifest;
      let entryKey = staticKey;
      let contents: Record<string, string | null> = {};
      if (manifest.type === 'paths') {
        if (!manifest.paths.every((p) => !p.startsWith('/') && !/^[A-Za-z]:/.test(p))) {
          this.#warn(`cache entry ${staticKey.slice(0, 12)} in ${store.name} is malformed`, target);
          continue;
        }
        contents = await contentsOf(manifest.paths);
        entryKey = dynamicKey(staticKey, contents);
        const second = await this.#get(store, entryKey, target);
        if (!second) continue;
        bodies.push([entryKey, second.body]);
        manifest = second.manifest;
      }
      if (manifest.type !== 'outputs' || !sameRecord(manifest.dynamic, contents)) {
        this.#warn(`cache entry ${entryKey.slice(0, 12)} in ${store.name} is malformed`, target);
        continue;
      }
      return { store, entryKey, manifest, bodies };
    }
    return undefined;
  }

  /** The outputs entry stored under `entryKey` (a key a stamp recorded), if a store has it. */
  async fetch(target: string, entryKey: string): Promise<CacheHit | undefined> {
    for (const store of this.#stores()) {
      const found = await this.#get(store, entryKey, target);
      if (found?.manifest.type === 'outputs')
        return { store, entryKey, manifest: found.manifest, bodies: [[entryKey, found.body]] };
    }
    return undefined;
  }

  /**
   * Restores a hit's files (see restoreFiles). False when they could not all be restored
   * verified: a miss, with one warning; the disk is left as it was.
   */
  async restore(hit: CacheHit, declared: readonly string[]): Promise<boolean> {
    const { manifest, store } = hit;
    const short = hit.entryKey.slice(0, 12);
    const placed = [...manifest.outputs, ...manifest.extra].map((f) => f.path);
    const allowed =
      new Set(placed).size === placed.length &&
      manifest.outputs.every(
        (f) => safeRelativePath(f.path) && owningOutput(f.path, declared) !== undefined,
      ) &&
      manifest.extra.every(
        (f) =>
          safeRelativePath(f.path) &&
          this.#cacheDir !== undefined &&
          f.path.startsWith(this.#cacheDir + '/'),
      );
    if (!allowed) {
      this.#warn(
        `cache entry ${short} in ${store.name} names files outside the target's outputs; not used`,
        manifest.target,
      );
      return false;
    }
    try {
      await restoreFiles({
        store,
        root: this.#root,
        declared,
        outputs: manifest.outputs,
        extra: manifest.extra,
        signal: this.#signal,
      });
    } catch (error) {
      if (error instanceof RestoreMiss) {
        this.#warn(`cache entry ${short} in ${store.name}: ${error.message}; building instead`);
        return false;
      }
      if (this.#failed(store, error)) return false;
      throw error;
    }
    if (this.writes) await this.#copyToEarlierStores(hit);
    return true;
  }

  /** Stores a run's outputs: blobs first, then the entry, then the list of snapshotted files. */
  async save(save: CacheSave): Promise<void> {
    if (!this.writes) return;
    const stores = this.#stores();
    if (stores.length === 0) return;
    const cacheDir = this.#cacheDir;
    if (!save.extra.every((f) => cacheDir !== undefined && f.path.startsWith(cacheDir + '/')))
      return;
    const describe = async (f: { path: string; exec: boolean }): Promise<ManifestFile> => {
      const abs = join(this.#root, f.path);
      const { size } = await stat(abs);
      return { path: f.path, sha256: await sha256File(abs), size, exec: f.exec };
    };
    const outputs = await Promise.all(save.outputs.map(describe));
    const extra = await Promise.all(save.extra.map(describe));
    if (outputs.length === 0) return;
    const manifest: OutputsManifest = {
      format: MANIFEST_FORMAT,
      type: 'outputs',
      target: save.target,
      outputs,
      extra,
      value: save.value ?? null,
      outputHash: save.outputHash,
      dynamic: save.dynamic,
      ...(save.summary ? { summary: save.summary } : {}),
    };
    const dynamicPaths = Object.keys(save.dynamic).sort();
    const entries: [string, Uint8Array][] =
      dynamicPaths.length === 0
        ? [[save.staticKey, encodeEntry(manifest, this.#options.signingKey)]]
        : [
            [
              dynamicKey(save.staticKey, save.dynamic),
              encodeEntry(manifest, this.#options.signingKey),
            ],
            [
              save.staticKey,
              encodeEntry(
                { format: MANIFEST_FORMAT, type: 'paths', paths: dynamicPaths },
                this.#options.signingKey,
              ),
            ],
          ];
    const files = [...outputs, ...extra];
    for (const store of stores) {
      await this.#attempt(store, async () => {
        await this.#putBlobs(store, files);
        // First write wins: an entry already there (another machine's, or a racing build's) is
        // left as it is.
        for (const [key, body] of entries) await store.putEntry(key, body, this.#signal);
      });
    }
  }

  async #copyToEarlierStores(hit: CacheHit): Promise<void> {
    const files = [...hit.manifest.outputs, ...hit.manifest.extra];
    for (const store of this.#stores()) {
      if (store === hit.store) return;
      await this.#attempt(store, async () => {
        await this.#putBlobs(store, files);
        // The list of snapshotted files last, as when a run stores them.
        for (const [key, body] of [...hit.bodies].reverse())
          await store.putEntry(key, body, this.#signal);
      });
    }
  }

  /** Every blob before any entry: the caller writes the entries once this has returned. */
  async #putBlobs(store: CacheStore, files: readonly ManifestFile[]): Promise<void> {
    await mapLimit(files, TRANSFERS, (file) =>
      store.putBlob(file.sha256, join(this.#root, file.path), this.#signal),
    );
  }

  #stores(): CacheStore[] {
    return this.#options.stores.filter((s) => !this.#disabled.has(s));
  }

  async #get(
    store: CacheStore,
    key: string,
    target: string,
  ): Promise<{ manifest: Manifest; body: Uint8Array } | undefined> {
    let body: Uint8Array | undefined;
    try {
      body = await store.getEntry(key, this.#signal);
    } catch (error) {
      if (this.#failed(store, error)) return undefined;
      throw error;
    }
    if (!body) return undefined;
    const decoded = decodeEntry(body, this.#options.signingKey);
    if ('problem' in decoded) {
      this.#warn(
        `cache entry ${key.slice(0, 12)} in ${store.name} not used: ${decoded.problem}`,
        target,
      );
      return undefined;
    }
    return { manifest: decoded.manifest, body };
  }

  async #attempt(store: CacheStore, work: () => Promise<void>): Promise<void> {
    try {
      await work();
    } catch (error) {
      if (!this.#failed(store, error)) throw error;
    }
  }

  /**
   * A store that failed is not asked again in this build, and said so once. False for an
   * interrupted build, whose abort must reach the scheduler.
   */
  #failed(store: CacheStore, error: unknown): boolean {
    if (this.#signal.aborted) return false;
    this.#disabled.add(store);
    const problem = error instanceof CacheStoreError ? error.problem : 'other';
    const message = error instanceof Error ? error.message : String(error);
    this.#warn(
      `cache ${store.name} ${problem === 'other' ? 'failed' : `is ${problem === 'denied' ? 'denying access' : problem}`}: ${message}; going on without it`,
    );
    return true;
  }
}

function sameRecord(a: Record<string, string | null>, b: Record<string, string | null>): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((k) => b[k] === a[k]);
}
