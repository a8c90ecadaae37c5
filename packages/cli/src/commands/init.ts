import { existsSync } from 'node:fs';
import { appendFile, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { configError, writeFileAtomic } from '@lbuild/core';
import { workingDirectory, type GlobalOptions } from '../context.js';

export interface InitOptions {
  /** Write `[tool.lbuild]` into pyproject.toml instead of a new lbuild.toml. */
  pyproject?: boolean;
  /** The interpreter that reads the project's files (default python3). */
  python?: string;
}

/**
 * `lbuild init`: proposes a bundle for the Python project in the working directory, writes it
 * to a new lbuild.toml (or `[tool.lbuild]` of pyproject.toml), and has git ignore lbuild's state
 * and the zip. Never replaces a file or a config that exists.
 */
export async function initCommand(options: GlobalOptions & InitOptions): Promise<number> {
  const root = workingDirectory(options);
  const configFile = join(root, 'lbuild.toml');
  if (existsSync(configFile)) {
    throw configError(
      'config-exists',
      'lbuild.toml already exists; lbuild init leaves it as it is',
      {
        hint: 'edit it, or move it away and run lbuild init again',
        location: { file: configFile },
      },
    );
  }
  const { detectProject, renderConfig, gitignoreAddition } = await import('@lbuild/python-lambda');
  const plan = await detectProject(root, { python: options.python });
  const pyprojectFile = join(root, 'pyproject.toml');
  if (plan.pyproject.hasToolLbuild) {
    throw configError(
      'config-exists',
      'pyproject.toml already has a [tool.lbuild] table; lbuild init leaves it as it is',
      { hint: 'edit [tool.lbuild] in pyproject.toml', location: { file: pyprojectFile } },
    );
  }
  let written: string;
  if (options.pyproject) {
    if (!plan.pyproject.exists) {
      throw configError('no-pyproject', 'there is no pyproject.toml to add [tool.lbuild] to', {
        hint: 'run lbuild init without --pyproject to write lbuild.toml',
      });
    }
    const text = await readFile(pyprojectFile, 'utf8');
    const separator = text === '' ? '' : text.endsWith('\n') ? '\n' : '\n\n';
    await writeFileAtomic(pyprojectFile, text + separator + renderConfig(plan, 'pyproject.toml'));
    written = 'pyproject.toml ([tool.lbuild])';
  } else {
    // `wx`: created here or not at all, even if another process made one since the check.
    await writeFile(configFile, renderConfig(plan, 'lbuild.toml'), { flag: 'wx' }).catch(
      (error: unknown) => {
        if ((error as NodeJS.ErrnoException).code === 'EEXIST')
          throw configError(
            'config-exists',
            'lbuild.toml already exists; lbuild init leaves it as it is',
            {
              location: { file: configFile },
            },
          );
        throw error;
      },
    );
    written = 'lbuild.toml';
  }
  const gitignore = join(root, '.gitignore');
  const existing = existsSync(gitignore) ? await readFile(gitignore, 'utf8') : undefined;
  const addition = gitignoreAddition(existing, ['.lbuild/', `/${plan.output}`]);
  if (addition !== '') await appendFile(gitignore, addition);

  const out = process.stdout;
  out.write(`lbuild: wrote ${written}: bundle ${plan.name}\n`);
  const source = plan.lock ?? plan.requirements;
  out.write(`  dependencies: ${source ?? 'none'}\n`);
  out.write(
    `  sources:      ${plan.sources.length ? plan.sources.join(', ') : 'none'}${plan.sourceRoot ? ` in ${plan.sourceRoot}/` : ''}\n`,
  );
  if (plan.handler !== undefined)
    out.write(`  handler:      ${plan.handler} (${plan.handlerAt?.file ?? ''})\n`);
  out.write(`  python:       ${plan.python} (${plan.pythonFrom})\n`);
  if (addition !== '')
    out.write(`  .gitignore:   ${existing === undefined ? 'created' : 'updated'}\n`);
  for (const note of plan.notes) out.write(`  note: ${note}\n`);
  out.write('next: lbuild -n to see what would run, then lbuild to build the zip\n');
  return 0;
}
