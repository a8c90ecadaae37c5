import { createHash } from 'node:crypto';
import { stableStringify } from '../hash.js';
import type { Json } from '../target.js';

/**
 * The version of how keys are made: bumped when what enters a key, or how, changes, so that no
 * entry made under the old rules is ever taken for a new one.
 */
export const CACHE_KEY_VERSION = 1;

/**
 * What a target's outputs depend on, as far as it is known before it runs. Nothing here may name
 * this machine: paths are relative to the project root, and the recipe is the plugin's portable
 * part of it (TargetDefinition.cache.recipe).
 */
export interface StaticKeyFacts {
  kind: string;
  recipe: Json;
  /** Each declared input: content hash and execute bit, by root-relative path. */
  inputs: Record<string, { hash: string; exec: boolean }>;
  /** The files each input spec matched (by spec id), as the run gets them in groups. */
  matches: Record<string, readonly string[]>;
  /** Each dependency's output hash, by target key. */
  deps: Record<string, string>;
}

export function staticKey(facts: StaticKeyFacts): string {
  return sha256Hex(stableStringify({ version: CACHE_KEY_VERSION, ...facts }));
}

/**
 * The key of the outputs once the files a run snapshotted are known: the static key and those
 * files' current contents (null for one that was absent), by root-relative path.
 *
 * Why two levels are sound (as in Shake's cloud cache): a run is a function of its static facts
 * and of the contents of the files it reads, and it reads every file of the project through
 * declared inputs or `ctx.snapshot` (the rule its stamp already relies on). Which file it reads
 * next is decided by what it has read so far. So if every file a recorded run snapshotted has
 * the same content now, a run now would make the same choices, read the same files and produce
 * the same outputs. The list stored under the static key is the recorded run's; the paths enter
 * this key with their contents, so an entry made from another list can never be found this way.
 */
export function dynamicKey(staticKey: string, contents: Record<string, string | null>): string {
  return sha256Hex(stableStringify({ version: CACHE_KEY_VERSION, staticKey, contents }));
}

function sha256Hex(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
