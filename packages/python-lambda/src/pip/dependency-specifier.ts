/**
 * Dependency specifiers (PEP 508): `name[extra,…] <versions> ; <marker>` and
 * `name[extra,…] @ <url> ; <marker>`, as written in `Requires-Dist`, requirements files and lock
 * files. Independent of pip.
 */
import type { MarkerNode } from './markers.js';
import { MarkerSyntaxError, formatMarker, parseMarker } from './markers.js';
import type { VersionSpecifier } from './pep440.js';
import { VersionSyntaxError, formatSpecifierSet, parseSpecifierSet } from './pep440.js';
import { normalizeProjectName } from './wheel-name.js';

export interface DependencySpecifier {
  /** As written. */
  name: string;
  /** Normalised (PEP 503). */
  project: string;
  /** Normalised, sorted, without duplicates. */
  extras: string[];
  /** Empty for any version (and for a URL requirement). */
  specifiers: VersionSpecifier[];
  url?: string | undefined;
  marker?: MarkerNode | undefined;
}

export class RequirementSyntaxError extends Error {
  readonly requirement: string;

  constructor(requirement: string, problem: string, options?: { cause?: unknown }) {
    super(`Invalid requirement ${JSON.stringify(requirement)}: ${problem}`, options);
    this.name = 'RequirementSyntaxError';
    this.requirement = requirement;
  }
}

const NAME = /^[ \t]*([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)[ \t]*/;
const EXTRAS = /^\[[ \t]*([^\]]*?)[ \t]*\][ \t]*/;
const IDENTIFIER = /^[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?$/;

/** Parses one dependency specifier; throws RequirementSyntaxError saying what is wrong. */
export function parseDependencySpecifier(text: string): DependencySpecifier {
  const fail = (problem: string, cause?: unknown) =>
    new RequirementSyntaxError(text, problem, cause === undefined ? undefined : { cause });
  const name = NAME.exec(text);
  if (name === null) throw fail('it does not start with a project name.');
  const projectName = name[1] ?? '';
  let rest = text.slice(name[0].length);
  const extras: string[] = [];
  const extrasMatch = EXTRAS.exec(rest);
  if (extrasMatch !== null) {
    const list = extrasMatch[1] ?? '';
    for (const extra of list === '' ? [] : list.split(',').map((e) => e.trim())) {
      if (!IDENTIFIER.test(extra))
        throw fail(`${JSON.stringify(extra)} is not a valid extra name.`);
      extras.push(normalizeProjectName(extra));
    }
    rest = rest.slice(extrasMatch[0].length);
  } else if (rest.startsWith('[')) {
    throw fail('the list of extras has no closing "]".');
  }
  let url: string | undefined;
  let markerText: string | undefined;
  if (rest.startsWith('@')) {
    const match = /^@[ \t]*(\S+)/.exec(rest);
    if (match === null) throw fail('"@" is not followed by a URL.');
    url = match[1] ?? '';
    rest = rest.slice(match[0].length);
    // The URL ends at whitespace; a marker after it needs that whitespace before the ";".
    const after = /^[ \t]*(?:;(.*))?$/s.exec(rest);
    if (after === null) throw fail(`unexpected ${JSON.stringify(rest.trim())} after the URL.`);
    markerText = after[1];
    rest = '';
  } else {
    const semicolon = rest.indexOf(';');
    if (semicolon !== -1) {
      markerText = rest.slice(semicolon + 1);
      rest = rest.slice(0, semicolon);
    }
  }
  let specifiers: VersionSpecifier[] = [];
  let versions = rest.trim();
  if (versions.startsWith('(')) {
    if (!versions.endsWith(')')) throw fail('the version list has no closing ")".');
    versions = versions.slice(1, -1).trim();
  }
  versions = versions.replace(/,[ \t]*$/, '');
  if (versions !== '') {
    if (!/^[<>=!~]/.test(versions))
      throw fail(`unexpected ${JSON.stringify(versions)} after the name.`);
    try {
      specifiers = parseSpecifierSet(versions);
    } catch (error) {
      if (error instanceof VersionSyntaxError) throw fail(error.message, error);
      throw error;
    }
  }
  let marker: MarkerNode | undefined;
  if (markerText !== undefined) {
    try {
      marker = parseMarker(markerText.trim());
    } catch (error) {
      if (error instanceof MarkerSyntaxError) throw fail(error.message, error);
      throw error;
    }
  }
  return {
    name: projectName,
    project: normalizeProjectName(projectName),
    extras: [...new Set(extras)].sort(),
    specifiers,
    ...(url === undefined ? {} : { url }),
    ...(marker === undefined ? {} : { marker }),
  };
}

/**
 * The specifier in a canonical spelling: normalised name and extras, versions without spaces,
 * the marker only when `withMarker` (default true).
 */
export function formatDependency(spec: DependencySpecifier, withMarker = true): string {
  let text = spec.project;
  if (spec.extras.length > 0) text += `[${spec.extras.join(',')}]`;
  if (spec.url !== undefined) text += ` @ ${spec.url}`;
  else text += formatSpecifierSet(spec.specifiers);
  if (withMarker && spec.marker !== undefined) {
    text += `${spec.url === undefined ? '' : ' '}; ${formatMarker(spec.marker)}`;
  }
  return text;
}
