import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { PipCredentials } from './credentials.js';
import type { RequirementLine, RequirementOption, Requirements } from './requirements.js';
import { expandEnv, shellQuote } from './requirements.js';

/** A local path requirement after lbuild built it (or the wheel file it already was). */
export interface LocalWheel {
  /** The LocalRequirement's path. */
  source: string;
  /** The wheel file pip is pointed at. */
  wheel: string;
  /** The distribution name, as in the wheel file name. */
  name: string;
  /** sha256 (hex) of the wheel, for hash-checking mode. */
  sha256: string;
}

/** Index options that name package sources; dropped when pip must use the wheelhouse alone. */
const SOURCE_OPTIONS = new Set([
  '--index-url',
  '--extra-index-url',
  '--find-links',
  '--no-index',
  '--trusted-host',
]);

export interface PipRequirementsOptions {
  /** Built wheels of the local path requirements, by LocalRequirement path. */
  localWheels: ReadonlyMap<string, LocalWheel>;
  /** `sources`: keep the files' own index options; `wheelhouse-only`: drop them (staging). */
  mode: 'sources' | 'wheelhouse-only';
  /** Takes the logins out of the files' index URLs (see {@link sourceOptionValue}). */
  credentials?: { take: PipCredentials['take']; env: Readonly<Record<string, string | undefined>> };
}

/** Options whose URL values pip also passes to the command line of the pip it starts. */
const URL_OPTIONS = new Set(['--index-url', '--extra-index-url', '--find-links']);

/**
 * The value of an index option of a requirements file as pip should see it: a URL that carries a
 * login, with `${VARS}` expanded, loses the login to `credentials`; anything else stays as
 * written, for pip to expand.
 */
export function sourceOptionValue(
  option: RequirementOption,
  credentials: PipRequirementsOptions['credentials'],
): string | undefined {
  if (
    credentials === undefined ||
    option.value === undefined ||
    option.path !== undefined ||
    !URL_OPTIONS.has(option.name)
  )
    return option.value;
  const expanded = expandEnv(option.value, credentials.env);
  const taken = credentials.take(expanded);
  return taken === expanded ? option.value : taken;
}

/** Takes the logins of every index URL in the requirements files, before pip first runs. */
export function takeRequirementsCredentials(
  requirements: Requirements,
  credentials: NonNullable<PipRequirementsOptions['credentials']>,
): void {
  for (const line of requirements.lines)
    for (const option of line.options) sourceOptionValue(option, credentials);
}

function optionArg(name: string, value: string | undefined): string {
  return value === undefined ? name : `${name}=${shellQuote(value)}`;
}

function localLine(line: RequirementLine, local: LocalWheel, usesHashes: boolean): string {
  const spec = line.local;
  const extras = spec !== undefined && spec.extras.length > 0 ? `[${spec.extras.join(',')}]` : '';
  let text = `${local.name}${extras} @ ${pathToFileURL(local.wheel).href}`;
  if (spec?.marker !== undefined) text += ` ; ${spec.marker}`;
  if (usesHashes) text += ` --hash=sha256:${local.sha256}`;
  return text;
}

/**
 * Writes copies of the requirements files for pip into `dir`, with what pip must not see as
 * written: local path requirements point at their built wheels (`name @ file:///…whl`), so pip
 * neither builds in the user's tree nor needs a build backend for `pip download`; `-r`/`-c`
 * point at the copies; relative `--find-links` become absolute. Every other line is kept as
 * written (pip still expands `${VARS}` itself). Returns the copy of the top-level file.
 */
export async function writePipRequirements(
  requirements: Requirements,
  dir: string,
  opts: PipRequirementsOptions,
): Promise<string> {
  const copies = new Map(
    requirements.files.map((file, i) => [file, join(dir, `requirements-${i}.txt`)]),
  );
  for (const [file, copy] of copies) {
    const seen = new Set<number>();
    const out: string[] = [`# lbuild: generated from ${file}`];
    for (const line of requirements.lines) {
      if (line.file !== file || seen.has(line.line)) continue;
      seen.add(line.line);
      out.push(rewriteLine(line, copies, requirements.usesHashes, opts));
    }
    await writeFile(copy, `${out.join('\n')}\n`);
  }
  return copies.get(requirements.file) ?? join(dir, 'requirements-0.txt');
}

function rewriteLine(
  line: RequirementLine,
  copies: ReadonlyMap<string, string>,
  usesHashes: boolean,
  opts: PipRequirementsOptions,
): string {
  const local = line.local === undefined ? undefined : opts.localWheels.get(line.local.path);
  if (local !== undefined) return localLine(line, local, usesHashes);
  const parts: string[] = [];
  if (line.requirement !== undefined && !line.options.some((o) => o.name === '--editable'))
    parts.push(line.requirement);
  for (const option of line.options) {
    if (opts.mode === 'wheelhouse-only' && SOURCE_OPTIONS.has(option.name)) continue;
    if (option.name === '--requirement' || option.name === '--constraint') {
      parts.push(
        optionArg(option.name, option.path === undefined ? option.value : copies.get(option.path)),
      );
    } else if (option.name === '--find-links' && option.path !== undefined) {
      parts.push(optionArg(option.name, option.path));
    } else {
      parts.push(optionArg(option.name, sourceOptionValue(option, opts.credentials)));
    }
  }
  return parts.join(' ');
}
