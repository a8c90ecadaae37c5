/**
 * Version identifiers and version specifiers as the Python packaging specifications define them
 * (PEP 440, now "Version specifiers" on packaging.python.org): parsing, normalisation, ordering
 * and `~=`, `==` (with `.*`), `!=`, `<=`, `>=`, `<`, `>`, `===`. Independent of pip, for markers,
 * `Requires-Dist` and lock files alike.
 *
 * Written here rather than taken from npm: @renovatebot/pep440 5 needs Node 22, and 4.x gets
 * exclusive ordered comparison and prefix padding wrong (`1.0.post2` in `>1.0.post1`, `1.0rc1`
 * in `<1.0rc2`, `1` in `==1.0.*` and `1.0` in `>1.0.dev0` are all false there, true by the spec).
 * Where the specification leaves room, this follows `packaging`, the library pip uses.
 */

/** A parsed, valid version. Numbers are bigints: release segments may be dates or longer. */
export interface Pep440Version {
  epoch: bigint;
  release: readonly bigint[];
  pre?: { label: 'a' | 'b' | 'rc'; number: bigint } | undefined;
  post?: bigint | undefined;
  dev?: bigint | undefined;
  /** Local label segments, lower case; numeric ones as bigints. */
  local?: readonly (bigint | string)[] | undefined;
}

export type SpecifierOperator = '~=' | '==' | '!=' | '<=' | '>=' | '<' | '>' | '===';

/** One clause such as `>=1.2` or `==3.*`. */
export interface VersionSpecifier {
  operator: SpecifierOperator;
  /** The version as written (without `.*`); for `===` the whole opaque string. */
  text: string;
  /** The parsed version (absent only for `===` with a string that is no valid version). */
  version?: Pep440Version | undefined;
  /** `==1.2.*` / `!=1.2.*`. */
  wildcard: boolean;
}

export class VersionSyntaxError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'VersionSyntaxError';
  }
}

// The specification's own pattern for the permitted spellings (case-insensitive, surrounding
// whitespace allowed), written out from its text.
const VERSION_PATTERN = new RegExp(
  [
    '^\\s*v?',
    '(?:(?<epoch>[0-9]+)!)?',
    '(?<release>[0-9]+(?:\\.[0-9]+)*)',
    '(?:[-_.]?(?<preLabel>alpha|a|beta|b|preview|pre|c|rc)[-_.]?(?<preNumber>[0-9]+)?)?',
    '(?:-(?<implicitPost>[0-9]+)|[-_.]?(?<postLabel>post|rev|r)[-_.]?(?<postNumber>[0-9]+)?)?',
    '(?:[-_.]?(?<devLabel>dev)[-_.]?(?<devNumber>[0-9]+)?)?',
    '(?:\\+(?<local>[a-z0-9]+(?:[-_.][a-z0-9]+)*))?',
    '\\s*$',
  ].join(''),
  'i',
);

const PRE_LABELS: Readonly<Record<string, 'a' | 'b' | 'rc'>> = {
  a: 'a',
  alpha: 'a',
  b: 'b',
  beta: 'b',
  c: 'rc',
  rc: 'rc',
  pre: 'rc',
  preview: 'rc',
};

/** Parses a version; undefined when it is not a valid version. */
export function parseVersion(text: string): Pep440Version | undefined {
  const groups = VERSION_PATTERN.exec(text)?.groups;
  if (groups === undefined) return undefined;
  const release = (groups.release ?? '0').split('.').map((n) => BigInt(n));
  const version: Pep440Version = {
    epoch: BigInt(groups.epoch ?? '0'),
    release,
  };
  if (groups.preLabel !== undefined) {
    version.pre = {
      label: PRE_LABELS[groups.preLabel.toLowerCase()] ?? 'rc',
      number: BigInt(groups.preNumber ?? '0'),
    };
  }
  if (groups.implicitPost !== undefined) version.post = BigInt(groups.implicitPost);
  else if (groups.postLabel !== undefined) version.post = BigInt(groups.postNumber ?? '0');
  if (groups.devLabel !== undefined) version.dev = BigInt(groups.devNumber ?? '0');
  if (groups.local !== undefined) {
    version.local = groups.local
      .toLowerCase()
      .split(/[-_.]/)
      .map((part) => (/^[0-9]+$/.test(part) ? BigInt(part) : part));
  }
  return version;
}

/** The normalised spelling: `1.0rc1.post2.dev3+ubuntu.1`, `1!2.0`. */
export function formatVersion(version: Pep440Version): string {
  let text = version.epoch === 0n ? '' : `${version.epoch}!`;
  text += version.release.join('.');
  if (version.pre !== undefined) text += `${version.pre.label}${version.pre.number}`;
  if (version.post !== undefined) text += `.post${version.post}`;
  if (version.dev !== undefined) text += `.dev${version.dev}`;
  if (version.local !== undefined) text += `+${version.local.join('.')}`;
  return text;
}

export function isPrerelease(version: Pep440Version): boolean {
  return version.pre !== undefined || version.dev !== undefined;
}

function publicVersion(version: Pep440Version): Pep440Version {
  return version.local === undefined ? version : { ...version, local: undefined };
}

function cmp(a: bigint, b: bigint): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

const PRE_ORDER = { a: 0, b: 1, rc: 2 } as const;

/**
 * The specification's ordering: epoch, release (trailing zeros do not count), then
 * `1.0.dev0 < 1.0a1.dev0 < 1.0a1 < 1.0a1.post1 < 1.0 < 1.0+local < 1.0.post1.dev0 < 1.0.post1`.
 */
export function compareVersions(a: Pep440Version, b: Pep440Version): number {
  const epoch = cmp(a.epoch, b.epoch);
  if (epoch !== 0) return epoch;
  const length = Math.max(a.release.length, b.release.length);
  for (let i = 0; i < length; i++) {
    const d = cmp(a.release[i] ?? 0n, b.release[i] ?? 0n);
    if (d !== 0) return d;
  }
  const pre = comparePre(a, b);
  if (pre !== 0) return pre;
  // No post-release sorts before any post-release.
  const post = compareOptional(a.post, b.post, -1);
  if (post !== 0) return post;
  // No dev-release sorts after any dev-release.
  const dev = compareOptional(a.dev, b.dev, 1);
  if (dev !== 0) return dev;
  return compareLocal(a.local, b.local);
}

/** Compares optional numbers; `missing` says where an absent one sorts (-1 first, 1 last). */
function compareOptional(a: bigint | undefined, b: bigint | undefined, missing: -1 | 1): number {
  if (a === undefined && b === undefined) return 0;
  if (a === undefined) return missing;
  if (b === undefined) return -missing;
  return cmp(a, b);
}

function comparePre(a: Pep440Version, b: Pep440Version): number {
  const rank = (v: Pep440Version): number => {
    // A dev release of a final (1.0.dev0) comes before its pre-releases; a final after them.
    if (v.pre === undefined) return v.post === undefined && v.dev !== undefined ? -1 : 3;
    return PRE_ORDER[v.pre.label];
  };
  const d = rank(a) - rank(b);
  if (d !== 0) return Math.sign(d);
  return a.pre !== undefined && b.pre !== undefined ? cmp(a.pre.number, b.pre.number) : 0;
}

function compareLocal(
  a: readonly (bigint | string)[] | undefined,
  b: readonly (bigint | string)[] | undefined,
): number {
  if (a === undefined || b === undefined) return a === b ? 0 : a === undefined ? -1 : 1;
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const x = a[i] as bigint | string;
    const y = b[i] as bigint | string;
    if (typeof x === 'bigint' && typeof y === 'bigint') {
      const d = cmp(x, y);
      if (d !== 0) return d;
    } else if (typeof x === 'string' && typeof y === 'string') {
      if (x !== y) return x < y ? -1 : 1;
    } else {
      // A numeric segment sorts after an alphanumeric one.
      return typeof x === 'bigint' ? 1 : -1;
    }
  }
  return Math.sign(a.length - b.length);
}

const OPERATORS: readonly SpecifierOperator[] = ['===', '~=', '==', '!=', '<=', '>=', '<', '>'];

/** Parses one clause such as `>= 1.2` or `==3.*`; throws VersionSyntaxError. */
export function parseSpecifier(text: string): VersionSpecifier {
  const trimmed = text.trim();
  const operator = OPERATORS.find((op) => trimmed.startsWith(op));
  if (operator === undefined) {
    throw new VersionSyntaxError(
      `${JSON.stringify(trimmed)} does not start with a comparison (${OPERATORS.join(' ')}).`,
    );
  }
  const rest = trimmed.slice(operator.length).trim();
  if (rest === '') throw new VersionSyntaxError(`${JSON.stringify(trimmed)} has no version.`);
  if (operator === '===') {
    if (/\s/.test(rest))
      throw new VersionSyntaxError(`${JSON.stringify(trimmed)}: "===" takes one word.`);
    return { operator, text: rest, version: parseVersion(rest), wildcard: false };
  }
  const wildcard = rest.endsWith('.*');
  const versionText = wildcard ? rest.slice(0, -2) : rest;
  const version = parseVersion(versionText);
  const bad = (why: string) => new VersionSyntaxError(`${JSON.stringify(trimmed)}: ${why}.`);
  if (version === undefined || /\s/.test(versionText))
    throw bad(`${JSON.stringify(versionText)} is not a valid version`);
  if (wildcard) {
    if (operator !== '==' && operator !== '!=') throw bad(`only == and != take a ".*" suffix`);
    if (version.dev !== undefined || version.local !== undefined)
      throw bad('a ".*" prefix cannot have a dev release or a local label');
  }
  if (version.local !== undefined && operator !== '==' && operator !== '!=')
    throw bad(`a local version label is only allowed with == and !=`);
  if (operator === '~=' && version.release.length < 2)
    throw bad('"~=" needs at least two release segments (e.g. ~=1.4)');
  return { operator, text: versionText.trim(), version, wildcard };
}

/**
 * Parses a comma-separated specifier set (`>=1.0, !=1.3.*, <2`); the empty string is the empty
 * set, which every version satisfies. Throws VersionSyntaxError.
 */
export function parseSpecifierSet(text: string): VersionSpecifier[] {
  if (text.trim() === '') return [];
  return text.split(',').map((part) => parseSpecifier(part));
}

/** `1.2.3rc1` as the tokens prefix matching compares: epoch, release, then each suffix. */
function prefixTokens(version: Pep440Version, releaseLength: number): string[] {
  const release = [...version.release];
  while (release.length < releaseLength) release.push(0n);
  const tokens = [String(version.epoch), ...release.map(String)];
  if (version.pre !== undefined) tokens.push(`${version.pre.label}${version.pre.number}`);
  if (version.post !== undefined) tokens.push(`post${version.post}`);
  if (version.dev !== undefined) tokens.push(`dev${version.dev}`);
  return tokens;
}

function prefixMatches(candidate: Pep440Version, prefix: Pep440Version): boolean {
  const want = prefixTokens(prefix, prefix.release.length);
  // The candidate's release is zero-padded to the prefix's length (`1` is in `==1.0.*`), its
  // local label ignored.
  const have = prefixTokens(publicVersion(candidate), prefix.release.length);
  return want.every((token, i) => have[i] === token);
}

function equals(candidate: Pep440Version, spec: VersionSpecifier, version: Pep440Version): boolean {
  if (spec.wildcard) return prefixMatches(candidate, version);
  // A specifier without a local label ignores the candidate's.
  const c = version.local === undefined ? publicVersion(candidate) : candidate;
  return compareVersions(c, version) === 0;
}

/**
 * Whether `candidate` (a version string) satisfies one clause. Pre-releases are not filtered
 * out: whether to prefer final releases is a choice when picking among candidates, not part of
 * what a specifier contains. `===` is case-insensitive equality of the text as written; a
 * candidate that is no valid version satisfies nothing else.
 */
export function specifierContains(spec: VersionSpecifier, candidate: string): boolean {
  // Arbitrary equality compares the text as written, without normalising it.
  if (spec.operator === '===') return candidate.trim().toLowerCase() === spec.text.toLowerCase();
  const parsed = parseVersion(candidate);
  const version = spec.version;
  if (parsed === undefined || version === undefined) return false;
  switch (spec.operator) {
    case '==':
      return equals(parsed, spec, version);
    case '!=':
      return !equals(parsed, spec, version);
    case '<=':
      return compareVersions(publicVersion(parsed), version) <= 0;
    case '>=':
      return compareVersions(publicVersion(parsed), version) >= 0;
    case '~=': {
      const prefix: Pep440Version = { epoch: version.epoch, release: version.release.slice(0, -1) };
      return compareVersions(publicVersion(parsed), version) >= 0 && prefixMatches(parsed, prefix);
    }
    case '<': {
      if (compareVersions(parsed, version) >= 0) return false;
      // `<V` does not take pre-releases of V itself unless V is one.
      const earliest: Pep440Version = { ...version, dev: 0n, local: undefined };
      return (
        isPrerelease(version) || !isPrerelease(parsed) || compareVersions(parsed, earliest) < 0
      );
    }
    case '>': {
      if (compareVersions(parsed, version) <= 0) return false;
      // `>V` takes neither post-releases of V (unless V is one) nor local versions of V.
      if (version.post === undefined && parsed.post !== undefined) {
        const base: Pep440Version = {
          ...parsed,
          post: undefined,
          dev: undefined,
          local: undefined,
        };
        if (compareVersions(base, version) === 0) return false;
      }
      return !(parsed.local !== undefined && compareVersions(publicVersion(parsed), version) === 0);
    }
  }
}

/** Whether `candidate` satisfies every clause (the empty set is satisfied by everything). */
export function specifierSetContains(
  specs: readonly VersionSpecifier[],
  candidate: string,
): boolean {
  return specs.every((spec) => specifierContains(spec, candidate));
}

/** `>=1.0,<2` — the clauses as written, without spaces. */
export function formatSpecifierSet(specs: readonly VersionSpecifier[]): string {
  return specs.map((s) => `${s.operator}${s.text}${s.wildcard ? '.*' : ''}`).join(',');
}
