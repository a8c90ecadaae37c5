import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import * as z from 'zod/mini';
import { commandTarget } from '../command-target.js';
import { configError, LbuildError, type Failure, type SourceLocation } from '../failure.js';
import { TargetGraph } from '../graph.js';
import type { TargetKey } from '../key.js';
import type { Plugin, PluginEntry } from '../plugin.js';
import { statePaths } from '../state-paths.js';
import type { TargetDefinition } from '../target.js';
import { describeIssues } from './issues.js';
import { locateKey, splitKey } from './locate.js';
import {
  cacheSettingsSchema,
  commandTargetSchema,
  TARGET_NAME,
  type CacheSettings,
} from './schema.js';

export const CONFIG_FILE = 'lbuild.toml';

export interface ConfigFile {
  /** Absolute project root: the directory that holds the file. */
  root: string;
  /** Absolute path of lbuild.toml or pyproject.toml. */
  file: string;
  /** Key path of the lbuild table inside the file: [] or ['tool', 'lbuild']. */
  prefix: string[];
  source: string;
  /** The lbuild table, parsed but not yet validated. */
  data: Record<string, unknown>;
}

export interface Project {
  root: string;
  config: ConfigFile;
  graph: TargetGraph;
  /** Targets built when none are named. */
  defaults: TargetKey[];
  /** `[cache]` as the file says (the CLI lays the environment over it), and where each key is. */
  cache?: CacheSettings & { location: (key: keyof CacheSettings) => SourceLocation };
}

/**
 * Finds the project's config: `lbuild.toml`, or a `[tool.lbuild]` table in `pyproject.toml`, in
 * `start` or the nearest directory above it (so lbuild works from a subdirectory, like git).
 */
export async function findConfig(start: string): Promise<ConfigFile> {
  let dir = resolve(start);
  for (;;) {
    const found =
      (await readConfig(join(dir, CONFIG_FILE), [])) ??
      (await readConfig(join(dir, 'pyproject.toml'), ['tool', 'lbuild']));
    if (found) return found;
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  throw configError(
    'no-config',
    `no ${CONFIG_FILE} (or pyproject.toml with a [tool.lbuild] table) in ${resolve(start)} or any directory above it`,
    {
      hint: `create ${CONFIG_FILE} in the project root, or run lbuild with -C <project directory>`,
    },
  );
}

async function readConfig(file: string, prefix: string[]): Promise<ConfigFile | undefined> {
  let source: string;
  try {
    source = readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  const { parse, TomlError } = await import('smol-toml');
  let parsed: Record<string, unknown>;
  try {
    parsed = parse(source);
  } catch (error) {
    if (error instanceof TomlError) {
      const explained = explainTomlError(error, source, file, prefix);
      if (explained) throw explained;
      const reason =
        error.message.split('\n')[0]?.replace(/^Invalid TOML document: /, '') ?? 'syntax error';
      throw configError('malformed-toml', `${relativeName(file)} is not valid TOML: ${reason}`, {
        hint: 'fix the syntax at the position shown (TOML reference: https://toml.io)',
        location: { file, line: error.line, column: error.column },
      });
    }
    throw error;
  }
  let data: unknown = parsed;
  for (const key of prefix) data = (data as Record<string, unknown> | undefined)?.[key];
  if (data === undefined) return undefined;
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    throw configError(
      'invalid-config',
      `[${prefix.join('.')}] in ${relativeName(file)} must be a table`,
      {
        location: { file, key: prefix.join('.'), ...locateKey(source, prefix) },
      },
    );
  }
  return { root: dirname(file), file, prefix, source, data: data as Record<string, unknown> };
}

/**
 * Two slips whose TOML parser wording misleads: a table header written twice (for
 * `[target.NAME]`, a duplicate target) and a string not closed on its line.
 */
function explainTomlError(
  error: { message: string; line: number; column: number },
  source: string,
  file: string,
  prefix: string[],
): LbuildError | undefined {
  const text = source.split(/\r?\n/)[error.line - 1] ?? '';
  const name = relativeName(file);
  const header = /^\s*\[\s*([^[\]]+?)\s*\]\s*(?:#.*)?$/.exec(text)?.[1];
  if (error.message.includes('redefine') && header) {
    const keys = splitKey(header);
    const first = locateKey(source, keys)?.line;
    const location = { file, line: error.line, column: text.indexOf('[') + 1, key: keys.join('.') };
    const since = first !== undefined && first !== error.line ? ` (first at line ${first})` : '';
    const inner = keys.slice(prefix.length);
    if (
      keys.length === prefix.length + 2 &&
      prefix.every((k, i) => keys[i] === k) &&
      inner[0] === 'target'
    ) {
      return configError(
        'duplicate-target',
        `duplicate target \`${inner[1] ?? ''}\`: [${header}] is defined twice in ${name}`,
        {
          hint: `target names must be unique${since}: rename one of them, or merge the two tables`,
          location,
        },
      );
    }
    return configError('malformed-toml', `[${header}] is defined twice in ${name}`, {
      hint: `merge the two tables${since}`,
      location,
    });
  }
  if (
    error.message.includes('control characters are not allowed in strings') &&
    error.column > text.length
  ) {
    return configError('malformed-toml', `${name} is not valid TOML: unterminated string`, {
      hint: 'close the string on the line where it starts, with the quote it opened with (a string of several lines uses """)',
      location: { file, line: error.line, column: error.column },
    });
  }
  return undefined;
}

function relativeName(file: string): string {
  return file.split('/').slice(-1)[0] ?? file;
}

/**
 * The schema of the lbuild table. `absentTables` are tables of plugins that were not loaded
 * because the file does not use them: they are known keys (so `[bundel.x]` still gets "did you
 * mean `bundle`?") without their schemas.
 */
export function rootSchema(plugins: readonly Plugin[], absentTables: readonly string[] = []) {
  const shape: Record<string, z.core.$ZodType> = {
    default: z.optional(z.array(z.string())),
    target: z.optional(z.record(z.string(), commandTargetSchema)),
    cache: z.optional(cacheSettingsSchema),
  };
  for (const table of absentTables) shape[table] = z.optional(z.never());
  for (const plugin of plugins)
    shape[plugin.table] = z.optional(z.record(z.string(), plugin.schema));
  return z.strictObject(shape);
}

/**
 * A plugin whose module is loaded only when the config has its table: a project of plain
 * `[target]`s never evaluates the bundle or deploy code (or their schemas) on a no-op check.
 */
export interface LazyPlugin {
  table: string;
  load: () => Promise<Plugin>;
}

export type PluginSource = Plugin | LazyPlugin;

function isLazy(source: PluginSource): source is LazyPlugin {
  return 'load' in source;
}

/** Loads the plugins whose tables `data` uses; names the tables of the others. */
export async function resolvePlugins(
  sources: readonly PluginSource[],
  data: Record<string, unknown>,
): Promise<{ plugins: Plugin[]; absentTables: string[] }> {
  const plugins: Plugin[] = [];
  const absentTables: string[] = [];
  for (const source of sources) {
    if (!isLazy(source)) plugins.push(source);
    else if (data[source.table] !== undefined) plugins.push(await source.load());
    else absentTables.push(source.table);
  }
  return { plugins, absentTables };
}

/** The JSON Schema of the whole config file, for editors (published in the repository). */
export function configJsonSchema(plugins: readonly Plugin[]): Record<string, unknown> {
  return z.toJSONSchema(rootSchema(plugins), { unrepresentable: 'any' });
}

/** Loads, validates and turns a config into the target graph. */
export async function loadProject(
  start: string,
  sources: readonly PluginSource[],
): Promise<Project> {
  const config = await findConfig(start);
  const { plugins, absentTables } = await resolvePlugins(sources, config.data);
  return projectFromConfig(config, plugins, absentTables);
}

export function projectFromConfig(
  config: ConfigFile,
  plugins: readonly Plugin[],
  absentTables: readonly string[] = [],
): Project {
  const locate = (keys: readonly (string | number)[]): SourceLocation => {
    const full = [...config.prefix, ...keys.map(String)];
    return { file: config.file, key: full.join('.'), ...locateKey(config.source, full) };
  };
  const schema = rootSchema(plugins, absentTables);
  const parsed = schema.safeParse(config.data);
  if (!parsed.success) {
    const failures: Failure[] = describeIssues(
      parsed.error.issues,
      schema,
      config.data,
      config.prefix,
    ).map((issue) => ({
      reason: issue.message.startsWith('unknown key') ? 'unknown-key' : 'invalid-config',
      message: issue.message,
      kind: 'config',
      location: locate(issue.path),
      ...(issue.hint ? { hint: issue.hint } : {}),
    }));
    const [first, ...others] = failures;
    if (first) throw new LbuildError(others.length ? { ...first, others } : first);
  }
  const data = (parsed.data ?? {}) as Record<
    string,
    Record<string, unknown> | string[] | undefined
  >;

  const definitions: TargetDefinition[] = [];
  const aliases = new Map<string, TargetKey>();
  /** The table entry that made each alias, `bundle.api`, for a clash between two tables. */
  const aliasOwners = new Map<string, string>();
  const paths = statePaths(config.root);
  const entryOf = <C>(table: string, name: string, value: C): PluginEntry<C> => {
    if (!TARGET_NAME.test(name)) {
      throw configError('invalid-name', `invalid name \`${name}\` in [${table}.${name}]`, {
        hint: 'names start with a letter or digit and use only letters, digits, ".", "_" and "-"',
        location: locate([table, name]),
      });
    }
    return {
      name,
      config: value,
      root: config.root,
      configFile: config.file,
      location: (...keys: string[]) => locate([table, name, ...keys]),
      statePaths: paths,
    };
  };
  const targets = (data.target ?? {}) as Record<string, z.infer<typeof commandTargetSchema>>;
  for (const [name, value] of Object.entries(targets))
    definitions.push(commandTarget(entryOf('target', name, value)));
  for (const plugin of plugins) {
    const table = (data[plugin.table] ?? {}) as Record<string, unknown>;
    const entries = Object.entries(table).map(([name, value]) =>
      entryOf(plugin.table, name, value),
    );
    for (const entry of entries) {
      const { name } = entry;
      const made = plugin.targets(entry, entries);
      definitions.push(...made.targets);
      for (const [alias, key] of Object.entries(made.aliases ?? {})) {
        const owner = targets[alias] !== undefined ? `target.${alias}` : aliasOwners.get(alias);
        if (owner !== undefined) {
          throw configError(
            'duplicate-target',
            `duplicate target \`${alias}\`: [${owner}] and [${plugin.table}.${name}]`,
            {
              hint: `\`${alias}\` is defined by more than one table; names must be unique across [target], [bundle], [layer] and other tables: rename one of them`,
              location: locate([plugin.table, name]),
            },
          );
        }
        aliases.set(alias, key);
        aliasOwners.set(alias, `${plugin.table}.${name}`);
      }
    }
  }
  const graph = new TargetGraph(definitions, aliases);
  const defaults = (data.default as string[] | undefined)?.map((name, i) => {
    try {
      return graph.resolve(name);
    } catch (error) {
      if (error instanceof LbuildError)
        throw new LbuildError({ ...error.failure, location: locate(['default', i]) });
      throw error;
    }
  });
  const cache = data.cache as CacheSettings | undefined;
  return {
    root: config.root,
    config,
    graph,
    defaults: defaults ?? graph.defaultTargets(),
    ...(cache ? { cache: { ...cache, location: (key) => locate(['cache', key]) } } : {}),
  };
}
