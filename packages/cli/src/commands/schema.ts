import { configJsonSchema } from '@lbuild/core';
import { plugins } from '../plugins.js';

/** `lbuild schema`: the JSON Schema of lbuild.toml, for editors (also in schema/ in the repository). */
export function schemaJson(): string {
  const schema = configJsonSchema(plugins());
  return JSON.stringify({ title: 'lbuild.toml', ...schema }, null, 2) + '\n';
}

export function schemaCommand(): Promise<number> {
  process.stdout.write(schemaJson());
  return Promise.resolve(0);
}
