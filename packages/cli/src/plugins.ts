import type { Plugin } from '@lbuild/core';
import { pythonLambdaPlugin } from '@lbuild/python-lambda';

/** The plugins the `lbuild` command knows: each owns one table of the config file. */
export function plugins(): Plugin[] {
  return [pythonLambdaPlugin as Plugin];
}
