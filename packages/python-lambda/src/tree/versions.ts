// What the tree's recipe names, apart from the modules that use it: those load node:crypto, the
// wheel reader and node:zlib, which a no-op check never needs.

/** The tree manifest's format; bumped when the meaning of a field changes. */
export const TREE_MANIFEST_VERSION = 1;

/**
 * Names how wheels are laid out in the bundle (what planInstall and readWheel do); it enters the
 * tree's recipe, so a bundle built by a version of lbuild that laid them out otherwise is
 * rebuilt.
 */
export const INSTALL_LAYOUT = 'pip-install-target/1';

/** The interpreter of a Lambda Python runtime, e.g. `/var/lang/bin/python3.12`. */
export function lambdaInterpreter(python: string): string {
  return `/var/lang/bin/python${python}`;
}
