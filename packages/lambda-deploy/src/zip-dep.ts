import { buildError, type Json, type TargetKey } from '@lbuild/core';

/** What the zip target of a bundle or layer records about its zip (see python-lambda's zip target). */
export interface ZipValue {
  sha256: string;
  codeSha256: string;
  size: number;
  /** The entries' total size, unzipped (absent from zip targets that do not record it). */
  unzippedSize?: number;
}

/** The zip a dependency `key` made: its path and recorded hashes; fails when it has none. */
export function zipDependency(
  deps: ReadonlyMap<TargetKey, { outputs: string[]; value: Json | undefined }>,
  key: TargetKey,
  what: string,
  build: string,
): { path: string; value: ZipValue } {
  const dep = deps.get(key);
  const value = dep?.value as ZipValue | undefined;
  const path = dep?.outputs[0];
  if (!value?.codeSha256 || !path)
    throw buildError('zip-missing', `the zip of ${what} has no recorded hash`, {
      hint: `build it: lbuild ${build}`,
    });
  return { path, value };
}
