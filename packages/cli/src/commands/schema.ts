import { configJsonSchema } from '@lbuild/core';
import { allPlugins } from '../plugins.js';

/** The JSON Schema of lbuild.toml, for editors (also in schema/ in the repository). */
export async function schemaJson(): Promise<string> {
  const schema = configJsonSchema(await allPlugins());
  return JSON.stringify({ title: 'lbuild.toml', ...schema }, null, 2) + '\n';
}

/** `lbuild schema`. */
export async function schemaCommand(): Promise<number> {
  process.stdout.write(await schemaJson());
  return 0;
}
