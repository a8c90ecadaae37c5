import { configError, definePlugin } from '@lbuild/core';
import { layerSchema, type LayerConfig } from './config.js';
import { packageTargets } from './plugin.js';

/**
 * `[layer.NAME]` → NAME:wheelhouse → NAME:staging → NAME:tree → NAME:zip (alias NAME): the
 * bundle's steps for its dependency keys, with every entry of the zip under `python/`. The
 * zip target's artifact says `layer: true`, so a deploy publishes it as a layer version.
 */
export const pythonLambdaLayerPlugin = definePlugin<LayerConfig>({
  table: 'layer',
  description:
    'A Lambda layer of Python dependencies: wheels for the runtime under python/, byte-reproducible.',
  schema: layerSchema,
  targets: (entry, table) => {
    // A layer takes no project files, so without a requirement source its zip would be empty.
    if (entry.config.requirements === undefined && entry.config.lock === undefined) {
      throw configError(
        'layer-without-dependencies',
        `[layer.${entry.name}] sets neither requirements nor lock: a layer carries dependencies, and this one would be empty`,
        {
          hint: 'set requirements = "requirements.txt" (or lock = "uv.lock"); the function’s own code goes in a [bundle.NAME] with sources',
          location: entry.location(),
        },
      );
    }
    return packageTargets('layer', entry, table);
  },
});
