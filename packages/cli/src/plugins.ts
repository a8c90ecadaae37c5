import type { Plugin, PluginSource } from '@lbuild/core';
import { deployPluginOptions } from './deploy-options.js';

/**
 * The plugins the `lbuild` command knows, each owning one table of the config file. They are
 * loaded only when the config uses their table, so a project of plain targets never evaluates
 * the bundle or deploy code; the deploy plugin's own entry loads the AWS SDK only for a deploy.
 */
export function plugins(): PluginSource[] {
  return [
    {
      table: 'bundle',
      load: async () => (await import('@lbuild/python-lambda')).pythonLambdaPlugin,
    },
    {
      table: 'layer',
      load: async () => (await import('@lbuild/python-lambda')).pythonLambdaLayerPlugin,
    },
    {
      table: 'function',
      load: async () => {
        const { createLambdaDeployPlugin } = await import('@lbuild/lambda-deploy/plugin');
        return createLambdaDeployPlugin(deployPluginOptions(process.env));
      },
    },
  ];
}

/** Every plugin, loaded (for the JSON Schema). */
export async function allPlugins(): Promise<Plugin[]> {
  return Promise.all(plugins().map((p) => ('load' in p ? p.load() : Promise.resolve(p))));
}
