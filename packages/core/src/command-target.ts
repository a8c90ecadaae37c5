import { buildError } from './failure.js';
import type { PluginEntry } from './plugin.js';
import { runCommand } from './process.js';
import type { CommandTargetConfig } from './config/schema.js';
import type { TargetDefinition } from './target.js';

/** The generic `[target.NAME]`: run a command when its inputs, env or dependencies changed. */
export function commandTarget(entry: PluginEntry<CommandTargetConfig>): TargetDefinition {
  const { config, name } = entry;
  const argv = Array.isArray(config.command) ? config.command : undefined;
  const envNames = config.env ?? [];
  const location = entry.location();
  return {
    key: name,
    kind: 'command',
    ...(config.description ? { description: config.description } : {}),
    deps: config.deps ?? [],
    inputs: config.inputs?.length
      ? [
          {
            patterns: config.inputs,
            ...(config.exclude ? { exclude: config.exclude } : {}),
            location: entry.location('inputs'),
          },
        ]
      : [],
    outputs: config.outputs ?? [],
    buildByDefault: config.default ?? true,
    location,
    // The command line and the declared environment values are the recipe; values are only
    // ever stored as hashes in the stamp.
    recipe: () => ({
      command: config.command,
      env: Object.fromEntries(envNames.map((n) => [n, process.env[n] ?? null])),
    }),
    run: async (ctx) => {
      const display = argv ? argv.join(' ') : (config.command as string);
      const result = await runCommand({
        file: argv ? (argv[0] ?? '') : (config.command as string),
        args: argv ? argv.slice(1) : [],
        cwd: ctx.root,
        shell: !argv,
        signal: ctx.signal,
        onOutput: ctx.output,
      });
      if (result.exitCode === 0) return undefined;
      if (!argv && result.exitCode === 127) {
        const missing = /(?:^|: )([^:\n]+): (?:command )?not found/
          .exec(result.stderr)?.[1]
          ?.trim();
        throw buildError('command-not-found', `command not found: ${missing ?? display}`, {
          hint: `target ${name} runs \`${display}\`; check the spelling, or install the program and make sure it is on PATH`,
        });
      }
      const how = result.signal
        ? `was killed by ${result.signal}`
        : `exited with status ${String(result.exitCode)}`;
      throw buildError('exit-non-zero', `\`${display}\` ${how}`, { hint: 'see its output above' });
    },
  };
}
