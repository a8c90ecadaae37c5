import { runBuild, stateDirOf, type BuildEvent, type BuildMode, type Project } from '@lbuild/core';
import { exitCodeForSummary } from '../exit-code.js';
import { openProject, workingDirectory, type GlobalOptions } from '../context.js';
import { HumanRenderer } from '../render/human.js';
import { jsonSummary } from '../render/json-summary.js';
import { createJsonLogger } from '../render/log.js';
import { abortOnSignals } from '../signals.js';

/** `lbuild [TARGET...]`, `-q`, `-n`: bring targets up to date, or say whether they are. */
export async function buildCommand(
  names: string[],
  options: GlobalOptions,
  select?: (project: Project, names: readonly string[]) => string[],
): Promise<number> {
  const project = await openProject(options);
  const targets = select
    ? select(project, names)
    : names.length
      ? names.map((n) => project.graph.resolve(n))
      : project.defaults;
  const mode: BuildMode = options.question ? 'query' : options.dryRun ? 'dry-run' : 'build';
  const human = new HumanRenderer({
    out: () => (options.json ? process.stderr : process.stdout),
    err: () => process.stderr,
    cwd: workingDirectory(options),
    mode,
    explain: Boolean(options.explain),
    verbose: Boolean(options.verbose),
  });
  const listeners: ((e: BuildEvent) => void)[] = [];
  if (options.logFormat === 'json') listeners.push(await createJsonLogger(options.json ? 2 : 1));
  else listeners.push(human.onEvent);
  const signals = abortOnSignals();
  try {
    const summary = await runBuild({
      root: project.root,
      stateDir: stateDirOf(project.root),
      graph: project.graph,
      targets,
      mode,
      force: Boolean(options.alwaysMake),
      ...(options.jobs ? { jobs: options.jobs } : {}),
      keepGoing: Boolean(options.keepGoing),
      explain: options.explain === true || options.json === true || mode === 'dry-run',
      external: !options.offline,
      signal: signals.signal,
      onEvent: (e) => {
        for (const l of listeners) l(e);
      },
    });
    const code = exitCodeForSummary(summary);
    if (options.logFormat !== 'json') human.summary(summary);
    if (options.json) process.stdout.write(jsonSummary(summary, code) + '\n');
    return code;
  } finally {
    signals.dispose();
  }
}
