import { describe, expect, it } from 'vitest';
import { LbuildError, type DescribedFailure } from '../src/failure.js';
import { closest, editDistance, TargetGraph } from '../src/graph.js';
import type { TargetDefinition } from '../src/target.js';

/** A target declared at `[target.KEY]` on line `line` of /p/lbuild.toml. */
function target(
  key: string,
  deps: string[] = [],
  more: Partial<TargetDefinition> = {},
  line = 1,
): TargetDefinition {
  return {
    key,
    kind: 'command',
    deps,
    recipe: () => ({ command: key }),
    run: () => Promise.resolve(undefined),
    location: { file: '/p/lbuild.toml', line, column: 1, key: `target.${key}` },
    ...more,
  };
}

/** The failure a constructor or call throws. */
function failureOf(fn: () => unknown): DescribedFailure {
  try {
    fn();
  } catch (error) {
    if (error instanceof LbuildError) return error.failure as DescribedFailure;
    throw error;
  }
  throw new Error('expected an LbuildError');
}

describe('TargetGraph', () => {
  it('rejects a duplicate target, pointing at the second and naming the first', () => {
    const failure = failureOf(
      () => new TargetGraph([target('test', [], {}, 1), target('test', [], {}, 9)]),
    );
    expect(failure).toEqual({
      reason: 'duplicate-target',
      kind: 'config',
      message: 'duplicate target `test`',
      hint: 'target names must be unique across [target], [bundle] and [function] tables (first defined at target.test)',
      location: { file: '/p/lbuild.toml', line: 9, column: 1, key: 'target.test' },
    });
  });

  it('rejects an alias that is also a target name', () => {
    const failure = failureOf(
      () => new TargetGraph([target('api'), target('api:zip')], new Map([['api', 'api:zip']])),
    );
    expect(failure).toMatchObject({
      reason: 'duplicate-target',
      message: 'duplicate target `api`',
      hint: '`api` also names api:zip; rename one of them',
    });
  });

  it('lets each target check its dependencies’ artifacts, and reports every problem at once', () => {
    const seen: string[] = [];
    const wants = (python: string) => (deps: ReadonlyMap<string, TargetDefinition>) => {
      const made = deps.get('zip')?.artifact?.lambda as { python?: string } | undefined;
      seen.push(`${[...deps.keys()].join(',')}=${made?.python ?? '?'}`);
      if (made?.python !== python) {
        throw new LbuildError({
          reason: 'runtime-mismatch',
          message: `wants ${python}`,
          kind: 'config',
        });
      }
    };
    const zip = target('zip', [], { artifact: { lambda: { python: '3.11' } } });
    expect(
      () => new TargetGraph([zip, target('a', ['zip'], { checkDependencies: wants('3.11') })]),
    ).not.toThrow();
    expect(seen).toEqual(['zip=3.11']);
    const failure = failureOf(
      () =>
        new TargetGraph([
          zip,
          target('a', ['zip'], { checkDependencies: wants('3.12') }),
          target('b', ['zip'], { checkDependencies: wants('3.13') }),
        ]),
    );
    expect(failure).toMatchObject({
      message: 'wants 3.12',
      others: [{ message: 'wants 3.13' }],
    });
  });

  it('rejects an unknown dependency, with the target it was probably meant to be', () => {
    const failure = failureOf(
      () => new TargetGraph([target('compile'), target('package', ['compil'], {}, 5)]),
    );
    expect(failure).toEqual({
      reason: 'unknown-dependency',
      kind: 'config',
      message: 'target package depends on `compil`, which is not a target',
      hint: 'did you mean `compile`?',
      location: { file: '/p/lbuild.toml', line: 5, column: 1, key: 'target.package' },
    });
  });

  it('lists the defined targets when no name is close', () => {
    const failure = failureOf(
      () => new TargetGraph([target('compile'), target('docs'), target('package', ['zzz'])]),
    );
    expect(failure.hint).toBe('defined targets: compile, docs, package');
  });

  it('rejects a cycle, spelling it out from where it closes', () => {
    const failure = failureOf(
      () => new TargetGraph([target('a', ['b']), target('b', ['c']), target('c', ['a'])]),
    );
    expect(failure).toMatchObject({
      reason: 'cycle',
      kind: 'config',
      message: 'dependency cycle: a → b → c → a',
      hint: 'a target cannot depend on itself, directly or through others; remove one of these edges',
      location: { key: 'target.a' },
    });
  });

  it('rejects a target that depends on itself', () => {
    expect(failureOf(() => new TargetGraph([target('a', ['a'])])).message).toBe(
      'dependency cycle: a → a',
    );
  });

  it('finds a cycle below an acyclic part', () => {
    const failure = failureOf(
      () =>
        new TargetGraph([
          target('app', ['lib']),
          target('lib', ['x']),
          target('x', ['y']),
          target('y', ['x']),
        ]),
    );
    expect(failure.message).toBe('dependency cycle: x → y → x');
  });

  it('adds an edge from the target that declares an output to one that reads it as an input', () => {
    const graph = new TargetGraph([
      target('package', [], { inputs: [{ patterns: ['./build/code.txt'] }] }),
      target('compile', [], { outputs: ['build/code.txt'] }),
    ]);
    expect(graph.get('package').deps).toEqual(['compile']);
    expect(graph.dependents.get('compile')).toEqual(['package']);
    expect(graph.closure(['package'])).toEqual(['compile', 'package']);
  });

  it('orders a closure dependencies first, each once, in a stable order', () => {
    const graph = new TargetGraph([
      target('d', ['b', 'c']),
      target('b', ['a']),
      target('c', ['a']),
      target('a'),
      target('e'),
    ]);
    expect(graph.closure(['d'])).toEqual(['a', 'b', 'c', 'd']);
    expect(graph.closure(['e', 'd', 'b'])).toEqual(['e', 'a', 'b', 'c', 'd']);
  });

  it('resolves names and aliases, and says which target an unknown name was meant to be', () => {
    const graph = new TargetGraph(
      [target('api:zip'), target('test')],
      new Map([['api', 'api:zip']]),
    );
    expect(graph.resolve('test')).toBe('test');
    expect(graph.resolve('api')).toBe('api:zip');
    expect(failureOf(() => graph.resolve('tset'))).toEqual({
      reason: 'unknown-target',
      kind: 'config',
      message: 'no target named `tset`',
      hint: 'did you mean `test`? (`lbuild graph` lists the targets)',
    });
    expect(failureOf(() => graph.resolve('deploy')).hint).toBe('`lbuild graph` lists the targets');
  });

  it('builds by default every target that does not opt out', () => {
    const graph = new TargetGraph([
      target('a'),
      target('upload', [], { buildByDefault: false }),
      target('b'),
    ]);
    expect(graph.defaultTargets()).toEqual(['a', 'b']);
  });
});

describe('closest', () => {
  it('suggests a plausible typo and nothing for an unrelated word', () => {
    expect(closest('ouputs', ['command', 'inputs', 'outputs'])).toBe('outputs');
    expect(closest('dpes', ['deps', 'env'])).toBe('deps');
    expect(closest('xyz', ['command', 'inputs'])).toBeUndefined();
    expect(closest('a', [])).toBeUndefined();
  });

  it('measures edit distance', () => {
    expect(editDistance('kitten', 'sitting')).toBe(3);
    expect(editDistance('', 'abc')).toBe(3);
    expect(editDistance('same', 'same')).toBe(0);
    // A swap of two adjacent characters is one edit.
    expect(editDistance('tset', 'test')).toBe(1);
    expect(editDistance('ouptuts', 'outputs')).toBe(1);
    expect(editDistance('ab', 'ba')).toBe(1);
    expect(editDistance('abc', 'ca')).toBe(3);
  });
});
