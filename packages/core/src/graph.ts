import { configError, LbuildError, type Failure, type SourceLocation } from './failure.js';
import type { TargetKey } from './key.js';
import type { TargetDefinition } from './target.js';

/**
 * The target graph of a project: definitions by key, checked once when it is built (duplicate
 * keys, unknown dependencies, cycles), plus aliases (`api` → `api:zip`).
 */
export class TargetGraph {
  readonly targets: ReadonlyMap<TargetKey, TargetDefinition>;
  readonly aliases: ReadonlyMap<string, TargetKey>;
  /** Dependents of each key, for watch mode and `graph`. */
  readonly dependents: ReadonlyMap<TargetKey, TargetKey[]>;

  constructor(
    definitions: readonly TargetDefinition[],
    aliases: ReadonlyMap<string, TargetKey> = new Map(),
  ) {
    const targets = new Map<TargetKey, TargetDefinition>();
    for (const def of definitions) {
      const previous = targets.get(def.key);
      if (previous) {
        throw configError('duplicate-target', `duplicate target \`${def.key}\``, {
          hint: `target names must be unique across [target], [bundle] and [function] tables${where(previous.location)}`,
          ...(def.location ? { location: def.location } : {}),
        });
      }
      targets.set(def.key, def);
    }
    for (const [alias, key] of aliases) {
      if (targets.has(alias) && alias !== key) {
        const def = targets.get(alias);
        throw configError('duplicate-target', `duplicate target \`${alias}\``, {
          hint: `\`${alias}\` also names ${key}; rename one of them`,
          ...(def?.location ? { location: def.location } : {}),
        });
      }
    }
    this.#inferOutputEdges(targets);
    const dependents = new Map<TargetKey, TargetKey[]>();
    for (const def of targets.values()) {
      for (const dep of def.deps) {
        if (!targets.has(dep)) {
          const said = def.missingDependency?.(dep, targets);
          if (said) throw new LbuildError(said);
          const suggestion = closest(dep, [...targets.keys()]);
          throw configError(
            'unknown-dependency',
            `target ${def.key} depends on \`${dep}\`, which is not a target`,
            {
              hint: suggestion
                ? `did you mean \`${suggestion}\`?`
                : `defined targets: ${[...targets.keys()].join(', ')}`,
              ...(def.location ? { location: def.location } : {}),
            },
          );
        }
        const list = dependents.get(dep) ?? [];
        list.push(def.key);
        dependents.set(dep, list);
      }
    }
    this.targets = targets;
    this.aliases = aliases;
    this.dependents = dependents;
    this.#checkCycles();
    this.#checkDependencies();
  }

  /** Every target's own check of its dependencies; all problems are reported at once. */
  #checkDependencies(): void {
    const failures: Failure[] = [];
    for (const def of this.targets.values()) {
      if (!def.checkDependencies) continue;
      try {
        def.checkDependencies(new Map(def.deps.map((dep) => [dep, this.get(dep)])));
      } catch (error) {
        if (!(error instanceof LbuildError)) throw error;
        const { others = [], ...failure } = error.failure;
        failures.push(failure, ...others);
      }
    }
    const [first, ...others] = failures;
    if (first) throw new LbuildError(others.length ? { ...first, others } : first);
  }

  /** An input path that another target declares as an output makes an implicit edge (as in make). */
  #inferOutputEdges(targets: Map<TargetKey, TargetDefinition>): void {
    const producer = new Map<string, TargetKey>();
    for (const def of targets.values()) {
      for (const out of def.outputs ?? []) producer.set(normalise(out), def.key);
    }
    if (producer.size === 0) return;
    for (const def of targets.values()) {
      for (const spec of def.inputs ?? []) {
        for (const pattern of spec.patterns) {
          const from = producer.get(normalise(pattern));
          if (from && from !== def.key && !def.deps.includes(from)) def.deps = [...def.deps, from];
        }
      }
    }
  }

  #checkCycles(): void {
    const state = new Map<TargetKey, 'visiting' | 'done'>();
    const stack: TargetKey[] = [];
    const visit = (key: TargetKey): void => {
      const s = state.get(key);
      if (s === 'done') return;
      if (s === 'visiting') {
        const cycle = [...stack.slice(stack.indexOf(key)), key];
        const def = this.targets.get(key);
        throw configError('cycle', `dependency cycle: ${cycle.join(' → ')}`, {
          hint: 'a target cannot depend on itself, directly or through others; remove one of these edges',
          ...(def?.location ? { location: def.location } : {}),
        });
      }
      state.set(key, 'visiting');
      stack.push(key);
      for (const dep of this.get(key).deps) visit(dep);
      stack.pop();
      state.set(key, 'done');
    };
    for (const key of [...this.targets.keys()].sort()) visit(key);
  }

  get(key: TargetKey): TargetDefinition {
    const def = this.targets.get(key);
    if (!def) throw new Error(`unknown target ${key}`);
    return def;
  }

  /** Resolves a name the user typed: a key or an alias. */
  resolve(name: string): TargetKey {
    if (this.targets.has(name)) return name;
    const aliased = this.aliases.get(name);
    if (aliased) return aliased;
    const known = [...this.targets.keys(), ...this.aliases.keys()];
    const suggestion = closest(name, known);
    throw configError('unknown-target', `no target named \`${name}\``, {
      hint: suggestion
        ? `did you mean \`${suggestion}\`? (\`lbuild graph\` lists the targets)`
        : '`lbuild graph` lists the targets',
    });
  }

  defaultTargets(): TargetKey[] {
    return [...this.targets.values()].filter((t) => t.buildByDefault !== false).map((t) => t.key);
  }

  /** The requested targets and everything they depend on, dependencies first (stable order). */
  closure(roots: readonly TargetKey[]): TargetKey[] {
    const order: TargetKey[] = [];
    const seen = new Set<TargetKey>();
    const visit = (key: TargetKey): void => {
      if (seen.has(key)) return;
      seen.add(key);
      for (const dep of this.get(key).deps) visit(dep);
      order.push(key);
    };
    for (const root of roots) visit(root);
    return order;
  }
}

function normalise(path: string): string {
  return path.replace(/^\.\//, '').replace(/\/+$/, '');
}

function where(location: SourceLocation | undefined): string {
  return location?.key ? ` (first defined at ${location.key})` : '';
}

/** The closest candidate by edit distance, when it is close enough to be a plausible typo. */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const d = editDistance(word, candidate);
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return bestDistance <= Math.max(1, Math.floor(word.length / 3)) ? best : undefined;
}

export function editDistance(a: string, b: string): number {
  // Optimal string alignment: inserting, deleting or replacing a character, or swapping two
  // adjacent ones, each costs 1, so the commonest typo (`tset` for `test`) is one edit away.
  let before: number[] = [];
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min(
        (previous[j] ?? 0) + 1,
        (row[j - 1] ?? 0) + 1,
        (previous[j - 1] ?? 0) + cost,
      );
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        d = Math.min(d, (before[j - 2] ?? 0) + 1);
      }
      row.push(d);
    }
    before = previous;
    previous = row;
  }
  return previous[b.length] ?? 0;
}
