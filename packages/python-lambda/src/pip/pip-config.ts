import { readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

/**
 * pip's own configuration, read the way pip reads it, so that lbuild can apply the settings that
 * choose packages itself (and fingerprint them) instead of letting pip read them behind its back.
 *
 * Why not ask pip (`pip config debug`)? That starts Python on every check of an up-to-date
 * wheelhouse (a no-op build starts none today), and still leaves the merging of sections and
 * variables to lbuild. The file search is short and documented
 * (https://pip.pypa.io/en/stable/topics/configuration/), and a unit test compares this list with
 * `pip config debug` of the installed pip under several environments.
 */

/** Where one setting came from, for messages: a variable, or a file and its section. */
export type PipConfigOrigin =
  { kind: 'variable'; name: string } | { kind: 'file'; file: string; section: string };

export interface PipConfigValue {
  value: string;
  origin: PipConfigOrigin;
}

export interface PipConfigFile {
  path: string;
  /** pip's name for the level: `global`, `user`, `site` or `env` (PIP_CONFIG_FILE). */
  level: 'global' | 'user' | 'site' | 'env';
  exists: boolean;
}

export interface PipConfiguration {
  /** The files pip would consider, in loading order (later ones win within a section). */
  files: PipConfigFile[];
  /** Effective values by option name (`index-url`, `find-links`, …), after pip's precedence. */
  values: Map<string, PipConfigValue>;
}

export interface ReadPipConfigOptions {
  env: Readonly<Record<string, string | undefined>>;
  /** `sys.prefix` of the build Python: the site configuration lives there. */
  prefix: string | undefined;
  /** The pip command lbuild runs (`download` or `wheel`): its section overrides `[global]`. */
  command: string;
  /** `process.platform` of the build machine (default: this one). */
  platform?: NodeJS.Platform | undefined;
}

/** The config file name: `pip.ini` on Windows, `pip.conf` elsewhere. */
function basename(platform: NodeJS.Platform): string {
  return platform === 'win32' ? 'pip.ini' : 'pip.conf';
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

function fileExists(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** `os.path.expanduser("~")`: HOME when set, else the account's home directory. */
function home(env: ReadPipConfigOptions['env']): string {
  return env.HOME !== undefined && env.HOME !== '' ? env.HOME : homedir();
}

/**
 * pip's `get_configuration_files()` plus the PIP_CONFIG_FILE rules of `iter_config_files()`:
 * global files (XDG_CONFIG_DIRS, default /etc/xdg, then /etc), the user's files (~/.pip and
 * XDG_CONFIG_HOME, default ~/.config; skipped when PIP_CONFIG_FILE names an existing file), the
 * site file in `sys.prefix`, and PIP_CONFIG_FILE last. PIP_CONFIG_FILE=/dev/null loads none.
 */
export function pipConfigFiles(opts: ReadPipConfigOptions): PipConfigFile[] {
  const platform = opts.platform ?? process.platform;
  const env = opts.env;
  const name = basename(platform);
  const configFile = env.PIP_CONFIG_FILE;
  if (configFile === '/dev/null' || (platform === 'win32' && configFile === 'nul')) return [];
  const global: string[] = [];
  const user: string[] = [];
  if (platform === 'darwin') {
    global.push(join('/Library/Application Support/pip', name));
    user.push(join(home(env), '.pip', name));
    const appSupport = join(home(env), 'Library/Application Support/pip');
    user.push(join(isDirectory(appSupport) ? appSupport : join(home(env), '.config/pip'), name));
  } else if (platform === 'win32') {
    const programData = env.PROGRAMDATA ?? 'C:\\ProgramData';
    global.push(join(programData, 'pip', name));
    user.push(join(home(env), 'pip', name));
    user.push(join(env.APPDATA ?? join(home(env), 'AppData', 'Roaming'), 'pip', name));
  } else {
    const configDirs = env.XDG_CONFIG_DIRS ?? '';
    const dirs = configDirs.trim() === '' ? '/etc/xdg' : configDirs;
    for (const dir of dirs.split(':')) global.push(join(dir, 'pip', name));
    global.push(join('/etc', name));
    user.push(join(home(env), '.pip', name));
    const configHome = (env.XDG_CONFIG_HOME ?? '').trim();
    user.push(join(configHome === '' ? join(home(env), '.config') : configHome, 'pip', name));
  }
  const files: PipConfigFile[] = global.map((path) => ({
    path,
    level: 'global',
    exists: fileExists(path),
  }));
  const configFileExists = configFile !== undefined && configFile !== '' && fileExists(configFile);
  if (!configFileExists)
    files.push(...user.map((path) => ({ path, level: 'user' as const, exists: fileExists(path) })));
  if (opts.prefix !== undefined) {
    const site = join(opts.prefix, name);
    files.push({ path: site, level: 'site', exists: fileExists(site) });
  }
  if (configFile !== undefined && configFile !== '')
    files.push({ path: configFile, level: 'env', exists: configFileExists });
  return files;
}

/** pip's `_normalize_name`: lower case, `_` as `-`, without a leading `--`. */
export function normalizeOptionName(name: string): string {
  let key = name.toLowerCase().replace(/_/g, '-');
  if (key.startsWith('--')) key = key.slice(2);
  return key;
}

/**
 * The sections and options of an INI file as Python's RawConfigParser (pip's reader) sees them:
 * `key = value` or `key: value`, keys case-insensitive, whole-line `#`/`;` comments, and
 * indented lines continuing the value before them (how `extra-index-url` lists are written).
 * Values keep their `#` (configparser has no inline comments by default). A malformed file
 * makes pip stop with an error; here its readable part counts and pip reports the rest.
 */
export function parseIni(text: string): Map<string, Map<string, string>> {
  const sections = new Map<string, Map<string, string>>();
  let current: Map<string, string> | undefined;
  let lastKey: string | undefined;
  for (const rawLine of text.replace(/^\uFEFF/, '').split(/\r?\n/)) {
    const stripped = rawLine.trim();
    const indented = /^\s/.test(rawLine);
    // Blank lines inside a value change nothing: pip splits lists on whitespace.
    if (stripped === '' || stripped.startsWith('#') || stripped.startsWith(';')) continue;
    if (indented && current !== undefined && lastKey !== undefined) {
      current.set(lastKey, `${current.get(lastKey) ?? ''}\n${stripped}`);
      continue;
    }
    const header = /^\[([^\]]+)\]/.exec(stripped);
    if (header !== null) {
      const name = header[1] ?? '';
      current = sections.get(name) ?? new Map<string, string>();
      sections.set(name, current);
      lastKey = undefined;
      continue;
    }
    const option = /^([^=:]+?)\s*[=:]\s*(.*)$/.exec(stripped);
    if (option === null || current === undefined) {
      lastKey = undefined;
      continue;
    }
    lastKey = (option[1] ?? '').toLowerCase();
    current.set(lastKey, (option[2] ?? '').trim());
  }
  // [DEFAULT] values belong to every section, as in configparser.
  const defaults = sections.get('DEFAULT');
  if (defaults !== undefined) {
    sections.delete('DEFAULT');
    for (const section of sections.values())
      for (const [key, value] of defaults) if (!section.has(key)) section.set(key, value);
  }
  return sections;
}

/**
 * The effective pip configuration for `command`, with pip's precedence: `[global]` of every
 * file (later files win), then `[command]` of every file, then PIP_* variables. The files
 * themselves are read here and nowhere else; their values may hold credentials.
 */
export function readPipConfiguration(opts: ReadPipConfigOptions): PipConfiguration {
  const files = pipConfigFiles(opts);
  const bySection = new Map<string, Map<string, PipConfigValue>>();
  for (const file of files) {
    if (!file.exists) continue;
    let text: string;
    try {
      text = readFileSync(file.path, 'utf8');
    } catch {
      continue;
    }
    for (const [section, options] of parseIni(text)) {
      const target = bySection.get(section) ?? new Map<string, PipConfigValue>();
      bySection.set(section, target);
      for (const [key, value] of options) {
        target.set(normalizeOptionName(key), {
          value,
          origin: { kind: 'file', file: file.path, section },
        });
      }
    }
  }
  const values = new Map<string, PipConfigValue>();
  for (const section of ['global', opts.command]) {
    for (const [key, value] of bySection.get(section) ?? []) values.set(key, value);
  }
  for (const [name, value] of Object.entries(opts.env)) {
    if (value === undefined || !name.startsWith('PIP_') || name === 'PIP_CONFIG_FILE') continue;
    values.set(normalizeOptionName(name.slice('PIP_'.length)), {
      value,
      origin: { kind: 'variable', name },
    });
  }
  return { files, values };
}

/** pip's `strtobool`, for flags such as `no-index`. */
export function pipBoolean(value: string): boolean | undefined {
  const v = value.trim().toLowerCase();
  if (['y', 'yes', 't', 'true', 'on', '1'].includes(v)) return true;
  if (['n', 'no', 'f', 'false', 'off', '0'].includes(v)) return false;
  return undefined;
}

/** pip splits list options (`extra-index-url`, `find-links`, …) from config on whitespace. */
export function pipList(value: string): string[] {
  return value.split(/\s+/).filter((part) => part !== '');
}

/** `PIP_INDEX_URL`, or `/etc/pip.conf [global]`: where a setting came from, for people. */
export function describeOrigin(origin: PipConfigOrigin): string {
  return origin.kind === 'variable' ? origin.name : `${origin.file} [${origin.section}]`;
}
