import { readFile, stat } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { configError } from '@lbuild/core';
import type { IndexOptions } from './index-options.js';
import { isUrl, stripCredentials, stripCredentialsInText } from './index-options.js';

/** An option on a requirements line, in its canonical long spelling. */
export interface RequirementOption {
  /** e.g. `--hash`, `--find-links`, `--requirement`. */
  name: string;
  /** As written (unexpanded `${VARS}` included); undefined for flags. */
  value?: string | undefined;
  /** For `--requirement`, `--constraint` and local `--find-links`: the absolute path. */
  path?: string | undefined;
}

/** A local path requirement (`./pkg`, `file:…`, `name @ file:///…`, `-e ./pkg`). */
export interface LocalRequirement {
  /** Absolute path of the project directory or archive. */
  path: string;
  /** A project directory (built into a wheel), or an archive file (a wheel, or an sdist to build). */
  type: 'directory' | 'archive';
  /** The name given with `name @ url`, if any. */
  name?: string | undefined;
  /** Extras, e.g. `['s3']` for `./pkg[s3]`. */
  extras: string[];
  /** The environment marker after `;`, if any. */
  marker?: string | undefined;
  /** Written with `-e`/`--editable` (built as a normal wheel: Lambda has no editable installs). */
  editable: boolean;
  /** As written in the file. */
  spec: string;
  /** Where it is written. */
  file: string;
  line: number;
}

/** One logical line of a requirements file (continuations joined, comment removed). */
export interface RequirementLine {
  /** Absolute path of the file, and the 1-based line where the logical line starts. */
  file: string;
  line: number;
  /**
   * Normalised for fingerprints and messages: whitespace collapsed, options in canonical long
   * form, credentials stripped from URLs (a rotated token changes nothing). `${VARS}` stay
   * unexpanded.
   */
  text: string;
  /** The line as written. May contain credentials: never log or fingerprint it. */
  raw: string;
  /** The requirement on a requirement line or after `-e`, as written. */
  requirement?: string | undefined;
  options: RequirementOption[];
  /** The line comes from a constraints file (`-c`). */
  constraint: boolean;
  /** For `-r`/`-c` lines: the included file. */
  include?: { path: string; constraint: boolean } | undefined;
  /** For local path requirements. */
  local?: LocalRequirement | undefined;
}

/** What lbuild needs to know about a requirements file and everything it includes. */
export interface Requirements {
  /** The top-level file, absolute. */
  file: string;
  /** The directory relative paths of local requirements are resolved against (pip's cwd). */
  cwd: string;
  /** Every file read: the file itself and its `-r`/`-c` includes, recursively, in reading order. */
  files: string[];
  /** Every logical line, in pip's reading order (includes expanded where they appear). */
  lines: RequirementLine[];
  /** The normalised text of the requirement lines (not options, not constraints). */
  requirements: string[];
  /** Local path requirements, one per path, in order of first appearance. */
  localPaths: LocalRequirement[];
  /**
   * Index options written inside the files, credentials stripped (pip reads the real values from
   * the files themselves); local find-links as absolute paths.
   */
  index: IndexOptions;
  /** Any `--hash` or `--require-hashes`: pip then checks hashes of everything it installs. */
  usesHashes: boolean;
}

export interface ReadRequirementsOptions {
  /**
   * What relative local paths (`./pkg`) are relative to: like pip, the directory pip runs in,
   * which for lbuild is the project root. Default: the directory of the top-level file.
   * (`-r`/`-c` includes and `--find-links` are relative to the file that names them, as in pip.)
   */
  cwd?: string | undefined;
  /** For `${VAR}` in paths; default `process.env`. */
  env?: Readonly<Record<string, string | undefined>> | undefined;
  /**
   * Awaited before each file (the top-level one and every include) is read: a build snapshots
   * it here, so the trace holds the content that was parsed, not what the file held later.
   */
  beforeRead?: ((path: string) => Promise<void>) | undefined;
}

interface OptionSpec {
  name: string;
  takesValue: boolean;
}

const OPTION_SPECS: readonly OptionSpec[] = [
  { name: '--requirement', takesValue: true },
  { name: '--constraint', takesValue: true },
  { name: '--editable', takesValue: true },
  { name: '--index-url', takesValue: true },
  { name: '--extra-index-url', takesValue: true },
  { name: '--no-index', takesValue: false },
  { name: '--find-links', takesValue: true },
  { name: '--no-binary', takesValue: true },
  { name: '--only-binary', takesValue: true },
  { name: '--prefer-binary', takesValue: false },
  { name: '--require-hashes', takesValue: false },
  { name: '--pre', takesValue: false },
  { name: '--trusted-host', takesValue: true },
  { name: '--use-feature', takesValue: true },
  { name: '--hash', takesValue: true },
  { name: '--global-option', takesValue: true },
  { name: '--install-option', takesValue: true },
  { name: '--config-settings', takesValue: true },
];
const SHORT_OPTIONS: Readonly<Record<string, string>> = {
  '-r': '--requirement',
  '-c': '--constraint',
  '-e': '--editable',
  '-i': '--index-url',
  '-f': '--find-links',
  '-C': '--config-settings',
};
const LONG_OPTIONS = new Map(OPTION_SPECS.map((spec) => [spec.name, spec]));

const ARCHIVE = /\.(whl|zip|tar\.gz|tgz|tar\.bz2|tbz|tar\.xz|txz|tar)$/i;
const COMMENT = /(^|\s+)#.*$/;

/** Expands `${VAR}` (upper case, digits, underscore) like pip; unknown variables stay. */
export function expandEnv(text: string, env: Readonly<Record<string, string | undefined>>): string {
  return text.replace(/\$\{([A-Z0-9_]+)\}/g, (whole, name: string) => env[name] ?? whole);
}

/** POSIX shell-like splitting (quotes, backslashes), as pip does for option parts of a line. */
export function shellSplit(text: string): string[] {
  const tokens: string[] = [];
  let current = '';
  let inToken = false;
  let quote: '"' | "'" | undefined;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charAt(i);
    if (quote === "'") {
      if (ch === "'") quote = undefined;
      else current += ch;
    } else if (quote === '"') {
      if (ch === '"') quote = undefined;
      else if (ch === '\\' && i + 1 < text.length && '"\\$`'.includes(text.charAt(i + 1)))
        current += text.charAt(++i);
      else current += ch;
    } else if (ch === "'" || ch === '"') {
      quote = ch;
      inToken = true;
    } else if (ch === '\\' && i + 1 < text.length) {
      current += text.charAt(++i);
      inToken = true;
    } else if (/\s/.test(ch)) {
      if (inToken) tokens.push(current);
      current = '';
      inToken = false;
    } else {
      current += ch;
      inToken = true;
    }
  }
  if (inToken) tokens.push(current);
  return tokens;
}

/** Quotes a value for a requirements file line (read back with shell-like splitting). */
export function shellQuote(value: string): string {
  if (/^[A-Za-z0-9_@%+=:,./~-]+$/.test(value)) return value;
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/** pip's split of a line into the requirement and its options: options start at the first `-` token. */
function splitArgsOptions(line: string): { args: string; options: string } {
  const tokens = line.split(' ');
  const index = tokens.findIndex((token) => token.startsWith('-'));
  if (index === -1) return { args: line, options: '' };
  return { args: tokens.slice(0, index).join(' '), options: tokens.slice(index).join(' ') };
}

/** Joins `\`-continued lines and drops comments and blank lines, keeping the first line number. */
function logicalLines(text: string): { line: number; text: string }[] {
  const out: { line: number; text: string }[] = [];
  let pending: string[] = [];
  let start = 0;
  text.split(/\r\n|\n|\r/).forEach((physical, index) => {
    const isComment = /^\s*#/.test(physical);
    if (!physical.endsWith('\\') || isComment) {
      if (pending.length > 0) {
        pending.push(isComment ? '' : physical);
        out.push({ line: start, text: pending.join('') });
        pending = [];
      } else out.push({ line: index + 1, text: physical });
    } else {
      if (pending.length === 0) start = index + 1;
      pending.push(physical.slice(0, -1));
    }
  });
  if (pending.length > 0) out.push({ line: start, text: pending.join('') });
  return out
    .map((l) => ({ line: l.line, text: l.text.replace(COMMENT, '').trim() }))
    .filter((l) => l.text !== '');
}

function syntaxError(message: string, file: string, line: number) {
  return configError('requirements-syntax', message, {
    location: { file, line },
    hint: 'See https://pip.pypa.io/en/stable/reference/requirements-file-format/ for what pip accepts.',
  });
}

function parseOptions(text: string, file: string, line: number): RequirementOption[] {
  const tokens = shellSplit(text);
  const options: RequirementOption[] = [];
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i] ?? '';
    let name: string;
    let value: string | undefined;
    if (token.startsWith('--')) {
      const eq = token.indexOf('=');
      name = eq === -1 ? token : token.slice(0, eq);
      value = eq === -1 ? undefined : token.slice(eq + 1);
    } else if (token.startsWith('-') && token.length >= 2) {
      const long = SHORT_OPTIONS[token.slice(0, 2)];
      if (long === undefined)
        throw syntaxError(`Unknown option ${token} in ${file} line ${line}.`, file, line);
      name = long;
      value = token.length > 2 ? token.slice(2) : undefined;
    } else {
      throw syntaxError(`Unexpected ${JSON.stringify(token)} in ${file} line ${line}.`, file, line);
    }
    const spec = LONG_OPTIONS.get(name);
    if (spec === undefined)
      throw syntaxError(`Unknown option ${name} in ${file} line ${line}.`, file, line);
    if (spec.takesValue && value === undefined) {
      value = tokens[++i];
      if (value === undefined)
        throw syntaxError(`Option ${name} needs a value in ${file} line ${line}.`, file, line);
    }
    if (!spec.takesValue && value !== undefined) {
      throw syntaxError(`Option ${name} takes no value in ${file} line ${line}.`, file, line);
    }
    options.push({ name, value });
  }
  return options;
}

/** `file:` URL to a path; relative (`file:./pkg`) resolved against `cwd`, as pip does. */
function fileUrlToPath(url: string, cwd: string): string {
  const local = /^file:\/\/localhost\//i.test(url)
    ? `file:///${url.slice('file://localhost/'.length)}`
    : url;
  if (/^file:\/\//i.test(local)) return fileURLToPath(local);
  return resolve(cwd, decodeURIComponent(local.slice('file:'.length)));
}

interface Classified {
  /** Path as resolved (before the filesystem says what it is). */
  path: string;
  name?: string | undefined;
  extras: string[];
  marker?: string | undefined;
}

const DIRECT_REFERENCE =
  /^([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)\s*(\[[^\]]*\])?\s*@\s*(\S+)\s*(?:;\s*(.*))?$/;

function parseExtras(text: string | undefined): string[] {
  if (text === undefined) return [];
  return text
    .slice(1, -1)
    .split(',')
    .map((e) => e.trim())
    .filter((e) => e !== '');
}

/** Decides whether a requirement (or `-e` value) points at a local path; undefined if not. */
function classifyLocal(
  spec: string,
  cwd: string,
  env: Readonly<Record<string, string | undefined>>,
  editable: boolean,
): Classified | undefined {
  const direct = DIRECT_REFERENCE.exec(spec);
  if (direct !== null) {
    const url = expandEnv(direct[3] ?? '', env);
    if (!/^file:/i.test(url)) return undefined;
    return {
      path: fileUrlToPath(url, cwd),
      name: direct[1],
      extras: parseExtras(direct[2]),
      marker: direct[4]?.trim(),
    };
  }
  const expanded = expandEnv(spec, env);
  if (/^file:/i.test(expanded)) {
    const [url = '', marker] = expanded.split(/\s*;\s+/, 2);
    const match = /^(.*?)(\[[^\]]+\])?$/.exec(url.trim());
    return {
      path: fileUrlToPath(match?.[1] ?? url, cwd),
      extras: parseExtras(match?.[2]),
      marker: marker?.trim(),
    };
  }
  if (/^[a-zA-Z][a-zA-Z0-9+.-]*:\/\//.test(expanded) || /^(git|hg|svn|bzr)\+/.test(expanded))
    return undefined;
  const [pathPart = '', marker] = expanded.split(/\s*;\s*/, 2);
  const match = /^(.+?)(\[[^\]]+\])?$/.exec(pathPart.trim());
  const path = match?.[1] ?? pathPart;
  const looksLikePath = path.includes('/') || path.includes('\\') || path.startsWith('.');
  if (!looksLikePath && !editable && !ARCHIVE.test(path)) return undefined;
  return { path: resolve(cwd, path), extras: parseExtras(match?.[2]), marker: marker?.trim() };
}

async function statKind(path: string): Promise<'directory' | 'file' | undefined> {
  try {
    const s = await stat(path);
    return s.isDirectory() ? 'directory' : 'file';
  } catch {
    return undefined;
  }
}

async function isProjectDirectory(path: string): Promise<boolean> {
  const [pyproject, setup] = await Promise.all([
    statKind(join(path, 'pyproject.toml')),
    statKind(join(path, 'setup.py')),
  ]);
  return pyproject === 'file' || setup === 'file';
}

async function toLocalRequirement(
  classified: Classified,
  spec: string,
  editable: boolean,
  file: string,
  line: number,
): Promise<LocalRequirement> {
  const kind = await statKind(classified.path);
  if (kind === undefined) {
    throw configError(
      'local-requirement-not-found',
      `Local requirement ${spec} not found: ${classified.path} (${file} line ${line}).`,
      {
        location: { file, line },
        hint: 'Relative paths in a requirements file are relative to the project root, where lbuild runs pip.',
      },
    );
  }
  if (kind === 'directory' && !(await isProjectDirectory(classified.path))) {
    throw configError(
      'local-requirement-not-a-project',
      `Local requirement ${spec} (${classified.path}) has neither pyproject.toml nor setup.py (${file} line ${line}).`,
      {
        location: { file, line },
        hint: 'Point the requirement at the directory that holds the project’s pyproject.toml or setup.py.',
      },
    );
  }
  if (kind === 'file' && !ARCHIVE.test(classified.path)) {
    throw configError(
      'local-requirement-not-an-archive',
      `Local requirement ${spec} (${classified.path}) is a file but not a wheel or source archive (${file} line ${line}).`,
      { location: { file, line } },
    );
  }
  return {
    path: classified.path,
    type: kind === 'directory' ? 'directory' : 'archive',
    ...(classified.name === undefined ? {} : { name: classified.name }),
    extras: classified.extras,
    ...(classified.marker === undefined || classified.marker === ''
      ? {}
      : { marker: classified.marker }),
    editable,
    spec,
    file,
    line,
  };
}

function optionText(option: RequirementOption): string {
  return option.value === undefined ? option.name : `${option.name}=${option.value}`;
}

interface ParseState {
  cwd: string;
  env: Readonly<Record<string, string | undefined>>;
  files: string[];
  lines: RequirementLine[];
  stack: string[];
  beforeRead: ((path: string) => Promise<void>) | undefined;
}

async function parseFile(
  path: string,
  constraint: boolean,
  state: ParseState,
  includedFrom: { file: string; line: number; option: string } | undefined,
): Promise<void> {
  if (state.stack.includes(path)) {
    const where =
      includedFrom === undefined ? '' : ` (${includedFrom.file} line ${includedFrom.line})`;
    throw configError(
      'requirements-include-cycle',
      `Requirements file ${path} includes itself${where}: ${[...state.stack, path].join(' -> ')}.`,
      {
        ...(includedFrom === undefined
          ? {}
          : { location: { file: includedFrom.file, line: includedFrom.line } }),
      },
    );
  }
  let text: string;
  try {
    await state.beforeRead?.(path);
    text = await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT' && code !== 'ENOTDIR' && code !== 'EISDIR') throw error;
    if (includedFrom === undefined) {
      throw configError('requirements-not-found', `Requirements file not found: ${path}`, {
        hint: 'Check the requirements setting of the bundle in lbuild.toml (relative to the project root).',
      });
    }
    throw configError(
      'requirements-not-found',
      `Requirements file not found: ${path} (included with ${includedFrom.option} from ${includedFrom.file} line ${includedFrom.line})`,
      {
        location: { file: includedFrom.file, line: includedFrom.line },
        hint: `Paths after ${includedFrom.option} are relative to the file that names them.`,
      },
    );
  }
  if (!state.files.includes(path)) state.files.push(path);
  state.stack.push(path);
  const dir = dirname(path);
  for (const { line, text: raw } of logicalLines(text)) {
    const { args, options: optionPart } = splitArgsOptions(raw);
    const options = parseOptions(optionPart, path, line);
    const entry: RequirementLine = { file: path, line, text: '', raw, options, constraint };
    if (args.trim() !== '') {
      entry.requirement = args.trim();
      const classified = classifyLocal(entry.requirement, state.cwd, state.env, false);
      if (classified !== undefined)
        entry.local = await toLocalRequirement(classified, entry.requirement, false, path, line);
    }
    for (const option of options) {
      const value = option.value === undefined ? undefined : expandEnv(option.value, state.env);
      if (option.name === '--find-links' && value !== undefined && !isUrl(value)) {
        if (value.startsWith('file:')) option.path = fileUrlToPath(value, state.cwd);
        else {
          // pip: relative to the requirements file when that exists, else to the current directory.
          const nextToFile = resolve(dir, value);
          option.path =
            isAbsolute(value) || (await statKind(nextToFile)) !== undefined
              ? nextToFile
              : resolve(state.cwd, value);
        }
      }
      if (option.name === '--editable' && value !== undefined) {
        entry.requirement = option.value;
        const classified = classifyLocal(option.value ?? value, state.cwd, state.env, true);
        if (classified !== undefined)
          entry.local = await toLocalRequirement(
            classified,
            option.value ?? value,
            true,
            path,
            line,
          );
      }
    }
    const include = options.find((o) => o.name === '--requirement' || o.name === '--constraint');
    const textParts = [
      entry.requirement === undefined || entry.options.some((o) => o.name === '--editable')
        ? ''
        : entry.requirement.replace(/\s+/g, ' '),
    ];
    textParts.push(...options.map(optionText));
    entry.text = stripCredentialsInText(textParts.filter((p) => p !== '').join(' '));
    if (include?.value !== undefined) {
      const target = expandEnv(include.value, state.env);
      const isConstraint = include.name === '--constraint';
      if (isUrl(target)) {
        throw configError(
          'remote-requirements-file',
          `Remote requirements files are not supported: ${stripCredentials(target)} (${path} line ${line}).`,
          {
            location: { file: path, line },
            hint: 'Save the file in the project and include it by path, so lbuild can see when it changes.',
          },
        );
      }
      const targetPath = target.startsWith('file:')
        ? fileUrlToPath(target, dir)
        : resolve(dir, target);
      include.path = targetPath;
      entry.include = { path: targetPath, constraint: isConstraint };
      state.lines.push(entry);
      await parseFile(targetPath, isConstraint, state, {
        file: path,
        line,
        option: include.name === '--requirement' ? '-r' : '-c',
      });
      continue;
    }
    state.lines.push(entry);
  }
  state.stack.pop();
}

/**
 * Reads a pip requirements file and everything it includes, for the wheelhouse's inputs and
 * fingerprint. A missing file is a config error `requirements-not-found` naming it (and, for an
 * include, the including file and line).
 */
export async function readRequirements(
  file: string,
  opts: ReadRequirementsOptions = {},
): Promise<Requirements> {
  const top = resolve(file);
  const state: ParseState = {
    cwd: resolve(opts.cwd ?? dirname(top)),
    env: opts.env ?? process.env,
    files: [],
    lines: [],
    stack: [],
    beforeRead: opts.beforeRead,
  };
  await parseFile(top, false, state, undefined);

  const localPaths: LocalRequirement[] = [];
  const index: {
    indexUrl?: string;
    extraIndexUrls: string[];
    findLinks: string[];
    noIndex: boolean;
  } = {
    extraIndexUrls: [],
    findLinks: [],
    noIndex: false,
  };
  let usesHashes = false;
  for (const line of state.lines) {
    if (line.local !== undefined && !localPaths.some((l) => l.path === line.local?.path))
      localPaths.push(line.local);
    for (const option of line.options) {
      const value = option.value === undefined ? undefined : expandEnv(option.value, state.env);
      if (option.name === '--hash' || option.name === '--require-hashes') usesHashes = true;
      else if (option.name === '--no-index') index.noIndex = true;
      else if (option.name === '--index-url' && value !== undefined)
        index.indexUrl = stripCredentials(value);
      else if (option.name === '--extra-index-url' && value !== undefined)
        index.extraIndexUrls.push(stripCredentials(value));
      else if (option.name === '--find-links' && value !== undefined)
        index.findLinks.push(option.path ?? stripCredentials(value));
    }
  }
  return {
    file: top,
    cwd: state.cwd,
    files: state.files,
    lines: state.lines,
    requirements: state.lines
      .filter((l) => l.requirement !== undefined && !l.constraint)
      .map((l) => l.text),
    localPaths,
    index,
    usesHashes,
  };
}

/** A short label for a local requirement in messages: as written, plus the directory name. */
export function describeLocal(local: LocalRequirement): string {
  return local.spec === basename(local.path) ? local.spec : `${local.spec} (${local.path})`;
}
