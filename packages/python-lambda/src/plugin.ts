import { existsSync, readdirSync, statSync } from 'node:fs';
import { constants, copyFile, mkdir, readFile } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, relative } from 'node:path';
import {
  buildError,
  configError,
  definePlugin,
  LbuildError,
  formatBytes,
  writeFileAtomic,
  type Json,
  type PluginEntry,
  type RunContext,
  type SourceLocation,
  type TargetDefinition,
  type TargetKey,
} from '@lbuild/core';
import {
  deprecationNotice,
  LAMBDA_ARTIFACT,
  pythonRuntime,
  type LambdaArchitecture,
  type LambdaArtifact,
} from '@lbuild/lambda-runtimes';
import { bundleSchema, DEFAULT_EXCLUDES, type BundleConfig } from './config.js';
import { listFiles } from './listing.js';
import { groupBy, stagingIdentity, wheelhouseIdentity } from './shared-work.js';

/** Lambda's limit for a zip uploaded directly (larger ones must go through S3). */
export const DIRECT_UPLOAD_LIMIT = 50 * 1024 * 1024;

/** What the wheelhouse target writes: the resolved wheels by content, for early cutoff. */
interface WheelList {
  platform: string;
  strategy: string;
  wheels: Record<string, string>;
  /** Where each wheel of `wheels` is, relative to the project root: what staging copies. */
  paths: Record<string, string>;
  local: string[];
}

/** The version of wheels.json (WheelList): a wheelhouse stamped with another one reruns. */
const WHEEL_LIST_VERSION = 2;

/** The pieces of a bundle every target of it needs, resolved once from the config. */
interface Bundle {
  name: string;
  /** The table it comes from: a function's bundle, or a layer (see layer.ts). */
  table: PackageTable;
  /** `bundle.NAME` or `layer.NAME`, as messages name the table. */
  label: string;
  root: string;
  config: BundleConfig;
  python: string;
  architecture: LambdaArchitecture;
  buildPython: string;
  output: string;
  requirements: string | undefined;
  /** `source-root`, root-relative without `./` or a trailing `/`; '' for the project root. */
  sourceRoot: string;
  /** A lock file (uv.lock, pylock.toml) as the requirement source, instead of `requirements`. */
  lock: string | undefined;
  index: { indexUrl?: string; extraIndexUrls: string[]; findLinks: string[]; noIndex: boolean };
  location: PluginEntry<BundleConfig>['location'];
  statePaths: PluginEntry<BundleConfig>['statePaths'];
}

/** A file in a target's private state directory, root-relative (declared as an output). */
const stateFile = (bundle: Bundle, key: string, file: string) =>
  `${bundle.statePaths.targetDir(key)}/${file}`;

/** `[bundle.NAME]` → NAME:wheelhouse → NAME:staging → NAME:tree → NAME:zip (alias NAME). */
export const pythonLambdaPlugin = definePlugin<BundleConfig>({
  table: 'bundle',
  description:
    'A Python AWS Lambda zip: wheels for the runtime, project sources and extra files, byte-reproducible.',
  schema: bundleSchema,
  targets: (entry, table) => packageTargets('bundle', entry, table),
});

/** The tables whose entries become a Lambda zip through the same targets. */
export type PackageTable = 'bundle' | 'layer';

/**
 * Where a layer's packages go in its zip: Lambda extracts layers into /opt and puts /opt/python
 * on a Python function's sys.path.
 */
const LAYER_FOLDER = 'python';

/**
 * The targets of one entry of a bundle or layer table: a layer is a bundle without project
 * files whose tree is laid out under `python/` (see layer.ts).
 */
export function packageTargets(
  kind: PackageTable,
  entry: PluginEntry<BundleConfig>,
  table: readonly PluginEntry<BundleConfig>[],
): { targets: TargetDefinition[]; aliases: Record<string, TargetKey> } {
  const shares = sharesOf(kind, table);
  const bundle = shares.bundles.get(entry.name);
  if (!bundle) throw new Error(`bundle ${entry.name} is not in its table`);
  checkLockKeys(bundle);
  const targets: TargetDefinition[] = [];
  const aliases: Record<string, TargetKey> = { [entry.name]: `${entry.name}:zip` };
  let staging: TargetKey | undefined;
  if (bundle.requirements !== undefined) {
    const wheelhouseGroup = shares.wheelhouse.get(bundle.name) ?? [bundle];
    const stagingGroup = shares.staging.get(bundle.name) ?? [bundle];
    const wheelhouse = `${leader(wheelhouseGroup).name}:wheelhouse`;
    staging = `${leader(stagingGroup).name}:staging`;
    // The first bundle of a group defines the shared target; the others name it by an alias,
    // so `lbuild NAME:wheelhouse` works for each of them.
    if (leader(wheelhouseGroup) === bundle) targets.push(wheelhouseTarget(wheelhouseGroup));
    else aliases[`${bundle.name}:wheelhouse`] = wheelhouse;
    if (leader(stagingGroup) === bundle) targets.push(stagingTarget(stagingGroup, wheelhouse));
    else aliases[`${bundle.name}:staging`] = staging;
  } else if (bundle.lock !== undefined) {
    // A lock's wheelhouse is its own: locks are not grouped (yet).
    const wheelhouse = `${bundle.name}:wheelhouse`;
    staging = `${bundle.name}:staging`;
    targets.push(lockWheelhouseTarget(bundle), stagingTarget([bundle], wheelhouse));
  }
  targets.push(treeTarget(bundle, staging), zipTarget(bundle));
  return { targets, aliases };
}

/** The bundles of one table, and the groups that share a wheelhouse and a staging target. */
interface Shares {
  bundles: Map<string, Bundle>;
  /** Each bundle's group (by name): the bundles whose wheelhouse is the same as its own. */
  wheelhouse: Map<string, Bundle[]>;
  staging: Map<string, Bundle[]>;
}

/** Per table of one config load: computed for its first entry, reused for the others. */
const sharesByTable = new WeakMap<readonly PluginEntry<BundleConfig>[], Shares>();

/**
 * Bundles with the same requirements file, runtime and pip options (see wheelhouseIdentity)
 * share one wheelhouse target, so pip runs once for all of them; those that also agree on
 * allow-host-built-wheels share one staging. A bundle that differs in any of these gets its own.
 */
function sharesOf(kind: PackageTable, table: readonly PluginEntry<BundleConfig>[]): Shares {
  const known = sharesByTable.get(table);
  if (known) return known;
  const bundles = table.map((entry) => bundleOf(kind, entry));
  const withWheels = bundles.filter((b) => b.requirements !== undefined);
  const byGroup = (groups: Bundle[][]) =>
    new Map(groups.flatMap((group) => group.map((b) => [b.name, group] as const)));
  const shares: Shares = {
    bundles: new Map(bundles.map((b) => [b.name, b])),
    wheelhouse: byGroup(groupBy(withWheels, (b) => wheelhouseIdentity(b.config))),
    staging: byGroup(groupBy(withWheels, (b) => stagingIdentity(b.config))),
  };
  sharesByTable.set(table, shares);
  return shares;
}

function leader(group: readonly Bundle[]): Bundle {
  const first = group[0];
  if (!first) throw new Error('an empty group of bundles');
  return first;
}

/** "; shared by N bundles: a, b, c" for a target that several bundles use, else nothing. */
function sharedBy(group: readonly Bundle[]): string {
  if (group.length < 2) return '';
  const shown = group.slice(0, 8).map((b) => b.name);
  const more = group.length - shown.length;
  return `; shared by ${group.length} ${leader(group).table}s: ${shown.join(', ')}${more > 0 ? ` and ${more} more` : ''}`;
}

function bundleOf(kind: PackageTable, entry: PluginEntry<BundleConfig>): Bundle {
  const c = entry.config;
  return {
    name: entry.name,
    table: kind,
    label: `${kind}.${entry.name}`,
    root: entry.root,
    config: c,
    python: c.python ?? '3.12',
    architecture: c.architecture ?? 'x86_64',
    buildPython: c['build-python'] ?? 'python3',
    output:
      c.output ?? (kind === 'layer' ? `dist/layer-${entry.name}.zip` : `dist/${entry.name}.zip`),
    requirements: c.requirements,
    sourceRoot: sourceRootOf(entry),
    lock: c.lock,
    index: {
      ...(c['index-url'] ? { indexUrl: c['index-url'] } : {}),
      extraIndexUrls: c['extra-index-url'] ?? [],
      findLinks: c['find-links'] ?? [],
      noIndex: c['no-index'] ?? false,
    },
    location: entry.location,
    statePaths: entry.statePaths,
  };
}

/**
 * The bundle's `source-root`, checked when the config is loaded: a folder that is missing would
 * otherwise make every source glob match nothing, and the zip would ship without the handler.
 */
function sourceRootOf(entry: PluginEntry<BundleConfig>): string {
  const given = entry.config['source-root'];
  if (given === undefined) return '';
  const clean = given
    .replace(/\\/g, '/')
    .replace(/\/+$/, '')
    .replace(/^(\.\/)+/, '');
  if (clean === '' || clean === '.') return '';
  const stats = statSync(join(entry.root, clean), { throwIfNoEntry: false });
  if (stats?.isDirectory() !== true) {
    throw configError(
      'source-root-missing',
      `source-root "${given}" of [bundle.${entry.name}] ${stats === undefined ? 'does not exist' : 'is not a folder'}`,
      {
        hint: 'set source-root to the folder that holds the handler module (relative to the project root), e.g. "src", or remove it to resolve sources from the project root',
        location: entry.location('source-root'),
      },
    );
  }
  return clean;
}

/** Loads the pip layer on first use: a no-op check of an up-to-date tree never needs most of it. */
const pip = () => import('./pip/index.js');
/**
 * The parts of it a recipe needs, by module: the index also loads the wheelhouse's zip reader,
 * node:crypto and node:zlib, which a no-op check does not use and which cost it a fifth of
 * starting Node.
 */
const platforms = () => import('./pip/platform.js');

async function platformOf(bundle: Bundle) {
  const { runtimePlatform } = await platforms();
  try {
    return runtimePlatform(bundle.python, bundle.architecture);
  } catch (error) {
    throw located(error, bundle.location('python'));
  }
}

async function pythonOf(bundle: Bundle, signal?: AbortSignal) {
  const { probePython } = await import('./pip/python.js');
  try {
    return await probePython(bundle.buildPython, {
      cacheFile: join(bundle.statePaths.cacheDir, 'build-python.json'),
      cwd: bundle.root,
      ...(signal ? { signal } : {}),
    });
  } catch (error) {
    throw located(error, bundle.location('build-python'));
  }
}

/** The bundle's `bytecode`, or undefined when it compiles none. */
function bytecodeModeOf(bundle: Bundle): 'unchecked-hash' | 'checked-hash' | undefined {
  const mode = bundle.config.bytecode ?? 'none';
  return mode === 'none' ? undefined : mode;
}

/**
 * The interpreter of the runtime's Python version that compiles the bundle's bytecode; a config
 * error at `runtime-python` (or, when that is not set, at `bytecode`, which asks for it).
 */
async function runtimePythonOf(bundle: Bundle, signal?: AbortSignal) {
  const { findRuntimePython } = await import('./pip/runtime-python.js');
  const configured = bundle.config['runtime-python'];
  try {
    return await findRuntimePython(bundle.python, configured, {
      cacheFile: join(bundle.statePaths.cacheDir, 'runtime-python.json'),
      cwd: bundle.root,
      ...(signal ? { signal } : {}),
    });
  } catch (error) {
    throw located(error, bundle.location(configured !== undefined ? 'runtime-python' : 'bytecode'));
  }
}

async function requirementsOf(bundle: Bundle, beforeRead?: (path: string) => Promise<void>) {
  const { readRequirements } = await import('./pip/requirements.js');
  try {
    return await readRequirements(join(bundle.root, bundle.requirements ?? ''), {
      cwd: bundle.root,
      beforeRead,
    });
  } catch (error) {
    throw located(error, bundle.location('requirements'));
  }
}

function located(error: unknown, location: SourceLocation): unknown {
  if (error instanceof LbuildError && error.failure.kind === 'config' && !error.failure.location) {
    return new LbuildError({ ...error.failure, location }, { cause: error });
  }
  return error;
}

/**
 * The bundle's effective package sources: lbuild.toml's keys (with `${VAR}` expanded) over pip's
 * own configuration, unless `pip-config = "ignore"`. pip's section is the command that resolves.
 */
async function sourcesOf(bundle: Bundle, signal?: AbortSignal) {
  const { resolvePackageSources } = await import('./pip/package-sources.js');
  const { chooseStrategy } = await platforms();
  const [python, platform] = await Promise.all([pythonOf(bundle, signal), platformOf(bundle)]);
  const strategy = chooseStrategy(python, platform).strategy;
  const c = bundle.config;
  return resolvePackageSources({
    keys: {
      'index-url': c['index-url'],
      'extra-index-url': c['extra-index-url'],
      'find-links': c['find-links'],
      'no-index': c['no-index'],
    },
    mode: c['pip-config'] ?? 'use',
    env: process.env,
    prefix: python.prefix,
    command: strategy === 'pip-download' ? 'download' : 'wheel',
    projectRoot: bundle.root,
    location: (key) => bundle.location(key),
    table: `[${bundle.label}]`,
  });
}

type Sources = Awaited<ReturnType<typeof sourcesOf>>;

/** What of pip's own configuration the wheelhouse applies; nothing with pip-config = "ignore". */
function pipConfigOf(bundle: Bundle, sources: Sources) {
  if ((bundle.config['pip-config'] ?? 'use') !== 'use') return {};
  const { env, constraints, applied, ignored } = sources;
  return { pipConfig: { env, constraints, applied, ignored } };
}

/**
 * For `--explain`: where the effective package sources now come from (credentials masked), for
 * the recipe fields they make. Loaded only when a wheelhouse would run, never by `lbuild -q`.
 */
function explainSources(bundle: Bundle): (field: string) => Promise<string | undefined> {
  return async (field) => {
    if (!field.startsWith('pip.index.') && field !== 'pip.pipConstraints') return undefined;
    const { describePackageSources } = await import('./pip/package-sources.js');
    return `package sources: ${describePackageSources(await sourcesOf(bundle)).join('; ')}`;
  };
}

/**
 * The files and folders the wheelhouse reads (see wheelhouseInputs), plus the constraint files
 * of pip's configuration and what they include.
 */
async function inputsOf(
  bundle: Bundle,
  requirements: Awaited<ReturnType<typeof requirementsOf>>,
  sources: Sources,
  beforeRead?: (path: string) => Promise<void>,
): Promise<{ files: string[]; directories: string[] }> {
  // Only the modules a recipe needs: `lbuild -q` never loads the rest of pip's code.
  const { wheelhouseInputs } = await import('./pip/fingerprint.js');
  const { readRequirements } = await import('./pip/requirements.js');
  const inputs = wheelhouseInputs(requirements, sources.index, bundle.root);
  const { describeSourceOrigin } = await import('./pip/package-sources.js');
  for (const file of sources.constraints) {
    if (!existsSync(file)) {
      throw configError(
        'pip-constraint-not-found',
        `The constraint file ${file} (from ${describeSourceOrigin(sources.origins.constraints)}) does not exist.`,
        {
          hint: `Fix or remove constraint in pip's configuration, or set pip-config = "ignore" in [${bundle.label}].`,
        },
      );
    }
    const read = await readRequirements(file, { cwd: bundle.root, beforeRead });
    inputs.files.push(...read.files.filter((f) => !inputs.files.includes(f)));
  }
  return inputs;
}

/** Everything that decides which wheels the requirements get (see wheelhouseRecipe). */
async function pipRecipe(
  bundle: Bundle,
): Promise<{ recipe: Json; inputs: { files: string[]; directories: string[] } }> {
  const { wheelhouseRecipe } = await import('./pip/fingerprint.js');
  const { chooseStrategy } = await platforms();
  const { packageSourcesIdentity } = await import('./pip/package-sources.js');
  const [python, platform, requirements, sources] = await Promise.all([
    pythonOf(bundle),
    platformOf(bundle),
    requirementsOf(bundle),
    sourcesOf(bundle),
  ]);
  const strategy = chooseStrategy(python, platform).strategy;
  const recipe = wheelhouseRecipe({
    python,
    platform,
    strategy,
    index: sources.index,
    requirements,
    projectRoot: bundle.root,
    noBuildIsolation: bundle.config['no-build-isolation'] ?? false,
  });
  // The effective sources replace lbuild.toml's in `index`; constraint files of pip's
  // configuration join only when there are some, so other fingerprints stay as they were.
  const identity = packageSourcesIdentity(sources, bundle.root) as Record<string, Json>;
  if (identity.constraints !== undefined)
    (recipe as Record<string, Json>).pipConstraints = identity.constraints;
  return { recipe, inputs: await inputsOf(bundle, requirements, sources) };
}

/**
 * The wheelhouse of a group of bundles whose wheels are decided alike (see sharesOf): its first
 * bundle's settings are every bundle's.
 */
function wheelhouseTarget(group: readonly Bundle[]): TargetDefinition {
  const bundle = leader(group);
  const key = `${bundle.name}:wheelhouse`;
  const listOut = stateFile(bundle, key, 'wheels.json');
  return {
    key,
    kind: 'wheelhouse',
    description: `wheels for ${bundle.requirements ?? ''} (Python ${bundle.python}, ${bundle.architecture})${sharedBy(group)}`,
    deps: [],
    outputs: [listOut],
    location: bundle.location('requirements'),
    // The requirements files, local projects and find-links folders are snapshotted by the run;
    // their listings are part of the recipe so that an added file is noticed too.
    listInputs: async () => {
      const inputs = await inputsOf(bundle, await requirementsOf(bundle), await sourcesOf(bundle));
      return [...inputs.files, ...inputs.directories.map((d) => join(d, '/'))];
    },
    recipe: async () => {
      const { recipe, inputs } = await pipRecipe(bundle);
      return {
        pip: recipe,
        list: WHEEL_LIST_VERSION,
        listings: Object.fromEntries(
          inputs.directories.map((d) => [rel(bundle.root, d), listFiles(d)]),
        ),
      };
    },
    explain: explainSources(bundle),
    cache: { recipe: (fields) => portableWheelhouseRecipe(bundle, fields) },
    run: async (ctx) => {
      const { fillWheelhouse, pipFailureOf } = await pip();
      const { describePackageSources, usesPipConfiguration } =
        await import('./pip/package-sources.js');
      // Everything of the project pip will read is snapshotted before it is used: each
      // requirements file before it is parsed (pip gets copies written from what was parsed),
      // local projects, find-links folders and constraint files before pip reads them. An edit
      // made while pip runs is then seen by the engine's check after the run, and not stamped.
      const snapshotFile = async (file: string) => {
        await ctx.snapshot([file]);
      };
      const requirements = await requirementsOf(bundle, snapshotFile);
      const sources = await sourcesOf(bundle, ctx.signal);
      const inputs = await inputsOf(bundle, requirements, sources, snapshotFile);
      await ctx.snapshot([
        ...inputs.files,
        ...inputs.directories.flatMap((d) => listFiles(d).map((f) => join(d, f))),
      ]);
      // Which index a build used, and why, is worth a line whenever pip's configuration chose
      // it (a company index, or public PyPI where one was expected); with -v always.
      ctx.log(
        usesPipConfiguration(sources) ? 'info' : 'debug',
        `package sources: ${describePackageSources(sources).join('; ')}`,
      );
      const [python, platform] = await Promise.all([
        pythonOf(bundle, ctx.signal),
        platformOf(bundle),
      ]);
      const result = await fillWheelhouse({
        python,
        requirements,
        platform,
        index: sources.index,
        ...pipConfigOf(bundle, sources),
        wheelhouseDir: join(ctx.cacheDir, 'wheelhouse'),
        cwd: bundle.root,
        noBuildIsolation: bundle.config['no-build-isolation'] ?? false,
        signal: ctx.signal,
        onOutput: (line) => ctx.log('debug', line),
        onProgress: (p) => ctx.progress(p.done, p.total, p.unit, p.detail),
        onWarning: (message) => ctx.log('warn', message),
      }).catch((error: unknown) => {
        throw pipFailureOf(error)?.reason === 'free-threaded-build-python'
          ? located(error, bundle.location('build-python'))
          : error;
      });
      await writeWheelList(ctx, bundle, listOut, platform.key, result);
      const count = result.wheels.length;
      // pip chose these for this machine's markers; the runtime's markers decided otherwise.
      if (result.dropped.length > 0)
        ctx.log(
          'info',
          `not needed on ${platform.runtime} ${platform.architecture} (environment markers): ${result.dropped.join(', ')}`,
        );
      if (result.added.length > 0)
        ctx.log(
          'info',
          `needed on ${platform.runtime} ${platform.architecture} (environment markers): ${result.added.join('; ')}`,
        );
      return {
        cacheFiles: result.wheels,
        summary: `${count} wheel${count === 1 ? '' : 's'} for ${platform.key} (${result.strategy})${result.mismatches.length ? `; runtime differs from this machine: ${result.mismatches.join(', ')}` : ''}`,
      };
    },
  };
}

/** The staging of a group of bundles with one wheelhouse and one allow-host-built-wheels. */
function stagingTarget(group: readonly Bundle[], wheelhouse: TargetKey): TargetDefinition {
  const bundle = leader(group);
  const key = `${bundle.name}:staging`;
  const dir = stateFile(bundle, key, 'wheels');
  return {
    key,
    kind: 'staging',
    description: `exactly the wheels the requirements resolve to${sharedBy(group)}`,
    deps: [wheelhouse],
    outputs: [dir],
    cache: { recipe: (fields) => withLambdaTarget(bundle, fields) },
    // The opt-in decides whether the same wheels pass the runtime check.
    recipe: async () => {
      const platform = await platformOf(bundle);
      return { platform: platform.key, allowHostBuiltWheels: allowHostBuilt(bundle) };
    },
    // Copies the wheels the wheelhouse run resolved (wheels.json): the same set a second pip
    // resolve over the wheelhouse would pick, without the second pip start (~0.4 s, as long as
    // the rest of a small cold build). No reads of the requirements files: what they resolve to
    // is the wheelhouse's output, by content, so an edit that picks the same wheels (a comment)
    // stops at the wheelhouse.
    run: async (ctx) => {
      const listFile = ctx.deps.get(wheelhouse)?.outputs[0];
      if (!listFile)
        throw buildError('missing-wheel-list', `bundle ${bundle.name} has no wheel list to stage`);
      const list = JSON.parse(await readFile(listFile, 'utf8')) as WheelList;
      const { replaceDirectory } = await import('./pip/local-projects.js');
      const stagingDir = join(bundle.root, dir);
      await mkdir(dirname(stagingDir), { recursive: true });
      const names = Object.keys(list.wheels).sort();
      const { checkRuntimeWheels } = await import('./pip/runtime-wheels.js');
      checkRuntimeWheels(names, await platformOf(bundle), {
        allowHostBuilt: allowHostBuilt(bundle),
        table: group.map((b) => `[${b.label}]`).join(', '),
      });
      await replaceDirectory(stagingDir, async (tmp) => {
        for (const name of names) {
          ctx.signal.throwIfAborted();
          const path = list.paths[name];
          const source = path === undefined ? undefined : join(bundle.root, path);
          const hash = source && (await ctx.hashFile(source).catch(() => undefined));
          if (source === undefined || hash !== list.wheels[name]) {
            throw buildError(
              'wheelhouse-changed',
              `The wheelhouse no longer holds ${name} as ${wheelhouse} resolved it${source ? ` (${rel(bundle.root, source)} is ${hash === undefined ? 'gone' : 'different'})` : ''}.`,
              { hint: `Fill the wheelhouse again: lbuild -B ${bundle.name}` },
            );
          }
          await copyFile(source, join(tmp, name), constants.COPYFILE_FICLONE);
        }
      });
      return {
        value: { local: list.local },
        summary: `${names.length} wheel${names.length === 1 ? '' : 's'} staged`,
      };
    },
  };
}

/** The globs applied to the wheels' files: the bundle's `exclude`, without the defaults. */
const wheelExclude = (bundle: Bundle) => bundle.config.exclude ?? [];

/**
 * What the tree target reports besides its manifest (its `value`): what `exclude` left out of
 * each distribution, and which files are the bundle's extra `files`. `lbuild size` reads it.
 */
export interface BundleTreeValue {
  /** Per `NAME-VERSION.dist-info` folder: the files the exclude left out and their bytes. */
  excluded: Record<string, { files: number; bytes: number }>;
  /** The zip paths of the bundle's `files` table, sorted. */
  extraFiles: string[];
  /** A layer's: the folder its packages are under (`python`); absent for a bundle. */
  folder?: string;
}

function excludedByDistribution(
  files: readonly { distInfo: string; size: number }[],
): BundleTreeValue['excluded'] {
  const out: BundleTreeValue['excluded'] = {};
  for (const file of files) {
    const sum = (out[file.distInfo] ??= { files: 0, bytes: 0 });
    sum.files++;
    sum.bytes += file.size;
  }
  return out;
}

/** `lock` replaces `requirements`; `groups`, `extras` and `package` choose within a lock. */
function checkLockKeys(bundle: Bundle): void {
  if (bundle.lock !== undefined && bundle.requirements !== undefined) {
    throw configError(
      'lock-and-requirements',
      `[${bundle.label}] sets both requirements and lock; a ${bundle.table} has one requirement source.`,
      {
        hint: 'Keep lock (the locked set is installed exactly), or requirements (pip resolves it), not both.',
        location: bundle.location('lock'),
      },
    );
  }
  if (bundle.lock !== undefined) return;
  for (const key of ['groups', 'extras', 'package'] as const) {
    if (bundle.config[key] === undefined) continue;
    throw configError(
      'lock-key-without-lock',
      `[${bundle.label}] sets ${key}, which chooses within a lock file, but no lock.`,
      {
        hint: 'Set lock = "uv.lock" (or "pylock.toml"), or remove the key.',
        location: bundle.location(key),
      },
    );
  }
}

const lockOptions = (bundle: Bundle) => ({
  groups: bundle.config.groups ?? [],
  extras: bundle.config.extras ?? [],
  package: bundle.config.package,
});

async function lockOf(bundle: Bundle) {
  const { readLockFile } = await import('./pip/lock-wheelhouse.js');
  try {
    return await readLockFile(
      join(bundle.root, bundle.lock ?? ''),
      lockOptions(bundle),
      await platformOf(bundle),
    );
  } catch (error) {
    throw located(error, bundle.location('lock'));
  }
}

/**
 * NAME:wheelhouse for a lock file: the locked set for the runtime, fetched by file and hash (see
 * fillWheelhouseFromLock). It writes the same wheel list as the requirements wheelhouse, so
 * staging, tree and zip are the same steps: a lock edit that leaves this target's set as it was
 * (a dev dependency, a package whose marker excludes Lambda) writes the same list, and the
 * build stops there.
 */
function lockWheelhouseTarget(bundle: Bundle): TargetDefinition {
  const key = `${bundle.name}:wheelhouse`;
  const listOut = stateFile(bundle, key, 'wheels.json');
  // The effective package sources (lbuild.toml over pip's configuration, `${VAR}` expanded), as
  // for requirements: a company index in pip.conf serves locked packages too.
  const inputsOf = async (lock: Awaited<ReturnType<typeof lockOf>>, sources: Sources) => {
    const { wheelhouseInputs } = await import('./pip/fingerprint.js');
    const { lockRequirements } = await import('./pip/lock-wheelhouse.js');
    return wheelhouseInputs(lockRequirements(lock), sources.index, bundle.root);
  };
  return {
    key,
    kind: 'wheelhouse',
    description: `wheels locked in ${bundle.lock ?? ''} (Python ${bundle.python}, ${bundle.architecture})`,
    deps: [],
    outputs: [listOut],
    location: bundle.location('lock'),
    listInputs: async () => {
      const inputs = await inputsOf(await lockOf(bundle), await sourcesOf(bundle));
      return [...inputs.files, ...inputs.directories.map((d) => join(d, '/'))];
    },
    recipe: async () => {
      const { wheelhouseRecipe } = await import('./pip/fingerprint.js');
      const { chooseStrategy } = await platforms();
      const { lockRequirements, lockIdentity } = await import('./pip/lock-wheelhouse.js');
      const [python, platform, lock, sources] = await Promise.all([
        pythonOf(bundle),
        platformOf(bundle),
        lockOf(bundle),
        sourcesOf(bundle),
      ]);
      const inputs = await inputsOf(lock, sources);
      return {
        pip: wheelhouseRecipe({
          python,
          platform,
          strategy: chooseStrategy(python, platform).strategy,
          index: sources.index,
          requirements: lockRequirements(lock),
          projectRoot: bundle.root,
          noBuildIsolation: bundle.config['no-build-isolation'] ?? false,
        }),
        lock: lockIdentity(lock, lockOptions(bundle), bundle.root),
        allowHostBuiltWheels: allowHostBuilt(bundle),
        list: WHEEL_LIST_VERSION,
        listings: Object.fromEntries(
          inputs.directories.map((d) => [rel(bundle.root, d), listFiles(d)]),
        ),
      };
    },
    explain: explainSources(bundle),
    cache: { recipe: (fields) => portableWheelhouseRecipe(bundle, fields) },
    run: async (ctx) => {
      const { fillWheelhouseFromLock } = await import('./pip/lock-wheelhouse.js');
      // Snapshotted before they are read, as requirements files are: an edit made while pip runs
      // is seen by the engine's check after the run, and not stamped.
      await ctx.snapshot([join(bundle.root, bundle.lock ?? '')]);
      // The pyproject.toml files the lock is checked against are known only from the lock:
      // read once to find them, snapshot them, and use what a second read makes of them.
      const sources = await sourcesOf(bundle, ctx.signal);
      const inputs = await inputsOf(await lockOf(bundle), sources);
      await ctx.snapshot([
        ...inputs.files,
        ...inputs.directories.flatMap((d) => listFiles(d).map((f) => join(d, f))),
      ]);
      const lock = await lockOf(bundle);
      const [python, platform] = await Promise.all([
        pythonOf(bundle, ctx.signal),
        platformOf(bundle),
      ]);
      const result = await fillWheelhouseFromLock({
        python,
        lock,
        platform,
        index: sources.index,
        ...pipConfigOf(bundle, sources),
        wheelhouseDir: join(ctx.cacheDir, 'wheelhouse'),
        cwd: bundle.root,
        noBuildIsolation: bundle.config['no-build-isolation'] ?? false,
        allowHostBuilt: allowHostBuilt(bundle),
        signal: ctx.signal,
        onOutput: (line) => ctx.log('debug', line),
        onWarning: (message) => ctx.log('warn', message),
      }).catch((error: unknown) => {
        throw located(error, bundle.location('lock'));
      });
      await writeWheelList(ctx, bundle, listOut, platform.key, result);
      const count = result.wheels.length;
      return {
        cacheFiles: result.wheels,
        summary: `${count} wheel${count === 1 ? '' : 's'} locked for ${platform.key} (${result.fetched} fetched, ${result.cached} from the wheelhouse${result.localWheels.length ? `, ${result.localWheels.length} built` : ''})`,
      };
    },
  };
}

/**
 * Writes a wheelhouse's output: the resolved set, by content, so that staging reruns only when
 * it changes (early cutoff for an edit that picks the same wheels, such as a new comment).
 */
async function writeWheelList(
  ctx: RunContext,
  bundle: Bundle,
  listOut: string,
  platformKey: string,
  result: {
    wheels: readonly string[];
    strategy: WheelList['strategy'];
    localWheels: readonly { wheel: string }[];
  },
): Promise<void> {
  const wheels: Record<string, string> = {};
  const paths: Record<string, string> = {};
  for (const wheel of result.wheels) {
    wheels[basename(wheel)] = await ctx.hashFile(wheel);
    paths[basename(wheel)] = rel(bundle.root, wheel);
  }
  const list: WheelList = {
    platform: platformKey,
    strategy: result.strategy,
    wheels,
    paths,
    // Built here from local projects: their deflate streams come from this machine's zlib, so
    // the zip recompresses their entries (see the tree's recompressWheels).
    local: result.localWheels.map((w) => basename(w.wheel)).sort(),
  };
  await writeFileAtomic(join(bundle.root, listOut), JSON.stringify(list, null, 2) + '\n');
}

/**
 * What enters a target's shared-cache key besides its inputs and dependencies: its recipe
 * fields (all of them are made root-relative already) and the Lambda target it is built for,
 * so that another runtime or CPU never shares an entry, even where the bytes would agree.
 */
function withLambdaTarget(bundle: Bundle, fields: Readonly<Record<string, string>>): Json {
  return { fields, lambda: { python: bundle.python, architecture: bundle.architecture } };
}

/**
 * The wheelhouse's recipe without the facts of the build machine that its wheels do not depend
 * on. With `pip-download` pip fetches ready-made wheels by the runtime's tags (`--platform`,
 * `--python-version`, `--abi`), so the build Python's version, CPU, OS, glibc and
 * implementation do not choose them, and a laptop and CI share the entry. pip's own version
 * stays: its resolver picks the files. With `pip-wheel` the build Python compiles what has no
 * wheel, for its own version and glibc: every fact stays.
 */
async function portableWheelhouseRecipe(
  bundle: Bundle,
  fields: Readonly<Record<string, string>>,
): Promise<Json> {
  const { chooseStrategy } = await platforms();
  const [python, platform] = await Promise.all([pythonOf(bundle), platformOf(bundle)]);
  if (chooseStrategy(python, platform).strategy === 'pip-wheel')
    return withLambdaTarget(bundle, fields);
  const machine = ['version', 'implementation', 'system', 'machine', 'glibc'].map(
    (fact) => `pip.python.${fact}`,
  );
  return withLambdaTarget(
    bundle,
    Object.fromEntries(Object.entries(fields).filter(([field]) => !machine.includes(field))),
  );
}

const allowHostBuilt = (bundle: Bundle) => bundle.config['allow-host-built-wheels'] ?? false;

/** `staging`: the key of the bundle's (maybe shared) staging target, when it has wheels. */
function treeTarget(bundle: Bundle, staging: TargetKey | undefined): TargetDefinition {
  const key = `${bundle.name}:tree`;
  const manifestOut = stateFile(bundle, key, 'tree.json');
  const writtenOut = stateFile(bundle, key, 'written');
  // Under a source-root, the globs and paths of the config are the folder's, made root-relative
  // here; zip paths are taken relative to the folder.
  const inSourceRoot = (path: string): string =>
    bundle.sourceRoot === '' ? path : join(bundle.sourceRoot, path).split('\\').join('/');
  const sources = (bundle.config.sources ?? []).map(inSourceRoot);
  const files = Object.fromEntries(
    Object.entries(bundle.config.files ?? {}).map(([zipPath, path]) => [
      zipPath,
      inSourceRoot(path),
    ]),
  );
  const exclude = [...DEFAULT_EXCLUDES, ...(bundle.config.exclude ?? []).map(inSourceRoot)];
  const zipRoot = join(bundle.root, bundle.sourceRoot);
  const layer = bundle.table === 'layer';
  const bytecodeMode = bytecodeModeOf(bundle);
  /** The interpreter identity the last recipe named: the run compiles with that one or fails. */
  let planned: string | undefined;
  const bytecodeRecipe = async (mode: string) => {
    const { bytecodeIdentity, BYTECODE_FORMAT, LAMBDA_TASK_ROOT } =
      await import('./tree/compile-pyc.js');
    const python = bytecodeIdentity(await runtimePythonOf(bundle));
    planned = JSON.stringify(python);
    return {
      mode,
      format: BYTECODE_FORMAT,
      root: pycRoot(bundle, LAMBDA_TASK_ROOT),
      python: { ...python },
    };
  };
  return {
    key,
    kind: 'tree',
    description: layer
      ? `the contents of the layer: wheel contents under ${LAYER_FOLDER}/`
      : 'the contents of the package: wheel contents, sources, extra files',
    deps: staging !== undefined ? [staging] : [],
    inputs: [
      { patterns: sources, exclude, excludeOutputs: true, location: bundle.location('sources') },
      { patterns: Object.values(files), location: bundle.location('files') },
    ],
    outputs: [manifestOut, writtenOut],
    cache: { recipe: (fields) => withLambdaTarget(bundle, fields) },
    recipe: async () => {
      const { TREE_MANIFEST_VERSION, INSTALL_LAYOUT, lambdaInterpreter } =
        await import('./tree/versions.js');
      return {
        manifest: TREE_MANIFEST_VERSION,
        files,
        exclude,
        // The bundle's own globs also leave wheels' files out (the defaults are for project
        // files only): a new pattern may remove files from a tree whose inputs are the same.
        wheelExclude: wheelExclude(bundle),
        ...(bundle.sourceRoot === '' ? {} : { sourceRoot: bundle.sourceRoot }),
        // How wheels are laid out, and the interpreter their scripts name: a bundle whose wheels
        // stay the same under another runtime still gets that runtime's `#!` lines.
        install: INSTALL_LAYOUT,
        interpreter: lambdaInterpreter(bundle.python),
        // Only when it compiles, so a bundle without bytecode keeps its fingerprint: the mode,
        // and what of the interpreter decides the pycs' bytes (not its path).
        ...(bytecodeMode === undefined ? {} : { bytecode: await bytecodeRecipe(bytecodeMode) }),
        ...(layer ? { folder: LAYER_FOLDER } : {}),
      };
    },
    run: async (ctx) => {
      const { buildTree, manifestUnzippedSize, underFolder } = await import('./tree/index.js');
      const staged = staging !== undefined ? ctx.deps.get(staging) : undefined;
      const wheelDir = staged?.outputs[0];
      const wheels = wheelDir
        ? readdirSync(wheelDir)
            .filter((f) => f.endsWith('.whl'))
            .sort()
            .map((f) => join(wheelDir, f))
        : [];
      const [sourceFiles = [], extraFiles = []] = ctx.inputGroups;
      const byPath = new Map(extraFiles.map((f) => [rel(bundle.root, f), f]));
      const listed = [
        ...sourceFiles.map((file) => ({ zipPath: rel(zipRoot, file), file })),
        ...Object.entries(files).map(([zipPath, path]) => ({
          zipPath: zipPath.replace(/^\.\//, ''),
          file: byPath.get(path.replace(/^\.\//, '')) ?? join(bundle.root, path),
        })),
      ];
      const local = (staged?.value as { local?: string[] } | undefined)?.local ?? [];
      const bytecode = bytecodeMode && (await treeBytecode(ctx, bundle, bytecodeMode, planned));
      const built = await buildTree({
        ...(bytecode ? { bytecode } : {}),
        wheels,
        ...(wheelDir && local.length
          ? { recompressWheels: new Set(local.map((w) => join(wheelDir, w))) }
          : {}),
        files: listed,
        hashFile: ctx.hashFile,
        python: bundle.python,
        exclude: wheelExclude(bundle),
        writtenDir: join(bundle.root, writtenOut),
        signal: ctx.signal,
      });
      const manifest = layer ? underFolder(built, LAYER_FOLDER) : built;
      const { pthFiles } = await import('./tree/pth.js');
      // Found at the top of the installed packages, named by their path in the zip.
      const pth = pthFiles(built).map((p) => (layer ? `${LAYER_FOLDER}/${p}` : p));
      if (pth.length > 0) {
        ctx.log(
          'warn',
          `${bundle.name} ships ${pth.join(', ')}: Lambda does not process .pth files in ${layer ? `a layer (/opt/${LAYER_FOLDER} is on sys.path, not a site directory)` : 'the task root (/var/task is not a site directory)'}, so the paths they add and the code they run at startup do not take effect there`,
          { pth },
        );
      }
      await writeFileAtomic(join(bundle.root, manifestOut), JSON.stringify(manifest));
      const extraPaths = Object.keys(files).map((p) => p.replace(/^\.\//, ''));
      const pycs = bytecode ? await bytecodeEntries(manifest, bytecode.compiler.cacheTag) : null;
      const value: BundleTreeValue = {
        excluded: excludedByDistribution(manifest.excluded ?? []),
        // An extra file's pyc counts with it in `lbuild size`.
        extraFiles: [...extraPaths, ...(pycs?.of(extraPaths) ?? [])].sort(),
        ...(layer ? { folder: LAYER_FOLDER } : {}),
      };
      const left = manifest.excluded ?? [];
      return {
        value: value as unknown as Json,
        summary: `${manifest.entries.length} files, ${formatBytes(manifestUnzippedSize(manifest))} unzipped${pycs ? `, ${pycs.count} pycs (${bytecodeMode ?? ''})` : ''}${left.length > 0 ? `; exclude left out ${left.length} files of wheels (${formatBytes(left.reduce((n, f) => n + f.size, 0))})` : ''}`,
      };
    },
  };
}

/**
 * What the tree target hands buildTree to compile the bundle's bytecode: a compiler with the
 * runtime's interpreter (the one the recipe named, or the run fails), whose pycs are cached in the
 * shared cache, and a warning naming the files that do not compile.
 */
/**
 * The directory a package's files are at on Lambda, which pycs name their sources by: the task
 * root for a function's zip; a layer is extracted to /opt, its `python/` folder on sys.path.
 */
function pycRoot(bundle: Bundle, taskRoot: string): string {
  return bundle.table === 'layer' ? `/opt/${LAYER_FOLDER}` : taskRoot;
}

async function treeBytecode(
  ctx: RunContext,
  bundle: Bundle,
  mode: 'unchecked-hash' | 'checked-hash',
  planned: string | undefined,
) {
  const { bytecodeIdentity, createPycCompiler, LAMBDA_TASK_ROOT } =
    await import('./tree/compile-pyc.js');
  const python = await runtimePythonOf(bundle, ctx.signal);
  if (planned !== undefined && planned !== JSON.stringify(bytecodeIdentity(python))) {
    throw buildError(
      'input-changed-during-run',
      `The runtime Python ${python.executable} changed while the bundle was built; run lbuild again.`,
    );
  }
  return {
    compiler: createPycCompiler({
      python,
      mode,
      root: pycRoot(bundle, LAMBDA_TASK_ROOT),
      cacheDir: join(ctx.cacheDir, 'bytecode'),
    }),
    onUncompiled: (files: { path: string; error: string }[]) => {
      const shown = files.slice(0, 5).map((f) => `${f.path} (${f.error})`);
      const more = files.length - shown.length;
      ctx.log(
        'warn',
        `${bundle.name}: ${files.length} .py file${files.length === 1 ? '' : 's'} do${files.length === 1 ? 'es' : ''} not compile under Python ${python.version} and ship${files.length === 1 ? 's' : ''} without bytecode (importing ${files.length === 1 ? 'it' : 'them'} on Lambda fails the same way): ${shown.join('; ')}${more > 0 ? `; and ${more} more` : ''}`,
        { uncompiled: files.map((f) => f.path) },
      );
    },
  };
}

/** The pycs in a tree: how many, and those of some `.py` paths. */
async function bytecodeEntries(manifest: { entries: { path: string }[] }, cacheTag: string) {
  const { isPySource, pycPath } = await import('./tree/bytecode.js');
  const paths = new Set(manifest.entries.map((e) => e.path));
  const suffix = `.${cacheTag}.pyc`;
  return {
    count: manifest.entries.filter((e) => e.path.endsWith(suffix)).length,
    of: (sources: string[]) =>
      sources.filter(isPySource).flatMap((p) => {
        const pyc = pycPath(p, cacheTag);
        return paths.has(pyc) ? [pyc] : [];
      }),
  };
}

/**
 * What the zip is built for, as the config says, for whoever deploys it (see
 * @lbuild/lambda-runtimes): the deploy plugin checks its function against it before anything runs.
 */
function lambdaArtifact(bundle: Bundle): LambdaArtifact {
  const at = (key: 'python' | 'architecture'): { [k: string]: string } => {
    if (bundle.config[key] === undefined) return {};
    const location = bundle.location(key);
    const file = rel(bundle.root, location.file);
    return { [`${key}At`]: location.line !== undefined ? `${file}:${location.line}` : file };
  };
  return {
    table: bundle.label,
    python: bundle.python,
    architecture: bundle.architecture,
    ...at('python'),
    ...at('architecture'),
    ...(bundle.table === 'layer' ? { layer: true } : {}),
  };
}

function zipTarget(bundle: Bundle): TargetDefinition {
  const key = `${bundle.name}:zip`;
  const level = bundle.config['compression-level'];
  const maxUnzipped = bundle.config['max-unzipped-size'];
  return {
    key,
    kind: 'zip',
    description: `the reproducible zip ${bundle.output}`,
    deps: [`${bundle.name}:tree`],
    outputs: [bundle.output],
    location: bundle.location('output'),
    artifact: { [LAMBDA_ARTIFACT]: { ...lambdaArtifact(bundle) } },
    cache: { recipe: (fields) => withLambdaTarget(bundle, fields) },
    // What decides the bytes besides the tree: the zip format (writer and deflate versions) and
    // the compression level. The size limit decides whether it is written at all.
    recipe: async () => {
      // format.js loads nothing; the writer (and fflate) only when the zip is written.
      const { ZIP_FORMAT_ID, DEFAULT_ZIP_LEVEL, LAMBDA_MAX_UNZIPPED_BYTES } =
        await import('./zip/format.js');
      return {
        format: ZIP_FORMAT_ID,
        level: level ?? DEFAULT_ZIP_LEVEL,
        maxUnzipped: maxUnzipped ?? LAMBDA_MAX_UNZIPPED_BYTES,
      };
    },
    run: async (ctx: RunContext) => {
      const { writeZip } = await import('./zip/index.js');
      const tree = ctx.deps.get(`${bundle.name}:tree`)?.outputs[0];
      if (!tree) throw buildError('missing-tree', `bundle ${bundle.name} has no tree to zip`);
      const manifest = JSON.parse(await readFile(tree, 'utf8')) as Parameters<typeof writeZip>[0];
      await mkdir(dirname(join(bundle.root, bundle.output)), { recursive: true });
      const result = await writeZip(manifest, {
        output: join(bundle.root, bundle.output),
        cacheDir: join(ctx.cacheDir, 'zip'),
        ...(level !== undefined ? { level } : {}),
        ...(maxUnzipped !== undefined ? { maxUnzippedBytes: maxUnzipped } : {}),
        limitFrom: {
          table: bundle.label,
          location:
            maxUnzipped !== undefined ? bundle.location('max-unzipped-size') : bundle.location(),
        },
        signal: ctx.signal,
        onProgress: (done, total) => ctx.progress(done, total, 'files'),
      });
      const runtime = pythonRuntime(bundle.python);
      const deprecated = runtime && deprecationNotice(runtime, new Date());
      if (deprecated) ctx.log('warn', `[${bundle.label}] python ${bundle.python}: ${deprecated}`);
      if (result.size > DIRECT_UPLOAD_LIMIT) {
        ctx.log(
          'warn',
          `${bundle.output} is ${formatBytes(result.size)} zipped: over Lambda's 50 MB direct-upload limit, so deploys must go through S3 (set s3-bucket on the function)`,
        );
      }
      ctx.log(
        'debug',
        `zip: ${result.compressedEntries} compressed, ${result.reusedEntries} from cache, ${result.copiedEntries} copied from wheels`,
      );
      return {
        value: {
          sha256: result.sha256Hex,
          codeSha256: result.codeSha256,
          size: result.size,
          entries: result.entries,
          unzippedSize: result.unzippedSize,
        },
        summary: `${bundle.output}: ${formatBytes(result.size)}, ${result.entries} files, sha256 ${result.sha256Hex} (CodeSha256 ${result.codeSha256})`,
      };
    },
  };
}

function rel(root: string, path: string): string {
  const r = isAbsolute(path) ? relative(root, path) : path;
  return r.split('\\').join('/');
}
