import { readdirSync } from 'node:fs';
import { constants, copyFile, mkdir, readFile } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, relative } from 'node:path';
import {
  buildError,
  definePlugin,
  keyToFileName,
  LbuildError,
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
  root: string;
  config: BundleConfig;
  python: string;
  architecture: LambdaArchitecture;
  buildPython: string;
  output: string;
  requirements: string | undefined;
  index: { indexUrl?: string; extraIndexUrls: string[]; findLinks: string[]; noIndex: boolean };
  location: PluginEntry<BundleConfig>['location'];
}

const stateRel = (key: string, file: string) => `.lbuild/targets/${keyToFileName(key)}/${file}`;

/** `[bundle.NAME]` → NAME:wheelhouse → NAME:staging → NAME:tree → NAME:zip (alias NAME). */
export const pythonLambdaPlugin = definePlugin<BundleConfig>({
  table: 'bundle',
  description:
    'A Python AWS Lambda zip: wheels for the runtime, project sources and extra files, byte-reproducible.',
  schema: bundleSchema,
  targets(entry, table) {
    const shares = sharesOf(table);
    const bundle = shares.bundles.get(entry.name);
    if (!bundle) throw new Error(`bundle ${entry.name} is not in its table`);
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
    }
    targets.push(treeTarget(bundle, staging), zipTarget(bundle));
    return { targets, aliases };
  },
});

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
function sharesOf(table: readonly PluginEntry<BundleConfig>[]): Shares {
  const known = sharesByTable.get(table);
  if (known) return known;
  const bundles = table.map(bundleOf);
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
  return `; shared by ${group.length} bundles: ${shown.join(', ')}${more > 0 ? ` and ${more} more` : ''}`;
}

function bundleOf(entry: PluginEntry<BundleConfig>): Bundle {
  const c = entry.config;
  return {
    name: entry.name,
    root: entry.root,
    config: c,
    python: c.python ?? '3.12',
    architecture: c.architecture ?? 'x86_64',
    buildPython: c['build-python'] ?? 'python3',
    output: c.output ?? `dist/${entry.name}.zip`,
    requirements: c.requirements,
    index: {
      ...(c['index-url'] ? { indexUrl: c['index-url'] } : {}),
      extraIndexUrls: c['extra-index-url'] ?? [],
      findLinks: c['find-links'] ?? [],
      noIndex: c['no-index'] ?? false,
    },
    location: entry.location,
  };
}

/** Loads the pip layer on first use: a no-op check of an up-to-date tree never needs most of it. */
const pip = () => import('./pip/index.js');

async function platformOf(bundle: Bundle) {
  const { runtimePlatform } = await pip();
  try {
    return runtimePlatform(bundle.python, bundle.architecture);
  } catch (error) {
    throw located(error, bundle.location('python'));
  }
}

async function pythonOf(bundle: Bundle, signal?: AbortSignal) {
  const { probePython } = await pip();
  try {
    return await probePython(bundle.buildPython, {
      cacheFile: join(bundle.root, '.lbuild', 'cache', 'build-python.json'),
      cwd: bundle.root,
      ...(signal ? { signal } : {}),
    });
  } catch (error) {
    throw located(error, bundle.location('build-python'));
  }
}

async function requirementsOf(bundle: Bundle, beforeRead?: (path: string) => Promise<void>) {
  const { readRequirements } = await pip();
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

/** Everything that decides which wheels the requirements get (see wheelhouseRecipe). */
async function pipRecipe(
  bundle: Bundle,
): Promise<{ recipe: Json; inputs: { files: string[]; directories: string[] } }> {
  const { wheelhouseRecipe, wheelhouseInputs, chooseStrategy } = await pip();
  const [python, platform, requirements] = await Promise.all([
    pythonOf(bundle),
    platformOf(bundle),
    requirementsOf(bundle),
  ]);
  const strategy = chooseStrategy(python, platform).strategy;
  const recipe = wheelhouseRecipe({
    python,
    platform,
    strategy,
    index: bundle.index,
    requirements,
    projectRoot: bundle.root,
    noBuildIsolation: bundle.config['no-build-isolation'] ?? false,
  });
  return { recipe, inputs: wheelhouseInputs(requirements, bundle.index, bundle.root) };
}

/**
 * The wheelhouse of a group of bundles whose wheels are decided alike (see sharesOf): its first
 * bundle's settings are every bundle's.
 */
function wheelhouseTarget(group: readonly Bundle[]): TargetDefinition {
  const bundle = leader(group);
  const key = `${bundle.name}:wheelhouse`;
  const listOut = stateRel(key, 'wheels.json');
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
      const { wheelhouseInputs } = await pip();
      const inputs = wheelhouseInputs(await requirementsOf(bundle), bundle.index, bundle.root);
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
    run: async (ctx) => {
      const { fillWheelhouse, wheelhouseInputs, pipFailureOf } = await pip();
      // Everything of the project pip will read is snapshotted before it is used: each
      // requirements file before it is parsed (pip gets copies written from what was parsed),
      // local projects and find-links folders before pip copies or lists them. An edit made
      // while pip runs is then seen by the engine's check after the run, and not stamped.
      const requirements = await requirementsOf(bundle, async (file) => {
        await ctx.snapshot([file]);
      });
      const inputs = wheelhouseInputs(requirements, bundle.index, bundle.root);
      await ctx.snapshot([
        ...inputs.files,
        ...inputs.directories.flatMap((d) => listFiles(d).map((f) => join(d, f))),
      ]);
      const [python, platform] = await Promise.all([
        pythonOf(bundle, ctx.signal),
        platformOf(bundle),
      ]);
      const result = await fillWheelhouse({
        python,
        requirements,
        platform,
        index: bundle.index,
        wheelhouseDir: join(ctx.cacheDir, 'wheelhouse'),
        cwd: bundle.root,
        noBuildIsolation: bundle.config['no-build-isolation'] ?? false,
        signal: ctx.signal,
        onOutput: (line) => ctx.log('debug', line),
        onWarning: (message) => ctx.log('warn', message),
      }).catch((error: unknown) => {
        throw pipFailureOf(error)?.reason === 'free-threaded-build-python'
          ? located(error, bundle.location('build-python'))
          : error;
      });
      // The resolved set, by content: staging reruns only when it changes (early cutoff for a
      // requirements edit that picks the same wheels, such as a new comment).
      const wheels: Record<string, string> = {};
      const paths: Record<string, string> = {};
      for (const wheel of result.wheels) {
        wheels[basename(wheel)] = await ctx.hashFile(wheel);
        paths[basename(wheel)] = rel(bundle.root, wheel);
      }
      const list: WheelList = {
        platform: platform.key,
        strategy: result.strategy,
        wheels,
        paths,
        // Built here from local projects: their deflate streams come from this machine's zlib,
        // so the zip recompresses their entries (see the tree's recompressWheels).
        local: result.localWheels.map((w) => basename(w.wheel)).sort(),
      };
      await writeFileAtomic(join(bundle.root, listOut), JSON.stringify(list, null, 2) + '\n');
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
        summary: `${count} wheel${count === 1 ? '' : 's'} for ${platform.key} (${result.strategy})${result.mismatches.length ? `; runtime differs from this machine: ${result.mismatches.join(', ')}` : ''}`,
      };
    },
  };
}

/** The staging of a group of bundles with one wheelhouse and one allow-host-built-wheels. */
function stagingTarget(group: readonly Bundle[], wheelhouse: TargetKey): TargetDefinition {
  const bundle = leader(group);
  const key = `${bundle.name}:staging`;
  const dir = stateRel(key, 'wheels');
  return {
    key,
    kind: 'staging',
    description: `exactly the wheels the requirements resolve to${sharedBy(group)}`,
    deps: [wheelhouse],
    outputs: [dir],
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
        table: group.map((b) => `[bundle.${b.name}]`).join(', '),
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

const allowHostBuilt = (bundle: Bundle) => bundle.config['allow-host-built-wheels'] ?? false;

/** `staging`: the key of the bundle's (maybe shared) staging target, when it has wheels. */
function treeTarget(bundle: Bundle, staging: TargetKey | undefined): TargetDefinition {
  const key = `${bundle.name}:tree`;
  const manifestOut = stateRel(key, 'tree.json');
  const writtenOut = stateRel(key, 'written');
  const sources = bundle.config.sources ?? [];
  const files = bundle.config.files ?? {};
  const exclude = [...DEFAULT_EXCLUDES, ...(bundle.config.exclude ?? [])];
  return {
    key,
    kind: 'tree',
    description: 'the contents of the package: wheel contents, sources, extra files',
    deps: staging !== undefined ? [staging] : [],
    inputs: [
      { patterns: sources, exclude, excludeOutputs: true, location: bundle.location('sources') },
      { patterns: Object.values(files), location: bundle.location('files') },
    ],
    outputs: [manifestOut, writtenOut],
    recipe: async () => {
      const { TREE_MANIFEST_VERSION } = await import('./tree/manifest.js');
      const { INSTALL_LAYOUT, lambdaInterpreter } = await import('./tree/install.js');
      return {
        manifest: TREE_MANIFEST_VERSION,
        files,
        exclude,
        // How wheels are laid out, and the interpreter their scripts name: a bundle whose wheels
        // stay the same under another runtime still gets that runtime's `#!` lines.
        install: INSTALL_LAYOUT,
        interpreter: lambdaInterpreter(bundle.python),
      };
    },
    run: async (ctx) => {
      const { buildTree, manifestUnzippedSize } = await import('./tree/index.js');
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
        ...sourceFiles.map((file) => ({ zipPath: rel(bundle.root, file), file })),
        ...Object.entries(files).map(([zipPath, path]) => ({
          zipPath: zipPath.replace(/^\.\//, ''),
          file: byPath.get(path.replace(/^\.\//, '')) ?? join(bundle.root, path),
        })),
      ];
      const local = (staged?.value as { local?: string[] } | undefined)?.local ?? [];
      const manifest = await buildTree({
        wheels,
        ...(wheelDir && local.length
          ? { recompressWheels: new Set(local.map((w) => join(wheelDir, w))) }
          : {}),
        files: listed,
        hashFile: ctx.hashFile,
        python: bundle.python,
        writtenDir: join(bundle.root, writtenOut),
        signal: ctx.signal,
      });
      const { pthFiles } = await import('./tree/pth.js');
      const pth = pthFiles(manifest);
      if (pth.length > 0) {
        ctx.log(
          'warn',
          `${bundle.name} ships ${pth.join(', ')}: Lambda does not process .pth files in the task root (/var/task is not a site directory), so the paths they add and the code they run at startup do not take effect there`,
          { pth },
        );
      }
      await writeFileAtomic(join(bundle.root, manifestOut), JSON.stringify(manifest));
      return {
        summary: `${manifest.entries.length} files, ${formatBytes(manifestUnzippedSize(manifest))} unzipped`,
      };
    },
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
    table: `bundle.${bundle.name}`,
    python: bundle.python,
    architecture: bundle.architecture,
    ...at('python'),
    ...at('architecture'),
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
        signal: ctx.signal,
        onProgress: (done, total) => ctx.progress(done, total, 'files'),
      }).catch((error: unknown) => {
        // The writer's hint names its option (maxUnzippedBytes); a user sets the config key.
        if (error instanceof LbuildError && error.failure.reason === 'zip-too-large') {
          throw new LbuildError(
            {
              ...error.failure,
              hint: 'Drop dependencies or files you do not need, or raise max-unzipped-size if your deployment allows more (Lambda allows 250 MB unzipped, container images more).',
              location:
                maxUnzipped !== undefined
                  ? bundle.location('max-unzipped-size')
                  : bundle.location(),
            },
            { cause: error },
          );
        }
        throw error;
      });
      const runtime = pythonRuntime(bundle.python);
      const deprecated = runtime && deprecationNotice(runtime, new Date());
      if (deprecated)
        ctx.log('warn', `[bundle.${bundle.name}] python ${bundle.python}: ${deprecated}`);
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

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} kB`;
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}
