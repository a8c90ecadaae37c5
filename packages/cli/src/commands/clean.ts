import { clean, stateDirOf } from '@lbuild/core';
import { openProject, type GlobalOptions } from '../context.js';

/** `lbuild clean [TARGET...]`: removes outputs and stamps builds made, never anything else. */
export async function cleanCommand(
  names: string[],
  options: GlobalOptions & { all?: boolean },
): Promise<number> {
  const project = await openProject(options);
  const targets = names.length ? names.map((n) => project.graph.resolve(n)) : undefined;
  const result = await clean({
    root: project.root,
    stateDir: stateDirOf(project.root),
    graph: project.graph,
    ...(targets ? { targets } : {}),
    all: Boolean(options.all),
    onWait: () =>
      process.stderr.write('waiting for another lbuild to finish building this project…\n'),
  });
  if (options.json) {
    process.stdout.write(JSON.stringify(result, null, 2) + '\n');
  } else {
    for (const file of result.removed) process.stdout.write(`removed ${file}\n`);
    process.stdout.write(
      `lbuild: cleaned ${result.targets.length} target${result.targets.length === 1 ? '' : 's'}\n`,
    );
  }
  return 0;
}
