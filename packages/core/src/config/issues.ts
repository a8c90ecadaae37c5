import type * as z from 'zod/mini';
import { closest } from '../graph.js';

type Issue = z.core.$ZodIssue;
type AnySchema = z.core.$ZodType;

export interface ConfigIssue {
  /** Key path from the root of the lbuild table. */
  path: (string | number)[];
  message: string;
  hint?: string;
}

/**
 * Turns zod issues into sentences a user can act on: what is wrong, and how to fix it. `prefix`
 * is where the lbuild table sits in the file (`tool.lbuild` in pyproject.toml), so messages name
 * keys as the user wrote them.
 */
export function describeIssues(
  issues: readonly Issue[],
  schema: AnySchema,
  data: unknown,
  prefix: readonly string[] = [],
): ConfigIssue[] {
  const out: ConfigIssue[] = [];
  for (const issue of issues) {
    const path = issue.path.map((p) => (typeof p === 'symbol' ? String(p) : p));
    const shown = [...prefix, ...path];
    const name = `\`${shown.join('.') || '(root)'}\``;
    const value = valueAt(data, path);
    const custom = issue.message && issue.message !== 'Invalid input' ? issue.message : undefined;
    switch (issue.code) {
      case 'unrecognized_keys': {
        const known = objectKeys(schemaAt(schema, path));
        for (const key of issue.keys) {
          const suggestion = closest(key, known);
          const where = shown.length ? ` in [${shown.join('.')}]` : '';
          out.push({
            path: [...path, key],
            message: `unknown key \`${key}\`${where}`,
            hint: suggestion
              ? `did you mean \`${suggestion}\`?`
              : known.length
                ? `known keys: ${known.join(', ')}`
                : 'remove it',
          });
        }
        break;
      }
      case 'invalid_type':
        if (value === undefined) {
          out.push({
            path,
            message: custom ?? `${name} is required`,
            hint: `add ${path.at(-1) ?? 'it'} = ${example(issue.expected)}`,
          });
        } else {
          const list = issue.expected === 'array' && typeof value === 'string';
          const quote = issue.expected === 'string' ? quoteHint(path, value) : undefined;
          out.push({
            path,
            message: custom ?? `${name} must be ${article(issue.expected)} (got ${kindOf(value)})`,
            ...(list
              ? { hint: `write a list: ${String(path.at(-1))} = [${JSON.stringify(value)}]` }
              : quote
                ? { hint: quote }
                : {}),
          });
        }
        break;
      case 'invalid_union': {
        const types = issue.errors.flatMap((e) =>
          e.filter((i) => i.code === 'invalid_type').map((i) => i.expected),
        );
        const expected = [...new Set(types.map(article))];
        if (value === undefined) {
          out.push({
            path,
            message: custom ?? `${name} is required`,
            hint: `add ${String(path.at(-1) ?? 'it')} = ${example(types[0] ?? '')}`,
          });
          break;
        }
        out.push({
          path,
          message:
            custom ??
            `${name} must be ${expected.join(' or ') || 'a different value'} (got ${kindOf(value)})`,
        });
        break;
      }
      case 'invalid_value': {
        const quote = quoteHint(path, value, issue.values);
        out.push({
          path,
          message:
            custom ??
            `${name} must be one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')} (got ${JSON.stringify(value)})`,
          ...(quote ? { hint: quote } : {}),
        });
        break;
      }
      case 'too_small':
      case 'too_big': {
        const bound =
          issue.code === 'too_small'
            ? `at least ${String(issue.minimum)}`
            : `at most ${String(issue.maximum)}`;
        const what =
          issue.origin === 'string'
            ? `${bound} characters long`
            : issue.origin === 'array'
              ? `a list of ${bound} items`
              : bound;
        const empty =
          issue.code === 'too_small' &&
          Number(issue.minimum) === 1 &&
          (issue.origin === 'string' || issue.origin === 'array');
        out.push({
          path,
          message:
            custom ??
            (empty
              ? `${name} must not be empty`
              : `${name} must be ${what} (got ${JSON.stringify(value)})`),
        });
        break;
      }
      case 'invalid_format': {
        // A custom message that already quotes the value (`role "x" is not ...`) says it once.
        const got = JSON.stringify(value);
        out.push({
          path,
          message: custom
            ? custom.includes(got)
              ? custom
              : `${custom} (got ${got})`
            : `${name} is not a valid ${issue.format} (got ${got})`,
        });
        break;
      }
      default:
        out.push({ path, message: custom ?? `${name} is invalid` });
    }
  }
  return out;
}

/**
 * The fix for a string written without quotes (`python = 3.11`), which TOML reads as a number or
 * a boolean. With `allowed` (an enum), only when a quoted form is one of them, and that form:
 * TOML reads `3.10` as 3.1, whose text is not the "3.10" that was meant.
 */
function quoteHint(
  path: readonly (string | number)[],
  value: unknown,
  allowed?: readonly unknown[],
): string | undefined {
  if (typeof value !== 'number' && typeof value !== 'boolean') return undefined;
  const text = allowed
    ? allowed.find(
        (v) => typeof v === 'string' && (v === String(value) || Number(v) === Number(value)),
      )
    : String(value);
  if (typeof text !== 'string') return undefined;
  const last = path.at(-1);
  const kind = typeof value === 'number' ? 'a number' : 'a boolean';
  // An element of a list has no key to show: `deps = [1]` is fixed as `"1"`.
  const fix = typeof last === 'string' ? `${last} = ${JSON.stringify(text)}` : JSON.stringify(text);
  return `quote it: ${fix} (unquoted, TOML reads ${kind})`;
}

function article(expected: string): string {
  switch (expected) {
    case 'array':
      return 'a list';
    case 'object':
    case 'record':
      return 'a table';
    case 'int':
      return 'a whole number';
    case 'integer':
      return 'a whole number';
    default:
      return /^[aeiou]/.test(expected) ? `an ${expected}` : `a ${expected}`;
  }
}

function example(expected: string): string {
  switch (expected) {
    case 'string':
      return '"..."';
    case 'array':
      return '[...]';
    case 'number':
    case 'int':
      return '1';
    case 'boolean':
      return 'true';
    default:
      return '{ ... }';
  }
}

export function kindOf(value: unknown): string {
  if (Array.isArray(value)) return 'a list';
  if (value === null) return 'null';
  if (value instanceof Date) return 'a date';
  switch (typeof value) {
    case 'string':
      return `the string ${JSON.stringify(value)}`;
    case 'number':
      return `the number ${String(value)}`;
    case 'boolean':
      return String(value);
    case 'object':
      return 'a table';
    default:
      return typeof value;
  }
}

function valueAt(data: unknown, path: readonly (string | number)[]): unknown {
  let current = data;
  for (const part of path) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<string | number, unknown>)[part];
  }
  return current;
}

interface Def {
  type: string;
  shape?: Record<string, AnySchema>;
  valueType?: AnySchema;
  innerType?: AnySchema;
  element?: AnySchema;
  in?: AnySchema;
}

function defOf(schema: AnySchema | undefined): Def | undefined {
  return (schema as unknown as { _zod?: { def: Def } } | undefined)?._zod?.def;
}

function unwrap(schema: AnySchema | undefined): AnySchema | undefined {
  let current = schema;
  for (let i = 0; i < 10; i++) {
    const def = defOf(current);
    if (!def) return current;
    if (
      def.type === 'optional' ||
      def.type === 'default' ||
      def.type === 'nullable' ||
      def.type === 'prefault'
    )
      current = def.innerType;
    else if (def.type === 'pipe') current = def.in;
    else return current;
  }
  return current;
}

function schemaAt(schema: AnySchema, path: readonly (string | number)[]): AnySchema | undefined {
  let current: AnySchema | undefined = schema;
  for (const part of path) {
    const def = defOf(unwrap(current));
    if (!def) return undefined;
    if (def.type === 'object') current = def.shape?.[String(part)];
    else if (def.type === 'record') current = def.valueType;
    else if (def.type === 'array') current = def.element;
    else return undefined;
  }
  return unwrap(current);
}

function objectKeys(schema: AnySchema | undefined): string[] {
  const def = defOf(schema);
  return def?.type === 'object' && def.shape ? Object.keys(def.shape) : [];
}
