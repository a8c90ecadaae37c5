import { readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from './atomic.js';
import { isFileTable, type FileTable } from './file-table.js';
import { keyToFileName, type TargetKey } from './key.js';
import type { Json } from './target.js';

/**
 * 2: file records in columns ({@link FileTable}), matches as row numbers. A stamp of any other
 * version is read as no stamp, so the target runs once and writes one of this version.
 */
export const STAMP_VERSION = 2;

/**
 * A verifying trace (Build Systems à la Carte): the hashes of everything a successful run read
 * and of everything it produced. The target is up to date while every one of them still holds.
 * Written atomically, and only after the run succeeded.
 */
export interface Stamp {
  version: typeof STAMP_VERSION;
  key: TargetKey;
  /** Hash of the recipe; `recipe` keeps the fields so `--explain` can name the one that changed. */
  recipeHash: string;
  recipe: Record<string, string>;
  /** Each dependency's output hash as this run saw it. */
  deps: Record<TargetKey, string>;
  /**
   * For each input spec (by its joined patterns), the files it matched, in order: each a row of
   * `files` (a matched file is always one the run read), so no path is stored twice.
   */
  matches: Record<string, number[]>;
  /** Every file read: matched inputs and files recorded during the run (root-relative). */
  files: FileTable;
  /** Declared outputs as written (root-relative). Directories are flattened to their files. */
  outputs: FileTable;
  value?: Json;
  /** Hash of outputs and value: what dependents see. Equal after a rerun → early cutoff. */
  outputHash: string;
  builtAt: string;
  durationMs: number;
  /**
   * The outputs were found in the shared cache under this entry key and left there, because
   * nothing in that build read them ("build without the bytes"): `outputs` is empty and the
   * declared outputs are absent. See Scheduler.#materialise for why this hides nothing stale.
   */
  notMaterialised?: { entryKey: string };
}

/** The paths a stamp's spec matched, or undefined when the stamp has no such spec. */
export function matchedPaths(stamp: Stamp, id: string): string[] | undefined {
  return stamp.matches[id]?.map((row) => stamp.files.paths[row] as string);
}

/** A stamp's `matches` for per-spec path lists, as rows of its `files`. */
export function matchRows(
  files: FileTable,
  matches: Record<string, readonly string[]>,
): Record<string, number[]> {
  const rows = new Map(files.paths.map((path, i) => [path, i]));
  const out: Record<string, number[]> = {};
  for (const [id, paths] of Object.entries(matches)) {
    out[id] = paths.map((path) => {
      const row = rows.get(path);
      if (row === undefined) throw new Error(`stamp: matched file ${path} has no record`);
      return row;
    });
  }
  return out;
}

function wellFormed(stamp: Stamp, key: TargetKey): boolean {
  if ((stamp.version as number) !== STAMP_VERSION || stamp.key !== key) return false;
  if (!isFileTable(stamp.files) || !isFileTable(stamp.outputs)) return false;
  const rows = stamp.files.paths.length;
  const matches = stamp.matches as unknown;
  if (typeof matches !== 'object' || matches === null) return false;
  return Object.values(matches).every(
    (list) =>
      Array.isArray(list) && list.every((row) => Number.isInteger(row) && row >= 0 && row < rows),
  );
}

export class StampStore {
  readonly #dir: string;

  constructor(stateRoot: string) {
    this.#dir = join(stateRoot, 'stamps');
  }

  path(key: TargetKey): string {
    return join(this.#dir, keyToFileName(key) + '.json');
  }

  /** A stamp from another version of lbuild, or a torn file, is treated as absent. */
  read(key: TargetKey): Stamp | undefined {
    let text: string;
    try {
      text = readFileSync(this.path(key), 'utf8');
    } catch {
      return undefined;
    }
    try {
      const stamp = JSON.parse(text) as Stamp;
      // A stamp written by another version of lbuild has another shape: treat it as absent.
      return wellFormed(stamp, key) ? stamp : undefined;
    } catch {
      return undefined;
    }
  }

  async write(stamp: Stamp): Promise<void> {
    await writeFileAtomic(this.path(stamp.key), JSON.stringify(stamp));
  }

  async remove(key: TargetKey): Promise<void> {
    await rm(this.path(key), { force: true });
  }
}
