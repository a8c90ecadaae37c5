import { relative, sep } from 'node:path';
import type { TargetDefinition } from '@lbuild/core';
import { openProject, type GlobalOptions } from '../context.js';

/** `lbuild graph`: the targets and their edges, as text, DOT (`--dot`) or JSON (`--json`). */
export async function graphCommand(options: GlobalOptions & { dot?: boolean }): Promise<number> {
  const project = await openProject(options);
  const targets = [...project.graph.targets.values()];
  if (options.dot) {
    const lines = ['digraph lbuild {', '  rankdir=LR;', '  node [shape=box];'];
    for (const t of targets)
      lines.push(`  ${JSON.stringify(t.key)} [label=${JSON.stringify(`${t.key}\n(${t.kind})`)}];`);
    for (const t of targets)
      for (const d of t.deps) lines.push(`  ${JSON.stringify(d)} -> ${JSON.stringify(t.key)};`);
    lines.push('}');
    process.stdout.write(lines.join('\n') + '\n');
    return 0;
  }
  // Declared patterns, then what the target's plugin knows it will read (the files of a
  // wheelhouse's requirements), root-relative: everything a change of which reruns the target.
  const inputs = new Map<string, string[]>();
  for (const t of targets) {
    const found = (await t.listInputs?.()) ?? [];
    inputs.set(t.key, [
      ...(t.inputs?.flatMap((i) => i.patterns) ?? []),
      ...found.map((path) => {
        const name = relative(project.root, path).split(sep).join('/');
        return path.endsWith('/') ? `${name}/` : name;
      }),
    ]);
  }
  const aliases = new Map<string, string[]>();
  for (const [alias, key] of project.graph.aliases)
    aliases.set(key, [...(aliases.get(key) ?? []), alias]);
  if (options.json) {
    const out = targets.map((t) => ({
      key: t.key,
      kind: t.kind,
      deps: t.deps,
      inputs: inputs.get(t.key) ?? [],
      outputs: t.outputs ?? [],
      aliases: aliases.get(t.key) ?? [],
      default: project.defaults.includes(t.key),
      ...(t.description ? { description: t.description } : {}),
    }));
    process.stdout.write(JSON.stringify({ root: project.root, targets: out }, null, 2) + '\n');
    return 0;
  }
  const describe = (t: TargetDefinition) => {
    const alias = aliases.get(t.key);
    const marks = [
      t.kind,
      ...(alias ? [`alias ${alias.join(', ')}`] : []),
      ...(project.defaults.includes(t.key) ? ['default'] : []),
    ];
    const lines = [`${t.key}  (${marks.join('; ')})`];
    if (t.deps.length) lines.push(`  deps:    ${t.deps.join(', ')}`);
    const listed = inputs.get(t.key) ?? [];
    if (listed.length) lines.push(`  inputs:  ${listed.join(', ')}`);
    if (t.outputs?.length) lines.push(`  outputs: ${t.outputs.join(', ')}`);
    return lines.join('\n');
  };
  process.stdout.write(
    project.graph
      .closure([...project.graph.targets.keys()].sort())
      .map((k) => describe(project.graph.get(k)))
      .join('\n') + '\n',
  );
  return 0;
}
