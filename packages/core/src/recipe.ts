import { hashJson } from './hash.js';
import type { Json } from './target.js';

/**
 * Flattens a recipe into dotted fields, each hashed on its own, so the stamp can say *which*
 * field changed without storing values (env values may be secrets; only their hashes are kept).
 */
export async function hashRecipe(
  recipe: Json,
): Promise<{ hash: string; fields: Record<string, string> }> {
  const leaves: [string, Json][] = [];
  const walk = (prefix: string, value: Json): void => {
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
      const keys = Object.keys(value);
      if (keys.length === 0 && prefix) leaves.push([prefix, value]);
      for (const key of keys) {
        const child = value[key];
        if (child !== undefined) walk(prefix ? `${prefix}.${key}` : key, child);
      }
    } else {
      leaves.push([prefix || '(value)', value]);
    }
  };
  walk('', recipe);
  const fields: Record<string, string> = {};
  for (const [field, value] of leaves) fields[field] = await hashJson(value);
  return { hash: await hashJson(fields), fields };
}
