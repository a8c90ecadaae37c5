import { basename } from 'node:path';
import type { TreeManifest } from './manifest.js';

/**
 * The `.pth` files at the root of a bundle, each with where it comes from: Python runs them only
 * in a site directory, and Lambda's task root is not one, so whatever they set up is missing at
 * run time (a warning, not an error: some are harmless, such as a namespace helper the package
 * no longer needs on Python 3).
 */
export function pthFiles(manifest: TreeManifest): string[] {
  return manifest.entries
    .filter((entry) => !entry.path.includes('/') && entry.path.endsWith('.pth'))
    .map((entry) => {
      const from =
        entry.source.kind === 'wheel'
          ? `from ${basename(entry.source.wheel)}`
          : (entry.source.origin ?? 'a project file');
      return `${entry.path} (${from})`;
    });
}
