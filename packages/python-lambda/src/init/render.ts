import type { InitPlan } from './detect.js';

/** A TOML basic string: JSON's escapes are TOML's for everything a path or name holds. */
const str = (value: string): string => JSON.stringify(value);

/**
 * The starting config for a plan: `[bundle.NAME]` and, with a handler, `[function.NAME]` (its
 * handler is then checked in the zip by every build). In pyproject.toml the same tables sit
 * under `[tool.lbuild]`.
 */
export function renderConfig(plan: InitPlan, where: 'lbuild.toml' | 'pyproject.toml'): string {
  const prefix = where === 'pyproject.toml' ? 'tool.lbuild.' : '';
  const lines: string[] = [];
  const key = (name: string, value: string, comment?: string) =>
    lines.push(`${name.padEnd(12)} = ${value}${comment ? `  # ${comment}` : ''}`);
  if (where === 'lbuild.toml')
    lines.push('# Written by `lbuild init`; see the README for every key.', '');
  lines.push(`[${prefix}bundle.${plan.name}]`);
  if (plan.lock !== undefined) key('lock', str(plan.lock));
  if (plan.requirements !== undefined) key('requirements', str(plan.requirements));
  if (plan.sourceRoot !== undefined)
    key(
      'source-root',
      str(plan.sourceRoot),
      'sources are resolved here; zip paths are relative to it',
    );
  key('sources', `[${plan.sources.map(str).join(', ')}]`);
  key('python', str(plan.python), plan.pythonFrom);
  key('architecture', str('x86_64'), 'or "arm64"');
  key('output', str(plan.output));
  if (plan.handler !== undefined) {
    lines.push('', `[${prefix}function.${plan.name}]`);
    key('bundle', str(plan.name));
    key(
      'handler',
      str(plan.handler),
      plan.handlerAt ? `${plan.handlerAt.file}:${plan.handlerAt.line}` : undefined,
    );
    lines.push(
      '# Before `lbuild deploy`: the function and where it lives.',
      `# function-name = ${str(plan.name)}`,
      '# region        = "eu-west-1"',
      '# role          = "arn:aws:iam::123456789012:role/NAME"',
    );
  }
  return lines.join('\n') + '\n';
}

/** A .gitignore pattern without the anchoring and directory slashes that do not change it here. */
const bare = (pattern: string) => pattern.trim().replace(/^\//, '').replace(/\/$/, '');

/**
 * The lines to append to a .gitignore (undefined: there is none yet) so that it ignores each of
 * `entries`: an entry an existing line already names, or lies below a folder one names
 * (`dist/` covers `/dist/api.zip`), is not added again.
 */
export function gitignoreAddition(
  existing: string | undefined,
  entries: readonly string[],
): string {
  const present = new Set(
    (existing ?? '')
      .split(/\r?\n/)
      .filter((l) => l.trim() !== '' && !l.trim().startsWith('#') && !l.trim().startsWith('!'))
      .map(bare),
  );
  const missing = entries.filter((entry) => {
    const parts = bare(entry).split('/');
    return !parts.some((_, i) => present.has(parts.slice(0, i + 1).join('/')));
  });
  if (missing.length === 0) return '';
  const separator =
    existing === undefined || existing === '' ? '' : existing.endsWith('\n') ? '\n' : '\n\n';
  return `${separator}# lbuild: build state and outputs\n${missing.join('\n')}\n`;
}
