import { readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from './atomic.js';
import type { FileRecord } from './file-state.js';
import { keyToFileName, type TargetKey } from './key.js';
import type { Json } from './target.js';

export const STAMP_VERSION = 1;

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
  /** For each input spec (by its joined patterns), the root-relative files it matched. */
  matches: Record<string, string[]>;
  /** Every file read: matched inputs and files recorded during the run (root-relative). */
  files: Record<string, FileRecord>;
  /** Declared outputs as written (root-relative). Directories are flattened to their files. */
  outputs: Record<string, FileRecord>;
  value?: Json;
  /** Hash of outputs and value: what dependents see. Equal after a rerun → early cutoff. */
  outputHash: string;
  builtAt: string;
  durationMs: number;
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
      return (stamp.version as number) === STAMP_VERSION && stamp.key === key ? stamp : undefined;
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
