import type * as z from 'zod/mini';
import type { SourceLocation } from './failure.js';
import type { TargetKey } from './key.js';
import type { StatePaths } from './state-paths.js';
import type { TargetDefinition } from './target.js';

/** What a plugin gets for one entry of its table, e.g. `[bundle.api]`. */
export interface PluginEntry<C> {
  /** The entry's name: `api` in `[bundle.api]`. */
  name: string;
  /** The validated entry. */
  config: C;
  /** Absolute project root. */
  root: string;
  /** Absolute path of the config file. */
  configFile: string;
  /** Where a key of this entry was written, for errors that point into the file. */
  readonly location: (...keys: string[]) => SourceLocation;
  /** Where the engine keeps target state and caches: a plugin's paths there come from here. */
  readonly statePaths: StatePaths;
}

export interface PluginTargets {
  targets: TargetDefinition[];
  /** Names a user may type for a target: `api` → `api:zip`. */
  aliases?: Record<string, TargetKey>;
}

/**
 * A kind of target contributed by a package: it owns one top-level table of the config file
 * and turns each entry into targets. The engine knows nothing about what the targets do.
 */
export interface Plugin<C = unknown> {
  /** The table it owns: `bundle` for `[bundle.NAME]`. */
  table: string;
  /** One line for the JSON Schema and `lbuild graph`. */
  description: string;
  /** Validates one entry. Use `zod/mini`: it loads in a fraction of the time of full zod. */
  schema: z.ZodMiniType<C>;
  /**
   * The targets of one entry. `table` is every entry of the plugin's table in file order (this
   * one included, the same array for each call of one load), so that entries whose work is the
   * same can share one target: one entry defines it, the others alias their own key to it.
   */
  targets(entry: PluginEntry<C>, table: readonly PluginEntry<C>[]): PluginTargets;
}

/** Helps plugin authors keep the entry type and schema together. */
export function definePlugin<C>(plugin: Plugin<C>): Plugin<C> {
  return plugin;
}
