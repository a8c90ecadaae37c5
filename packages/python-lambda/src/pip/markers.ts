/**
 * Environment markers (PEP 508, now "Dependency specifiers" on packaging.python.org): a parser
 * and an evaluator against an explicit environment, so that a requirement is judged for the
 * machine that will run the code rather than the one that builds it. Independent of pip: the
 * same evaluation serves requirements files, wheel `Requires-Dist` metadata and lock files.
 *
 * Comparison rules, by the type the specification gives each field:
 * - String fields (`os_name`, `sys_platform`, `platform_machine`, `platform_system`,
 *   `platform_python_implementation`, `implementation_name`): `==`, `!=`, `in`, `not in` as
 *   Python compares strings (case-sensitive); `~=` and `===` as `==`; `>=` and `<=` as `==`,
 *   `>` and `<` false (the specification's advice to installers for meaningless comparisons).
 * - Version fields (`python_version`, `python_full_version`, `implementation_version`): version
 *   specifier rules (pep440.ts) when both sides are valid versions, `===` always by string;
 *   otherwise the string rules. `in`/`not in` are string containment, as in pip.
 * - Version-or-string fields (`platform_release`, `platform_version`): as version fields.
 * - `extra`: the requested extras of the package whose metadata holds the marker, as a set:
 *   `extra == "x"` is "x is requested", `extra != "x"` its negation, other operators false. Names
 *   compare normalised (`Foo_Bar` = `foo-bar`).
 * - `extras`, `dependency_groups` (lock files only): sets; only `"x" in extras` and `not in`,
 *   other operators false. Using them where the context does not define them is an error.
 */
import { parseSpecifier, parseVersion, specifierContains } from './pep440.js';
import type { VersionSpecifier } from './pep440.js';

/** The fields every marker environment defines. */
export const MARKER_FIELDS = [
  'implementation_name',
  'implementation_version',
  'os_name',
  'platform_machine',
  'platform_python_implementation',
  'platform_release',
  'platform_system',
  'platform_version',
  'python_full_version',
  'python_version',
  'sys_platform',
] as const;

export type MarkerField = (typeof MARKER_FIELDS)[number];
export type MarkerVariable = MarkerField | 'extra' | 'extras' | 'dependency_groups';

/** The values markers are evaluated against: one for each {@link MARKER_FIELDS} entry. */
export type MarkerEnvironment = Readonly<Record<MarkerField, string>>;

/** What the place holding the marker defines on top of the environment. */
export interface MarkerContext {
  /** The extras requested of the package whose metadata holds the marker (default: none). */
  extra?: Iterable<string> | undefined;
  /** Lock files: the selected extras. */
  extras?: Iterable<string> | undefined;
  /** Lock files: the selected dependency groups. */
  dependencyGroups?: Iterable<string> | undefined;
}

export type MarkerOperator = '==' | '!=' | '<=' | '>=' | '<' | '>' | '~=' | '===' | 'in' | 'not in';

export type MarkerNode =
  | { kind: 'and' | 'or'; left: MarkerNode; right: MarkerNode }
  | {
      kind: 'compare';
      variable: MarkerVariable;
      operator: MarkerOperator;
      value: string;
      /** `python_version < "3.9"` (true) or `"3.9" > python_version` (false). */
      variableFirst: boolean;
    };

export class MarkerSyntaxError extends Error {
  /** The marker text and the 0-based offset of the problem in it. */
  readonly marker: string;
  readonly offset: number;

  constructor(marker: string, offset: number, problem: string) {
    super(
      `Invalid environment marker ${JSON.stringify(marker)}: ${problem} at column ${offset + 1}.`,
    );
    this.name = 'MarkerSyntaxError';
    this.marker = marker;
    this.offset = offset;
  }
}

export class MarkerEvaluationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MarkerEvaluationError';
  }
}

type VariableType = 'string' | 'version' | 'extra' | 'set';

const VARIABLE_TYPES: Readonly<Record<MarkerVariable, VariableType>> = {
  implementation_name: 'string',
  implementation_version: 'version',
  os_name: 'string',
  platform_machine: 'string',
  platform_python_implementation: 'string',
  platform_release: 'version',
  platform_system: 'string',
  platform_version: 'version',
  python_full_version: 'version',
  python_version: 'version',
  sys_platform: 'string',
  extra: 'extra',
  extras: 'set',
  dependency_groups: 'set',
};

/** Spellings from PEP 345 metadata that `packaging` (and so pip) still accepts. */
const LEGACY_NAMES: Readonly<Record<string, MarkerVariable>> = {
  'os.name': 'os_name',
  'sys.platform': 'sys_platform',
  'platform.version': 'platform_version',
  'platform.machine': 'platform_machine',
  'platform.python_implementation': 'platform_python_implementation',
  python_implementation: 'platform_python_implementation',
};

const KEYWORDS = new Set(['and', 'or', 'not', 'in']);

type Token =
  | { type: 'string'; value: string; offset: number }
  | { type: 'name'; value: string; offset: number }
  | { type: 'op'; value: string; offset: number }
  | { type: '(' | ')' | 'end'; offset: number };

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const ch = text.charAt(i);
    if (ch === ' ' || ch === '\t') {
      i++;
    } else if (ch === '(' || ch === ')') {
      tokens.push({ type: ch, offset: i });
      i++;
    } else if (ch === '"' || ch === "'") {
      const end = text.indexOf(ch, i + 1);
      if (end === -1) throw new MarkerSyntaxError(text, i, 'unterminated string');
      tokens.push({ type: 'string', value: text.slice(i + 1, end), offset: i });
      i = end + 1;
    } else {
      const op = /^(===|==|~=|!=|<=|>=|<|>)/.exec(text.slice(i));
      const name = /^[A-Za-z_][A-Za-z0-9_.]*/.exec(text.slice(i));
      if (op !== null) {
        tokens.push({ type: 'op', value: op[0], offset: i });
        i += op[0].length;
      } else if (name !== null) {
        tokens.push({ type: 'name', value: name[0], offset: i });
        i += name[0].length;
      } else if (/[0-9]/.test(ch)) {
        throw new MarkerSyntaxError(text, i, 'values must be quoted (e.g. "3.12")');
      } else {
        throw new MarkerSyntaxError(text, i, `unexpected ${JSON.stringify(ch)}`);
      }
    }
  }
  tokens.push({ type: 'end', offset: text.length });
  return tokens;
}

class Parser {
  #pos = 0;
  readonly #tokens: Token[];
  readonly #text: string;

  constructor(text: string) {
    this.#text = text;
    this.#tokens = tokenize(text);
  }

  parse(): MarkerNode {
    if (this.#peek().type === 'end')
      throw new MarkerSyntaxError(this.#text, 0, 'the marker is empty');
    const node = this.#or();
    const rest = this.#peek();
    if (rest.type !== 'end') throw this.#error(rest, 'expected "and", "or" or the end');
    return node;
  }

  #peek(): Token {
    return this.#tokens[this.#pos] ?? { type: 'end', offset: this.#text.length };
  }

  #next(): Token {
    const token = this.#peek();
    this.#pos++;
    return token;
  }

  #isWord(word: string): boolean {
    const token = this.#peek();
    return token.type === 'name' && token.value === word;
  }

  #error(token: Token, expected: string): MarkerSyntaxError {
    const found =
      token.type === 'end'
        ? 'the end'
        : token.type === 'string'
          ? `the string ${JSON.stringify(token.value)}`
          : token.type === 'name' || token.type === 'op'
            ? JSON.stringify(token.value)
            : `"${token.type}"`;
    return new MarkerSyntaxError(this.#text, token.offset, `${expected}, found ${found}`);
  }

  #or(): MarkerNode {
    let left = this.#and();
    while (this.#isWord('or')) {
      this.#next();
      left = { kind: 'or', left, right: this.#and() };
    }
    return left;
  }

  #and(): MarkerNode {
    let left = this.#atom();
    while (this.#isWord('and')) {
      this.#next();
      left = { kind: 'and', left, right: this.#atom() };
    }
    return left;
  }

  #atom(): MarkerNode {
    const token = this.#peek();
    if (token.type === '(') {
      this.#next();
      const inner = this.#or();
      const close = this.#next();
      if (close.type !== ')') throw this.#error(close, 'expected ")"');
      return inner;
    }
    const left = this.#operand();
    const operator = this.#operator();
    const right = this.#operand();
    if (left.variable !== undefined && right.variable !== undefined) {
      throw new MarkerSyntaxError(
        this.#text,
        token.offset,
        `compares two fields (${left.variable}, ${right.variable}); one side must be a quoted string`,
      );
    }
    if (left.variable === undefined && right.variable === undefined) {
      throw new MarkerSyntaxError(
        this.#text,
        token.offset,
        'compares two strings; one side must be a marker field such as python_version',
      );
    }
    return left.variable !== undefined
      ? {
          kind: 'compare',
          variable: left.variable,
          operator,
          value: right.value,
          variableFirst: true,
        }
      : {
          kind: 'compare',
          variable: right.variable as MarkerVariable,
          operator,
          value: left.value,
          variableFirst: false,
        };
  }

  #operand(): { variable?: MarkerVariable; value: string } {
    const token = this.#next();
    if (token.type === 'string') return { value: token.value };
    if (token.type === 'name' && !KEYWORDS.has(token.value)) {
      const variable =
        token.value in VARIABLE_TYPES ? (token.value as MarkerVariable) : LEGACY_NAMES[token.value];
      if (variable !== undefined) return { variable, value: '' };
      throw new MarkerSyntaxError(
        this.#text,
        token.offset,
        `unknown marker field ${JSON.stringify(token.value)} (known: ${Object.keys(VARIABLE_TYPES).join(', ')})`,
      );
    }
    throw this.#error(token, 'expected a marker field or a quoted string');
  }

  #operator(): MarkerOperator {
    const token = this.#next();
    if (token.type === 'op') return token.value as MarkerOperator;
    if (token.type === 'name' && token.value === 'in') return 'in';
    if (token.type === 'name' && token.value === 'not') {
      const next = this.#next();
      if (next.type === 'name' && next.value === 'in') return 'not in';
      throw this.#error(next, 'expected "in" after "not"');
    }
    throw this.#error(token, 'expected a comparison (==, !=, <, <=, >, >=, ~=, ===, in, not in)');
  }
}

/** Parses a marker (the part after `;`); throws MarkerSyntaxError saying what and where. */
export function parseMarker(text: string): MarkerNode {
  return new Parser(text).parse();
}

/** PEP 503 normalisation, which extra and group names compare by. */
function normalizeName(name: string): string {
  return name.replace(/[-_.]+/g, '-').toLowerCase();
}

function compareStrings(
  operator: MarkerOperator,
  field: string,
  value: string,
  fieldFirst: boolean,
): boolean {
  switch (operator) {
    case '==':
    case '===':
    case '~=':
    case '<=':
    case '>=':
      return field === value;
    case '!=':
      return field !== value;
    case '<':
    case '>':
      return false;
    case 'in':
      return fieldFirst ? value.includes(field) : field.includes(value);
    case 'not in':
      return fieldFirst ? !value.includes(field) : !field.includes(value);
  }
}

/** `3.9 > python_version` is `python_version < 3.9`. */
const MIRRORED: Readonly<Partial<Record<MarkerOperator, MarkerOperator>>> = {
  '<': '>',
  '>': '<',
  '<=': '>=',
  '>=': '<=',
};

function compareVersionField(
  operator: MarkerOperator,
  field: string,
  value: string,
  fieldFirst: boolean,
): boolean {
  if (operator !== 'in' && operator !== 'not in') {
    // The field value is the candidate; a constant on the left mirrors the operator.
    const op = fieldFirst ? operator : (MIRRORED[operator] ?? operator);
    if (op === '===' || parseVersion(field) !== undefined) {
      let spec: VersionSpecifier | undefined;
      try {
        spec = parseSpecifier(`${op}${value}`);
      } catch {
        // Not a valid specifier (`~=` with one segment, a word): compared as strings below.
      }
      if (spec !== undefined) return specifierContains(spec, field);
    }
  }
  return compareStrings(operator, field, value, fieldFirst);
}

function compareSet(
  operator: MarkerOperator,
  members: ReadonlySet<string>,
  value: string,
  fieldFirst: boolean,
): boolean {
  if (fieldFirst) return false;
  if (operator === 'in') return members.has(normalizeName(value));
  if (operator === 'not in') return !members.has(normalizeName(value));
  return false;
}

function toSet(values: Iterable<string> | undefined): ReadonlySet<string> | undefined {
  return values === undefined ? undefined : new Set([...values].map(normalizeName));
}

/**
 * Evaluates a parsed marker for `environment`. Throws MarkerEvaluationError when the marker uses
 * `extras` or `dependency_groups` and the context does not define them.
 */
export function evaluateMarker(
  marker: MarkerNode,
  environment: MarkerEnvironment,
  context: MarkerContext = {},
): boolean {
  const extra = toSet(context.extra) ?? new Set<string>();
  const sets = {
    extras: toSet(context.extras),
    dependency_groups: toSet(context.dependencyGroups),
  };
  const evaluate = (node: MarkerNode): boolean => {
    if (node.kind !== 'compare') {
      return node.kind === 'and'
        ? evaluate(node.left) && evaluate(node.right)
        : evaluate(node.left) || evaluate(node.right);
    }
    const { variable, operator, value, variableFirst } = node;
    switch (VARIABLE_TYPES[variable]) {
      case 'extra': {
        if (operator === '==') return extra.has(normalizeName(value));
        if (operator === '!=') return !extra.has(normalizeName(value));
        return false;
      }
      case 'set': {
        const members = variable === 'extras' ? sets.extras : sets.dependency_groups;
        if (members === undefined) {
          throw new MarkerEvaluationError(
            `The marker field ${variable} is only defined in lock files, not here.`,
          );
        }
        return compareSet(operator, members, value, variableFirst);
      }
      case 'version':
        return compareVersionField(
          operator,
          environment[variable as MarkerField],
          value,
          variableFirst,
        );
      case 'string':
        return compareStrings(operator, environment[variable as MarkerField], value, variableFirst);
    }
  };
  return evaluate(marker);
}

/** Parses and evaluates in one step (see {@link parseMarker}, {@link evaluateMarker}). */
export function markerHolds(
  text: string,
  environment: MarkerEnvironment,
  context: MarkerContext = {},
): boolean {
  return evaluateMarker(parseMarker(text), environment, context);
}

/** The marker in a canonical spelling: double quotes, single spaces, parentheses where needed. */
export function formatMarker(marker: MarkerNode): string {
  const format = (node: MarkerNode, parent: 'and' | 'or' | undefined): string => {
    if (node.kind === 'compare') {
      const value = node.value.includes('"') ? `'${node.value}'` : `"${node.value}"`;
      return node.variableFirst
        ? `${node.variable} ${node.operator} ${value}`
        : `${value} ${node.operator} ${node.variable}`;
    }
    const text = `${format(node.left, node.kind)} ${node.kind} ${format(node.right, node.kind)}`;
    return parent === 'and' && node.kind === 'or' ? `(${text})` : text;
  };
  return format(marker, undefined);
}
