import { definePlugin } from '@lbuild/core';
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
  targets: (entry, table) => packageTargets('layer', entry, table),
});
