import { isAbsolute, relative, sep } from 'node:path';
import type { Json } from '@lbuild/core';
import type { IndexOptions } from './index-options.js';
import { indexIdentity, localFindLinksDir } from './index-options.js';
import type { RuntimePlatform, WheelhouseStrategy } from './platform.js';
import type { BuildPython } from './python.js';
import type { Requirements } from './requirements.js';
import { lambdaMarkerEnvironment } from './target-environment.js';

export interface WheelhouseRecipeOptions {
  python: BuildPython;
  platform: RuntimePlatform;
  strategy: WheelhouseStrategy;
  index: IndexOptions;
  requirements: Requirements;
  projectRoot: string;
  noBuildIsolation: boolean;
}

function rel(path: string, root: string): string {
  const r = relative(root, path);
  if (r === '') return '.';
  return isAbsolute(r) ? r : r.split(sep).join('/');
}

/**
 * What decides the wheels a bundle gets, apart from file contents, for the wheelhouse and
 * staging fingerprints. Each field and why it is there:
 * - `python`: version, implementation, CPU, glibc and pip version of the build Python (and that it
 *   is free-threaded, which is refused): pip's resolver and (with `pip-wheel`) the wheels it
 *   builds depend on them. Not its path: the same
 *   Python elsewhere chooses the same wheels. `wheel`/`setuptools` only with no-build-isolation,
 *   the one case where the installed ones build the local projects.
 * - `strategy`, `platform`: the runtime's tags (Python, ABI, manylinux platforms) select the
 *   wheels; `pip-wheel` and `pip-download` may pick different files for the same requirement.
 * - `markerEnvironment`: the values environment markers are evaluated against (see
 *   lambdaMarkerEnvironment). They follow from the runtime, but they are lbuild's choices (the
 *   patch level assumed, the kernel strings): a wheelhouse resolved under other values, or by an
 *   lbuild that judged markers for the build machine, holds another set of wheels.
 * - `index`: {@link indexIdentity} of the effective sources (lbuild.toml's keys over pip's
 *   configuration, see resolvePackageSources) and the requirements files' own (credentials
 *   stripped, find-links relative to the project root).
 * - `requirements`: every logical line of every file read, normalised (comments and spacing do
 *   not count), with its file relative to the project root.
 * - `localProjects`: where the local path requirements are; their contents are inputs (see
 *   {@link wheelhouseInputs}).
 * - `noBuildIsolation`: changes how local projects and sdists are built.
 * Other PIP_* variables do not enter: lbuild drops those that choose packages.
 */
export function wheelhouseRecipe(opts: WheelhouseRecipeOptions): Json {
  const { python, platform, projectRoot } = opts;
  const pythonId: Record<string, Json> = {
    version: python.version,
    implementation: python.implementation,
    system: python.system,
    machine: python.machine,
    glibc: python.glibc ?? null,
    pip: python.pip?.version ?? null,
  };
  // Only when set, so the fingerprints of standard builds stay as they were; a stamp made with a
  // free-threaded Python before lbuild refused one no longer matches.
  if (python.freeThreaded) pythonId.freeThreaded = true;
  if (opts.noBuildIsolation) {
    pythonId.wheel = python.hasWheel;
    pythonId.setuptools = python.hasSetuptools;
  }
  return {
    python: pythonId,
    strategy: opts.strategy,
    platform: {
      runtime: platform.runtime,
      key: platform.key,
      implementation: platform.implementation,
      abis: platform.abis,
      platforms: platform.platforms,
    },
    markerEnvironment: { ...lambdaMarkerEnvironment(platform) },
    index: indexIdentity(opts.index, projectRoot),
    requirementsIndex: indexIdentity(opts.requirements.index, projectRoot),
    requirements: opts.requirements.lines.map((line) => ({
      file: rel(line.file, projectRoot),
      constraint: line.constraint,
      text: line.text,
    })),
    localProjects: opts.requirements.localPaths.map((local) => rel(local.path, projectRoot)),
    noBuildIsolation: opts.noBuildIsolation,
  };
}

/**
 * The files and directories whose contents the wheelhouse depends on, absolute: the
 * requirements files (with every include), the local path projects (directories or archives),
 * and local find-links directories (lbuild.toml's and the requirements files'). A new wheel
 * dropped into a find-links folder must refill the wheelhouse.
 */
export function wheelhouseInputs(
  requirements: Requirements,
  index: IndexOptions,
  projectRoot: string,
): { files: string[]; directories: string[] } {
  const files = [...requirements.files];
  const directories: string[] = [];
  for (const local of requirements.localPaths) {
    if (local.type === 'directory') directories.push(local.path);
    else files.push(local.path);
  }
  for (const entry of [...index.findLinks, ...requirements.index.findLinks]) {
    const dir = localFindLinksDir(entry, projectRoot);
    if (dir !== undefined) directories.push(dir);
  }
  return { files: [...new Set(files)], directories: [...new Set(directories)] };
}
