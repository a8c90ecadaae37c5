import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runBuild, type BuildOptions } from '../src/build.js';
import type { BuildEvent } from '../src/events.js';
import { TargetGraph } from '../src/graph.js';
import { describeReason, type Reason } from '../src/reason.js';
import type { TargetDefinition } from '../src/target.js';

let root: string;

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'lbuild-explain-'));
});

afterEach(() => {
  rmSync(root, { recursive: true, force: true });
});

/** A target whose recipe is `recipe` and whose `explain` records the fields it was asked about. */
function target(recipe: { index: string; flags: string; mirror?: string }) {
  const asked: string[] = [];
  const def: TargetDefinition = {
    key: 'wheels',
    kind: 'test',
    deps: [],
    recipe: () => recipe,
    explain: (field) => {
      asked.push(field);
      if (field === 'flags') return Promise.resolve(undefined);
      return Promise.resolve(`from INDEX (${recipe.index})`);
    },
    run: () => Promise.resolve(undefined),
  };
  return { def, asked };
}

async function build(def: TargetDefinition, options: Partial<BuildOptions> = {}) {
  const events: BuildEvent[] = [];
  const graph = new TargetGraph([def]);
  const summary = await runBuild({
    root,
    graph,
    targets: [def.key],
    jobs: 1,
    onEvent: (e) => events.push(e),
    ...options,
  });
  const report = summary.targets.find((t) => t.key === def.key);
  return { reasons: report?.reasons ?? [], status: report?.status, events };
}

describe('explain: detail on a recipe field that changed', () => {
  it('is attached to recipe-changed reasons with explain, in every mode, and printed', async () => {
    expect((await build(target({ index: 'a', flags: 'x' }).def)).status).toBe('built');
    // `mirror` is new and made from the same setting as `index`: the same text, given once.
    const { def, asked } = target({ index: 'b', flags: 'y', mirror: 'b' });

    const expected: Reason[] = [
      { kind: 'recipe-changed', field: 'index', detail: 'from INDEX (b)' },
      { kind: 'recipe-changed', field: 'flags' },
      { kind: 'recipe-changed', field: 'mirror' },
    ];
    for (const mode of ['query', 'dry-run'] as const) {
      const { reasons } = await build(def, { mode, explain: true });
      expect(reasons).toEqual(expected);
    }
    expect(describeReason(expected[0] as Reason)).toBe('recipe changed: index (from INDEX (b))');
    expect(describeReason(expected[1] as Reason)).toBe('recipe changed: flags');

    const { reasons, events } = await build(def, { explain: true });
    expect(reasons).toEqual(expected);
    const start = events.find((e) => e.type === 'target-start');
    expect(start && 'reasons' in start ? start.reasons : []).toEqual(expected);
    expect(asked).toEqual(Array(3).fill(['index', 'flags', 'mirror']).flat());
  });

  it('is never asked for without explain, nor for a target that is up to date', async () => {
    const { def, asked } = target({ index: 'a', flags: 'x' });
    await build(def, { explain: true });
    expect(asked).toEqual([]);
    const changed = target({ index: 'b', flags: 'x' });
    const query = await build(changed.def, { mode: 'query' });
    expect(query.status).toBe('stale');
    expect(query.reasons).toEqual([{ kind: 'recipe-changed', field: 'index' }]);
    expect(changed.asked).toEqual([]);
    await build(changed.def);
    expect(changed.asked).toEqual([]);
    expect((await build(changed.def, { mode: 'query', explain: true })).status).toBe('up-to-date');
    expect(changed.asked).toEqual([]);
  });
});
