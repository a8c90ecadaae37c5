import { clean, stateDirOf } from '@lbuild/core';
import { openProject, type GlobalOptions } from '../context.js';
import { abortOnSignals } from '../signals.js';

/** `lbuild clean [TARGET...]`: removes outputs and stamps builds made, never anything else. */
export async function cleanCommand(
  names: string[],
  options: GlobalOptions & { all?: boolean },
): Promise<number> {
  const project = await openProject(options);
  const targets = names.length ? names.map((n) => project.graph.resolve(n)) : undefined;
  // Ctrl-C while waiting for another lbuild's lock is an interruption (exit 130), as in a build.
  const signals = abortOnSignals();
  const result = await clean({
    root: project.root,
    stateDir: stateDirOf(project.root),
    graph: project.graph,
    ...(targets ? { targets } : {}),
    all: Boolean(options.all),
    onWait: () =>
      process.stderr.write('waiting for another lbuild to finish building this project…\n'),
    signal: signals.signal,
  }).finally(() => signals.dispose());
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
