import { closest, configError, type Project, type TargetKey } from '@lbuild/core';
import type { GlobalOptions } from '../context.js';
import { buildCommand } from './build.js';
import { watchCommand } from './watch.js';

/** The upload targets for `lbuild deploy [NAME...]`: the named functions, or all of them. */
export function selectFunctions(project: Project, names: readonly string[]): TargetKey[] {
  const all = [...project.graph.targets.values()]
    .filter((t) => t.kind === 'upload')
    .map((t) => t.key);
  if (names.length === 0) {
    if (all.length === 0) {
      throw configError(
        'no-functions',
        'nothing to deploy: the config has no [function.NAME] table',
        {
          hint: 'add one, e.g. [function.api] with bundle = "api" and function-name = "..." (see the README, "Deploying")',
          location: { file: project.config.file },
        },
      );
    }
    return all;
  }
  return names.map((name) => {
    // The upload target of [function.NAME] (see lambda-deploy's uploadKey; not imported, so that
    // selecting functions does not load the plugin before the config asks for it).
    const key = `${name}:upload`;
    if (project.graph.targets.has(key)) return key;
    const suggestion = closest(
      name,
      all.map((k) => k.replace(/:upload$/, '')),
    );
    throw configError('unknown-function', `no function named \`${name}\``, {
      hint: suggestion
        ? `did you mean \`${suggestion}\`?`
        : `functions are defined by [function.NAME] tables${all.length ? `: ${all.map((k) => k.replace(/:upload$/, '')).join(', ')}` : ''}`,
    });
  });
}

/** `lbuild deploy [NAME...]`: build each function's zip and upload it when its hash changed. */
export async function deployCommand(names: string[], options: GlobalOptions): Promise<number> {
  // --offline promises no AWS call; a deploy is nothing but AWS calls.
  if (options.offline && !options.question && !options.dryRun) {
    throw configError(
      'offline-deploy',
      '--offline makes no AWS calls, so it cannot deploy: it answers -q and -n from the last recorded deploy',
      {
        hint: 'lbuild -q deploy --offline, or lbuild -n deploy --offline; drop --offline to deploy',
      },
    );
  }
  return options.watch
    ? watchCommand(names, options, selectFunctions)
    : buildCommand(names, options, selectFunctions);
}
