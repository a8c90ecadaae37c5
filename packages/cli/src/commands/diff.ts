import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative, resolve, sep } from 'node:path';
import { closest, configError, runSession, temporaryName, type Project } from '@lbuild/core';
import type { DeployedCode, FunctionConfig } from '@lbuild/lambda-deploy';
import type { ZipDiff } from '@lbuild/python-lambda';
import { openProject, workingDirectory, type GlobalOptions } from '../context.js';
import { EXIT_FAILED, EXIT_OK } from '../exit-code.js';
import { diffJson } from '../render/diff-json.js';
import { diffText } from '../render/diff-text.js';
import { jsonSummary } from '../render/json-summary.js';
import { SessionRenderer } from '../render/session.js';
import { abortOnSignals } from '../signals.js';
import { sessionOptions } from './build.js';

export interface DiffCommandOptions extends GlobalOptions {
  /** Compare with the code this function runs. */
  deployed?: string;
  /** Whole text diffs, for every changed text entry. */
  content?: boolean;
  /** Every entry of every list, not the first ones. */
  all?: boolean;
}

/** What `lbuild diff` found, with what it compared. */
export interface DiffResult {
  diff: ZipDiff;
  /** With `--deployed`: what Lambda reported. */
  deployed?: DeployedCode;
}

/**
 * `lbuild diff A.zip B.zip`: why two zips differ. `lbuild diff --deployed FUNCTION [ZIP]`: why
 * the code a function runs differs from ZIP, by default the zip of the function's bundle, built
 * first as `lbuild deploy` would. Exit 0 when identical, 1 when they differ (as diff(1)), 2 on
 * bad input.
 */
export async function diffCommand(zips: string[], options: DiffCommandOptions): Promise<number> {
  refuseModes(options);
  const cwd = workingDirectory(options);
  const textOptions = options.content ? { textLines: Infinity, textEntries: Infinity } : {};
  const { diffZips } = await import('@lbuild/python-lambda');

  let result: DiffResult;
  if (options.deployed === undefined) {
    if (zips.length !== 2) {
      throw configError('diff-mode', `lbuild diff compares two zips (got ${String(zips.length)})`, {
        hint: 'lbuild diff A.zip B.zip, or lbuild diff --deployed FUNCTION to compare with what Lambda runs',
      });
    }
    const [a = '', b = ''] = zips;
    result = {
      diff: await diffZips(resolve(cwd, a), resolve(cwd, b), { names: { a, b }, ...textOptions }),
    };
  } else {
    if (zips.length > 1) {
      throw configError(
        'diff-mode',
        `lbuild diff --deployed compares the deployed code with one zip (got ${String(zips.length)})`,
        { hint: 'lbuild diff --deployed FUNCTION, or lbuild diff --deployed FUNCTION path/to.zip' },
      );
    }
    const target = await localSide(options, options.deployed, zips[0]);
    if (typeof target === 'number') return target;
    const { createClients, downloadDeployedCode } = await import('@lbuild/lambda-deploy');
    const clients = createClients(target.config, { env: process.env });
    const temporary = temporaryName(tmpdir(), 'lbuild-deployed-code.zip');
    const signals = abortOnSignals();
    try {
      const deployed = await downloadDeployedCode(target.config, clients, temporary, {
        signal: signals.signal,
      });
      const diff = await diffZips(temporary, target.zip, {
        names: { a: `deployed ${deployed.functionName}`, b: target.shown },
        ...textOptions,
      });
      result = { diff, deployed };
    } finally {
      signals.dispose();
      clients.destroy();
      await rm(temporary, { force: true });
    }
  }
  process.stdout.write(
    options.json ? diffJson(result) : diffText(result, { all: Boolean(options.all) }),
  );
  return result.diff.identical ? EXIT_OK : EXIT_FAILED;
}

interface LocalSide {
  config: Pick<FunctionConfig, 'functionName' | 'region'> & { name?: string };
  /** Absolute path of the local zip. */
  zip: string;
  /** How it is named in the output. */
  shown: string;
}

/**
 * The function to ask Lambda about and the local zip to compare with. FUNCTION is a
 * `[function.NAME]` table (or the function-name one gives); with a ZIP it may also be any
 * function name or ARN, resolved as the SDK resolves regions. Without a ZIP, the function's
 * bundle is built first (a comparison with a stale zip would mislead); a failed build is its
 * exit code.
 */
async function localSide(
  options: DiffCommandOptions,
  name: string,
  zip: string | undefined,
): Promise<LocalSide | number> {
  const cwd = workingDirectory(options);
  let project: Project | undefined;
  try {
    project = await openProject(options);
  } catch (error) {
    if (zip === undefined) throw error;
  }
  const config = project ? await functionConfig(project, name, zip === undefined) : undefined;
  if (zip !== undefined) {
    return { config: config ?? { functionName: name }, zip: resolve(cwd, zip), shown: zip };
  }
  if (!project || !config) throw new Error('unreachable: a function table was required');

  const key = `${config.bundle}:zip`;
  const build: GlobalOptions = { ...options, json: true, question: false, dryRun: false };
  const render = await SessionRenderer.create(build, 'build');
  const signals = abortOnSignals();
  const summary = await runSession(
    project,
    sessionOptions([key], { ...build, json: false }, () => [key], render.onEvent),
    signals.signal,
  ).finally(() => {
    signals.dispose();
  });
  const code = render.finishQuietly(summary);
  if (code !== 0) {
    if (options.json) process.stdout.write(jsonSummary(summary, code) + '\n');
    return code;
  }
  const output = project.graph.get(key).outputs?.[0] ?? '';
  const absolute = join(project.root, output);
  const shown = relative(cwd, absolute);
  return {
    config,
    zip: absolute,
    shown: shown.startsWith('..') ? absolute : shown.split(sep).join('/'),
  };
}

/**
 * The `[function.NAME]` table called `name`, or the one whose function-name is `name`. Without
 * one: an error when it is required, else undefined (a bare function name or ARN).
 */
async function functionConfig(
  project: Project,
  name: string,
  required: boolean,
): Promise<FunctionConfig | undefined> {
  const tables = await functionTables(project);
  const found =
    tables.find((c) => c.name === name) ??
    tables.find((c) => c.functionName === name || c.functionName.endsWith(`:function:${name}`));
  if (found || !required) return found;
  const suggestion = closest(
    name,
    tables.map((c) => c.name),
  );
  throw configError('unknown-function', `no function named \`${name}\``, {
    hint: suggestion
      ? `did you mean \`${suggestion}\`?`
      : tables.length
        ? `functions are defined by [function.NAME] tables: ${tables.map((c) => c.name).join(', ')}`
        : 'add a [function.NAME] table, or give the zip to compare with: lbuild diff --deployed FUNCTION path/to.zip',
    location: { file: project.config.file },
  });
}

/** The project's `[function.NAME]` tables, as the deploy plugin reads them (validated on load). */
async function functionTables(project: Project): Promise<FunctionConfig[]> {
  const tables = project.config.data.function;
  if (typeof tables !== 'object' || tables === null) return [];
  const { FunctionTableSchema, toFunctionConfig } = await import('@lbuild/lambda-deploy');
  return Object.entries(tables as Record<string, unknown>).flatMap(([name, table]) => {
    const parsed = FunctionTableSchema.safeParse(table);
    return parsed.success ? [toFunctionConfig(name, parsed.data)] : [];
  });
}

/** -q, -n and --watch promise something `diff` does not do; ignoring them would surprise. */
function refuseModes(options: DiffCommandOptions): void {
  const refuse = (flag: string) =>
    configError('diff-mode', `${flag} does not apply to lbuild diff`, {
      hint: `drop ${flag}; lbuild diff exits 0 when the zips are identical and 1 when they differ`,
    });
  if (options.question) throw refuse('-q (--question)');
  if (options.dryRun) throw refuse('-n (--dry-run)');
  if (options.watch) throw refuse('--watch');
}
