import type { Plugin } from '@lbuild/core';

/** The plugins the `lbuild` command knows: each owns one table of the config file. */
export function plugins(): Plugin[] {
  return [];
}
