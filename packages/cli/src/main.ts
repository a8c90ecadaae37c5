import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { toFailure, type Failure } from '@lbuild/core';
import { buildCommand } from './commands/build.js';
import { cacheCommand, cachePruneCommand } from './commands/cache.js';
import { cleanCommand } from './commands/clean.js';
import { deployCommand } from './commands/deploy.js';
import { diffCommand, type DiffCommandOptions } from './commands/diff.js';
import { graphCommand } from './commands/graph.js';
import { initCommand, type InitOptions } from './commands/init.js';
import { invokeCommand } from './commands/invoke.js';
import { schemaCommand } from './commands/schema.js';
import { sizeCommand } from './commands/size.js';
import { watchCommand } from './commands/watch.js';
import { workingDirectory, type GlobalOptions } from './context.js';
import { EXIT_ERROR, exitCodeForFailure } from './exit-code.js';
import { colorsFor } from './render/colors.js';
import { formatFailure } from './render/failure.js';
import { jsonError } from './render/json-error.js';

declare const LBUILD_VERSION: string | undefined;

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1)
    throw new InvalidArgumentError('expected a whole number of at least 1');
  return n;
}

export function program(run: (code: Promise<number>) => void): Command {
  const cmd = new Command('lbuild')
    .description(
      'Incremental builds with content-hash stamps: reproducible Python Lambda zips, deployed only when they change.',
    )
    .version(typeof LBUILD_VERSION === 'string' ? LBUILD_VERSION : '0.0.0-dev')
    .argument(
      '[targets...]',
      'targets (or aliases) to build; default: the configured default targets',
    )
    .option(
      '-q, --question',
      'run nothing; exit 0 if up to date, 1 if something would run, 2 on error (like make -q)',
    )
    .option('-n, --dry-run', 'list what would run, run nothing')
    .option(
      '--explain',
      'say why each target runs (which input, dependency, setting or output changed)',
    )
    .option('-B, --always-make', 'run every selected target, whatever its stamp says')
    .option('-C, --directory <dir>', 'run as if started in <dir>')
    .option('-j, --jobs <n>', 'targets to run at once (default: number of cores)', positiveInt)
    .option('-k, --keep-going', 'after a failure, go on with targets that do not depend on it')
    .option('--json', 'print one machine-readable summary on stdout')
    .addOption(
      new Option('--log-format <format>', 'human lines, or pino JSON lines')
        .choices(['human', 'json'])
        .default('human'),
    )
    .option('--offline', 'answer from the last recorded stamps; make no calls to remote services')
    .option('-v, --verbose', 'also list targets that are up to date or skipped')
    .option(
      '-w, --watch',
      'build, then rebuild what changed whenever an input changes (not with -q or -n)',
    )
    .option(
      '--poll [ms]',
      'with --watch: poll for changes (every ms, default 200) instead of native file events (network and container file systems)',
      (v) => positiveInt(v),
    )
    .addOption(new Option('--poll-default').hideHelp())
    .addHelpText(
      'after',
      `
Examples:
  lbuild                  build the default targets
  lbuild api              build the bundle api (its zip and what it needs)
  lbuild -q && echo fresh exit 0 when nothing would run
  lbuild -n --explain     list what would run, and why
  lbuild graph --dot | dot -Tsvg > graph.svg
  lbuild deploy api       build and upload the function api, if its zip changed

Exit status: 0 success, 1 a target failed (or is stale under -q), 2 usage, config or internal error.`,
    )
    .action((targets: string[], _opts, self: Command) => {
      const options = self.opts<GlobalOptions>();
      run(options.watch ? watchCommand(targets, options) : buildCommand(targets, options));
    });

  cmd
    .command('graph')
    .description('show the targets and their edges')
    .option('--dot', 'as a Graphviz DOT digraph')
    .option('--json', 'as JSON')
    .action((opts: { dot?: boolean; json?: boolean }, self: Command) => {
      run(graphCommand({ ...self.optsWithGlobals<GlobalOptions>(), ...opts }));
    });

  cmd
    .command('clean')
    .description('remove outputs and stamps that builds made (never a file lbuild did not create)')
    .argument('[targets...]', 'only these targets')
    .option('--all', 'also remove shared caches (the wheelhouse)')
    .action((targets: string[], opts: { all?: boolean }, self: Command) => {
      run(cleanCommand(targets, { ...self.optsWithGlobals<GlobalOptions>(), ...opts }));
    });

  const cache = cmd
    .command('cache')
    .description('show the shared build cache: the local directory and the remote store')
    .option('--json', 'as JSON')
    .action((opts: { json?: boolean }, self: Command) => {
      run(cacheCommand({ ...self.optsWithGlobals<GlobalOptions>(), ...opts }));
    });
  cache
    .command('prune')
    .description('remove from the local cache what no build has used for a while')
    .option('--older-than <age>', 'unused for longer than this: 90m, 12h, 30d, 2w', '30d')
    .option('--json', 'as JSON')
    .action((opts: { olderThan?: string; json?: boolean }, self: Command) => {
      run(cachePruneCommand({ ...self.optsWithGlobals<GlobalOptions>(), ...opts }));
    });

  cmd
    .command('deploy')
    .description("build each function's zip and upload it to Lambda only if its CodeSha256 differs")
    .argument('[names...]', 'functions ([function.NAME] tables); default: all of them')
    .addHelpText(
      'after',
      `
With -q: exit 0 when a deploy would change nothing (one GetFunction per function), 1 when it would.
With --offline: answer from the last recorded deploy, without calling AWS.
AWS access uses the SDK's default credential chain, profiles and region resolution; endpoints can
be overridden with AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_LAMBDA and AWS_ENDPOINT_URL_S3.`,
    )
    .action((names: string[], _opts, self: Command) => {
      run(deployCommand(names, self.optsWithGlobals<GlobalOptions>()));
    });

  cmd
    .command('size')
    .description(
      "build each bundle's zip, then show how its bytes divide between packages and the project's files",
    )
    .argument('[bundles...]', 'bundles ([bundle.NAME] tables); default: all of them')
    .option('--json', 'as JSON, for scripts')
    .option('--html <file>', 'also write a self-contained page with a treemap to <file>')
    .addHelpText(
      'after',
      `
Per distribution in the zip (found by its .dist-info/RECORD): version, files, unzipped and zipped
bytes, share of Lambda's 250 MB unzipped limit and what \`exclude\` left out of it; then the
project's sources and extra files, the headroom to the 250 MB unzipped and 50 MB direct-upload
limits, and the twenty largest files.`,
    )
    .action((bundles: string[], opts: { json?: boolean; html?: string }, self: Command) => {
      run(sizeCommand(bundles, { ...self.optsWithGlobals<GlobalOptions>(), ...opts }));
    });

  cmd
    .command('invoke')
    .description(
      "build a function's zip, then run its handler here from the unpacked zip and print the result as JSON",
    )
    .argument('<function>', 'the function ([function.NAME] table) whose handler runs')
    .option(
      '-e, --event <file>',
      'the event: a JSON file, or - for stdin (default: stdin when piped, else {})',
    )
    .option('--json', "on a handler error, print Lambda's error object on stdout")
    .addHelpText(
      'after',
      `
The handler runs with an interpreter of the bundle's Python version (runtime-python, else
pythonX.Y on PATH), from the zip unpacked under .lbuild/cache, with Lambda's environment
variables (LAMBDA_TASK_ROOT, AWS_LAMBDA_FUNCTION_NAME, ..., and the function's environment) and
a context object; after the function's timeout (default 3 s) it is killed. stdout carries the
result; the build's lines and the handler's own output go to stderr. Exit 1 when the handler
raised, could not be imported or timed out. With --watch: run it again after every change to
the bundle's inputs or to the event file.`,
    )
    .action((name: string, opts: { event?: string; json?: boolean }, self: Command) => {
      run(invokeCommand(name, { ...self.optsWithGlobals<GlobalOptions>(), ...opts }));
    });

  cmd
    .command('diff')
    .description('say why two zips differ, or how the code a function runs differs from its zip')
    .argument(
      '[zips...]',
      'A.zip B.zip; with --deployed, at most one zip (default: the bundle zip)',
    )
    .option(
      '--deployed <function>',
      'compare the code Lambda runs for <function> ([function.NAME], or with a zip any function name or ARN) with the local zip, built first',
    )
    .option('--content', 'whole text diffs, for every changed text entry')
    .option('--all', 'list every entry, not the first 20 of each section')
    .option('--json', 'as JSON, for scripts')
    .addHelpText(
      'after',
      `
Reported in this order: distributions added, removed or at another version; entries only in A or
only in B; entries whose content differs (sizes, CRC-32, SHA-256, and the first lines of a text
diff); entries with the same content and other metadata (mode, made-by, time, extra fields,
compression, flags); the entry order; and the archive (comment, Zip64, data descriptors).
With --deployed, A is the deployed code and B the local zip.

Exit status: 0 identical, 1 different (as diff), 2 bad input (a missing file, not a zip).`,
    )
    .action((zips: string[], opts: DiffCommandOptions, self: Command) => {
      run(diffCommand(zips, { ...self.optsWithGlobals<GlobalOptions>(), ...opts }));
    });

  cmd
    .command('init')
    .description(
      'write a starting lbuild.toml for the Python project here, and have git ignore what lbuild writes',
    )
    .option('--pyproject', 'add [tool.lbuild] to pyproject.toml instead of writing lbuild.toml')
    .option('--python <python>', 'the Python that reads the project files (default python3)')
    .action((opts: InitOptions, self: Command) => {
      run(initCommand({ ...self.optsWithGlobals<GlobalOptions>(), ...opts }));
    });

  cmd
    .command('schema')
    .description('print the JSON Schema of the config file, for editors')
    .action(() => {
      run(schemaCommand());
    });

  // commander adds `help [command]` by itself only to programs without an action of their own;
  // lbuild's default action would otherwise build a target named "help".
  cmd.helpCommand('help [command]', 'show help for lbuild or for a command');

  return cmd;
}

/**
 * `--poll` takes an optional interval, so commander would read `lbuild --watch --poll deploy` as
 * an interval of "deploy". A bare `--poll` followed by anything but a number means the default.
 */
function withPollDefault(argv: string[]): string[] {
  return argv.map((arg, i) =>
    arg === '--poll' && !/^\d+$/.test(argv[i + 1] ?? '') ? '--poll-default' : arg,
  );
}

/** `--json` given to lbuild or to the subcommand that ran (`graph --json`). */
function wantsJson(cmd: Command): boolean {
  return [cmd, ...cmd.commands].some((c) => c.opts<{ json?: boolean }>().json === true);
}

export async function main(argv: string[]): Promise<number> {
  let pending: Promise<number> | undefined;
  const cmd = program((code) => {
    pending = code;
  });
  cmd.exitOverride();
  cmd.configureOutput({ writeErr: (s) => process.stderr.write(s) });
  for (const sub of cmd.commands) sub.exitOverride();
  try {
    await cmd.parseAsync(withPollDefault(argv));
    return pending ? await pending : 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help and --version end here with code 0; usage errors are exit 2, as make's.
      return error.exitCode === 0 ? 0 : EXIT_ERROR;
    }
    const failure: Failure = toFailure(error);
    const cwd = workingDirectory(cmd.opts<GlobalOptions>());
    process.stderr.write(
      formatFailure(failure, colorsFor(process.stderr), cwd, 'lbuild: error') + '\n',
    );
    if (failure.kind === 'internal' && error instanceof Error && process.env.LBUILD_DEBUG)
      process.stderr.write(`${error.stack ?? ''}\n`);
    const code = exitCodeForFailure(failure);
    // A script that asked for JSON reads stdout: it gets an answer there for every outcome.
    if (wantsJson(cmd)) process.stdout.write(jsonError(failure, code) + '\n');
    return code;
  }
}
