import { normalize } from 'node:path';
import type { BundleConfig } from './config.js';

/**
 * The keys of a bundle that decide nothing about its wheels: they shape the tree and the zip.
 * Every other key, one added later included, counts for the wheelhouse, so that bundles share
 * pip's work only when nothing could make their wheels differ.
 */
const TREE_AND_ZIP_KEYS: ReadonlySet<string> = new Set([
  'source-root',
  'sources',
  'exclude',
  'files',
  'output',
  'compression-level',
  'max-unzipped-size',
  'allow-host-built-wheels',
]);

/**
 * What decides a bundle's wheelhouse, as a string: bundles of one project with the same one
 * resolve the same requirements file for the same runtime with the same pip options and build
 * Python, so one wheelhouse target serves them all. Defaults are filled in, so that a key left
 * out and one set to its default compare equal.
 */
export function wheelhouseIdentity(config: BundleConfig): string {
  const decisive: Record<string, unknown> = {
    python: '3.12',
    architecture: 'x86_64',
    'build-python': 'python3',
    'no-build-isolation': false,
    'no-index': false,
  };
  for (const [key, value] of Object.entries(config)) {
    if (!TREE_AND_ZIP_KEYS.has(key)) decisive[key] = value;
  }
  if (config.requirements !== undefined) decisive.requirements = normalize(config.requirements);
  return canonicalJson(decisive);
}

/** What decides a bundle's staging: its wheelhouse and whether host-built wheels may ship. */
export function stagingIdentity(config: BundleConfig): string {
  return canonicalJson({
    wheelhouse: wheelhouseIdentity(config),
    allowHostBuiltWheels: config['allow-host-built-wheels'] ?? false,
  });
}

/** Items grouped by a key, groups and their items in the order first seen. */
export function groupBy<T>(items: readonly T[], keyOf: (item: T) => string): T[][] {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const key = keyOf(item);
    const group = groups.get(key);
    if (group) group.push(item);
    else groups.set(key, [item]);
  }
  return [...groups.values()];
}

/** JSON with object keys sorted at every level: equal values give equal strings. */
function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v !== null && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(
          Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1)),
        )
      : v,
  );
}
