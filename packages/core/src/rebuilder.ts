import { readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { statMatches, statFile, type FileHasher, type FileRecord } from './file-state.js';
import { recordAt, statMatchesAt, RACY } from './file-table.js';
import type { ExpandedInputs } from './inputs.js';
import type { TargetKey } from './key.js';
import { mapLimit } from './limit.js';
import type { Reason } from './reason.js';
import { matchedPaths, type Stamp } from './stamp.js';

export const HASH_CONCURRENCY = 16;

export interface VerifyInput {
  root: string;
  stamp: Stamp | undefined;
  recipe: Record<string, string>;
  deps: ReadonlyMap<TargetKey, string>;
  inputs: ExpandedInputs;
  outputs: readonly string[];
  hasher: FileHasher;
  /** Stop at the first reason (`-q` without `--explain` needs only a yes or no). */
  firstOnly: boolean;
}

export interface Verification {
  reasons: Reason[];
  /**
   * The trace verifies but some records no longer match by stat (a `touch`, a checkout) or were
   * racy: rewriting the stamp with fresh stats makes the next check a pure stat pass again.
   */
  refresh: boolean;
  /** The records that differ from the stamp's (re-hashed to the same content): by path. */
  files: Record<string, FileRecord>;
  outputs: Record<string, FileRecord>;
}

/**
 * The rebuilder: decides *whether* a target must run by checking its verifying trace. Cheap
 * checks come first (recipe, dependencies, the set of matched files) and file contents last,
 * read only when a stat does not match.
 */
export async function verifyTrace(input: VerifyInput): Promise<Verification> {
  const { stamp, root, hasher } = input;
  const result: Verification = { reasons: [], refresh: false, files: {}, outputs: {} };
  if (!stamp) {
    result.reasons.push({ kind: 'no-stamp' });
    return result;
  }
  const reasons = result.reasons;
  const done = () => input.firstOnly && reasons.length > 0;

  for (const field of new Set([...Object.keys(stamp.recipe), ...Object.keys(input.recipe)])) {
    if (stamp.recipe[field] !== input.recipe[field]) {
      reasons.push(
        field.startsWith('env.')
          ? { kind: 'env-changed', name: field.slice(4) }
          : { kind: 'recipe-changed', field },
      );
      if (done()) return result;
    }
  }
  for (const [dep, hash] of input.deps) {
    const before = stamp.deps[dep];
    if (before !== hash) {
      reasons.push({ kind: 'dependency-changed', dep, from: before ?? '', to: hash });
      if (done()) return result;
    }
  }
  for (const [id, files] of Object.entries(input.inputs.matches)) {
    const before = matchedPaths(stamp, id);
    if (!before) {
      reasons.push({ kind: 'recipe-changed', field: `inputs ${id}` });
      if (done()) return result;
      continue;
    }
    if (sameList(before, files)) continue;
    const was = new Set(before);
    const now = new Set(files);
    for (const file of files) {
      if (!was.has(file)) {
        reasons.push({ kind: 'input-added', path: file });
        if (done()) return result;
      }
    }
    for (const file of before) {
      if (!now.has(file)) {
        reasons.push({ kind: 'input-removed', path: file });
        if (done()) return result;
      }
    }
  }

  // Settle the stat hits first, synchronously and without a record object each; only the rest
  // are (re-)hashed.
  const table = stamp.files;
  const rows: number[] = [];
  for (let i = 0; i < table.paths.length; i++) {
    const path = table.paths[i] as string;
    if ((table.flags[i] as number) & RACY || !hasher.unseen(`${root}/${path}`)) rows.push(i);
    else {
      const stats = statFile(`${root}/${path}`);
      if (!(stats?.isFile() && statMatchesAt(table, i, stats))) rows.push(i);
    }
  }
  await mapLimit(rows, HASH_CONCURRENCY, async (i) => {
    if (done()) return;
    const path = table.paths[i] as string;
    const known = recordAt(table, i);
    const current = await hasher.state(join(root, path), known);
    if (!current) {
      if (!reasons.some((r) => r.kind === 'input-removed' && r.path === path)) {
        reasons.push({ kind: 'input-removed', path });
      }
    } else if (current.hash !== known.hash) {
      reasons.push({ kind: 'input-changed', path, from: known.hash, to: current.hash });
    } else if (current.exec !== known.exec) {
      reasons.push({ kind: 'input-mode-changed', path, executable: current.exec === true });
    } else if (current !== known) {
      result.refresh = true;
      result.files[path] = current;
    }
  });
  if (done()) return result;

  if (stamp.notMaterialised) {
    // The outputs are in the cache, not here, and must not be: anything at their paths was not
    // made from these inputs by lbuild.
    for (const declared of input.outputs) {
      if (statFile(join(root, declared)) !== undefined) {
        reasons.push({ kind: 'output-modified', path: declared, from: '', to: 'new file' });
        if (done()) return result;
      }
    }
    return result;
  }

  const current = listOutputFiles(root, input.outputs);
  const outputRows = new Map(stamp.outputs.paths.map((path, i) => [path, i]));
  for (const path of outputRows.keys()) {
    if (!current.has(path)) {
      reasons.push({ kind: 'output-missing', path });
      if (done()) return result;
    }
  }
  for (const path of current) {
    if (!outputRows.has(path))
      reasons.push({ kind: 'output-modified', path, from: '', to: 'new file' });
  }
  for (const declared of input.outputs) {
    // A declared directory that is there counts, even empty (as when the run produced it).
    if (
      !current.has(declared) &&
      !stamp.outputs.paths.some((p) => p === declared || p.startsWith(declared + '/')) &&
      !statFile(join(root, declared))?.isDirectory()
    ) {
      reasons.push({ kind: 'output-missing', path: declared });
    }
  }
  if (done()) return result;
  await mapLimit([...current], HASH_CONCURRENCY, async (path) => {
    const row = outputRows.get(path);
    if (row === undefined) return;
    const known = recordAt(stamp.outputs, row);
    const state = await hasher.state(join(root, path), known);
    if (!state) {
      reasons.push({ kind: 'output-missing', path });
    } else if (state.hash !== known.hash) {
      reasons.push({ kind: 'output-modified', path, from: known.hash, to: state.hash });
    } else if (state !== known) {
      result.refresh = true;
      result.outputs[path] = state;
    }
  });
  return result;
}

/** Two sorted file lists are equal (the usual case, checked before building sets). */
function sameList(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Declared outputs as files, root-relative: a directory output stands for every file below it. */
export function listOutputFiles(root: string, outputs: readonly string[]): Set<string> {
  const files = new Set<string>();
  for (const output of outputs) {
    const abs = join(root, output);
    const stats = statFile(abs);
    if (stats?.isFile()) files.add(output);
    else if (stats?.isDirectory()) {
      for (const entry of readdirSync(abs, { recursive: true, withFileTypes: true })) {
        if (entry.isFile())
          files.add(relative(root, join(entry.parentPath, entry.name)).split('\\').join('/'));
      }
    }
  }
  return files;
}

/** Whether a file changed since a stat snapshot (used to find partial outputs of a killed run). */
export function changedSince(path: string, before: ReturnType<typeof statFile>): boolean {
  const now = statFile(path);
  if (!now) return false;
  if (!before) return true;
  return !statMatches(
    {
      hash: '' as never,
      size: before.size,
      mtimeMs: before.mtimeMs,
      ctimeMs: before.ctimeMs,
      ino: before.ino,
    },
    now,
  );
}
