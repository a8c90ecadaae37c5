import { statSync } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';
import {
  closest,
  configError,
  runSession,
  writeFileAtomic,
  type Project,
  type TargetKey,
} from '@lbuild/core';
import type { BundleTreeValue, SizeReport } from '@lbuild/python-lambda';
import { openProject, workingDirectory, type GlobalOptions } from '../context.js';
import { jsonSummary } from '../render/json-summary.js';
import { SessionRenderer } from '../render/session.js';
import { sizeHtml } from '../render/size-html.js';
import { sizeJson } from '../render/size-json.js';
import { sizeText } from '../render/size-text.js';
import { abortOnSignals } from '../signals.js';
import { sessionOptions } from './build.js';
import { cacheOptionsFor, cacheSetup } from '../cache-settings.js';

export interface SizeOptions extends GlobalOptions {
  /** Where to write the self-contained HTML page. */
  html?: string;
}

/** A bundle's report, with what names it. */
export interface BundleSize {
  bundle: string;
  /** The zip, relative to the project root. */
  zip: string;
  report: SizeReport;
}

/** The zip targets for `lbuild size [BUNDLE...]`: the named bundles, or all of them. */
export function selectBundles(project: Project, names: readonly string[]): TargetKey[] {
  const all = [...project.graph.targets.values()].filter((t) => t.kind === 'zip').map((t) => t.key);
  const bundleOf = (key: string) => key.replace(/:zip$/, '');
  if (names.length === 0) {
    if (all.length === 0) {
      throw configError('no-bundles', 'nothing to measure: the config has no [bundle.NAME] table', {
        hint: 'add one, e.g. [bundle.api] with requirements and sources (see the README, "Configuration reference")',
        location: { file: project.config.file },
      });
    }
    return all;
  }
  return names.map((name) => {
    // The zip target of [bundle.NAME] (see python-lambda's plugin; not imported, so that
    // selecting bundles does not load it).
    const key = `${name}:zip`;
    if (all.includes(key)) return key;
    const suggestion = closest(name, all.map(bundleOf));
    throw configError('unknown-bundle', `no bundle named \`${name}\``, {
      hint: suggestion
        ? `did you mean \`${suggestion}\`?`
        : `bundles are defined by [bundle.NAME] tables${all.length ? `: ${all.map(bundleOf).join(', ')}` : ''}`,
    });
  });
}

/**
 * `lbuild size [BUNDLE...]`: builds each bundle's zip as `lbuild BUNDLE` does (a report on a
 * stale zip would mislead), then reports how its bytes divide between distributions and the
 * project's files: as text, `--json`, and with `--html FILE` a page with a treemap.
 */
export async function sizeCommand(names: string[], options: SizeOptions): Promise<number> {
  refuseModes(options);
  const project = await openProject(options);
  const keys = selectBundles(project, names);
  // People's lines go to stderr: stdout carries the report.
  const build: GlobalOptions = { ...options, json: true, question: false, dryRun: false };
  const render = await SessionRenderer.create(build, 'build');
  const cache = await cacheOptionsFor(cacheSetup(project), options);
  const signals = abortOnSignals();
  const summary = await runSession(
    project,
    {
      ...sessionOptions(keys, { ...build, json: false }, undefined, render.onEvent),
      ...(cache ? { cache } : {}),
    },
    signals.signal,
  ).finally(() => {
    signals.dispose();
  });
  const code = render.finishQuietly(summary);
  if (code !== 0) {
    // A script that asked for JSON gets an answer on stdout: the build's summary, as `lbuild
    // --json` prints it, with the target that failed.
    if (options.json) process.stdout.write(jsonSummary(summary, code) + '\n');
    return code;
  }

  const { analyzeBundleZip } = await import('@lbuild/python-lambda');
  const sizes: BundleSize[] = [];
  for (const key of keys) {
    const zipTarget = project.graph.get(key);
    const zipRel = zipTarget.outputs?.[0] ?? '';
    const zip = join(project.root, zipRel);
    const treeKey = zipTarget.deps.find((d) => project.graph.get(d).kind === 'tree');
    const tree = summary.targets.find((t) => t.key === treeKey)?.value as
      Partial<BundleTreeValue> | undefined;
    const report = await analyzeBundleZip(zip, {
      zipBytes: statSync(zip).size,
      extraFiles: tree?.extraFiles ?? [],
      excluded: tree?.excluded ?? {},
      ...(typeof tree?.folder === 'string' ? { folder: tree.folder } : {}),
    });
    sizes.push({ bundle: key.replace(/:zip$/, ''), zip: zipRel, report });
  }

  if (options.html !== undefined) {
    const page = resolve(workingDirectory(options), options.html);
    await writeFileAtomic(page, sizeHtml(sizes));
    const shown = relative(workingDirectory(options), page);
    process.stderr.write(
      `lbuild: wrote ${shown.startsWith('..') ? page : shown.split(sep).join('/')}\n`,
    );
  }
  process.stdout.write(options.json ? sizeJson(sizes) : sizeText(sizes));
  return 0;
}

/** -q, -n and --watch promise something `size` does not do; ignoring them would surprise. */
function refuseModes(options: SizeOptions): void {
  const refuse = (flag: string, why: string) =>
    configError('size-mode', `${flag} does not apply to lbuild size: ${why}`, {
      hint: `drop ${flag}; lbuild size builds the zips it reports on, as lbuild BUNDLE does`,
    });
  if (options.question) throw refuse('-q (--question)', 'it builds the zips it reports on');
  if (options.dryRun) throw refuse('-n (--dry-run)', 'it builds the zips it reports on');
  if (options.watch) throw refuse('--watch', 'it reports once');
}
