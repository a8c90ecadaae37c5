// Bundles the CLI into CommonJS files under bundle/ (tsc's own output stays in dist/, which the
// package's exports name), and lays out release/, a package `npm pack` accepts. Node starts a CommonJS bundle measurably
// faster than ES modules, and `lbuild -q` start-up is most of its run time. Heavy libraries
// that only some commands need (AWS SDK, chokidar, pino, execa, ...) are bundled into their own
// files under bundle/vendor/ and required on first use, so a no-op check never parses them.
import { build } from 'esbuild';
import {
  chmod,
  cp,
  mkdir,
  mkdtemp,
  readFile,
  rename,
  rm,
  writeFile,
  copyFile,
} from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const pkg = JSON.parse(await readFile(join(here, 'package.json'), 'utf8'));

/** Loaded lazily (dynamic import in the source) and shipped as separate bundles. */
export const VENDORED = [
  '@aws-sdk/client-lambda',
  '@aws-sdk/client-s3',
  'chokidar',
  'execa',
  'pino',
  'yauzl',
];
const safe = (name) => name.replace(/^@/, '').replace(/\//g, '-');

const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  logLevel: 'warning',
  legalComments: 'none',
  // External dynamic imports become require() calls: import() would start Node's ES module
  // loader, which costs more start-up time than everything else in a no-op check.
  supported: { 'dynamic-import': false },
  // import.meta.url has no CommonJS equivalent; give bundled code the file's own URL.
  define: { 'import.meta.url': '__lbuild_import_meta_url' },
  banner: {
    js: "var __lbuild_import_meta_url = require('node:url').pathToFileURL(__filename).href;",
  },
};

const resolveDir = (name) =>
  join(
    here,
    '..',
    name === 'chokidar' || name === 'smol-toml'
      ? 'core'
      : name === 'execa'
        ? 'core'
        : name.startsWith('@aws-sdk') || name === 'yauzl'
          ? 'lambda-deploy'
          : name === 'fflate'
            ? 'python-lambda'
            : 'cli',
  );

const vendorPlugin = {
  name: 'vendor',
  setup(b) {
    b.onResolve({ filter: /.*/ }, (args) => {
      if (args.kind === 'entry-point') return undefined;
      if (VENDORED.includes(args.path))
        return { path: `./vendor/${safe(args.path)}.cjs`, external: true };
      return undefined;
    });
  },
};

// commander requires node:child_process at load time for executable subcommands, which lbuild
// does not use; loading it (and net, stream with it) is a tenth of a no-op check. Defer it.
const lazyChildProcess = {
  name: 'lazy-child-process',
  setup(b) {
    b.onLoad({ filter: /commander[\\/]lib[\\/]command\.js$/ }, async (args) => {
      const text = await readFile(args.path, 'utf8');
      const patched = text.replace(
        "require('node:child_process')",
        "new Proxy({}, { get: (_, k) => require('node:child_process')[k] })",
      );
      if (patched === text)
        throw new Error('commander changed: update the lazy child_process patch');
      return { contents: patched, loader: 'js' };
    });
  },
};

// fdir (under tinyglobby, of which lbuild uses isDynamicPattern) looks for an optional picomatch
// when it loads, for a glob() lbuild never calls: a search of every node_modules folder above the
// bundle on each start, whose outcome depends on what happens to be installed there. Drop it.
const noOptionalPicomatch = {
  name: 'no-optional-picomatch',
  setup(b) {
    b.onLoad({ filter: /[\\/]fdir[\\/]dist[\\/]index\.mjs$/ }, async (args) => {
      const text = await readFile(args.path, 'utf8');
      const patched = text.replace(
        /try \{\s*__require\.resolve\("picomatch"\);\s*pm = __require\("picomatch"\);\s*\} catch \{\}/,
        '',
      );
      if (patched === text) throw new Error('fdir changed: update the optional picomatch patch');
      return { contents: patched, loader: 'js' };
    });
  },
};

/**
 * Builds a folder with `fill` in a fresh temporary folder beside `final`, then renames it into
 * place: a test or a shell running the CLI meanwhile finds the old build or the new one, never a
 * half-written one.
 */
/** The process's umask, read without changing it for longer than the call. */
function currentUmask() {
  const mask = process.umask(0);
  process.umask(mask);
  return mask;
}

async function buildInto(final, fill) {
  const tmp = await mkdtemp(`${final}.tmp-`);
  const old = `${tmp}.old`;
  try {
    await fill(tmp);
    // mkdtemp makes the folder private (0700); the build is for everyone who may run it, as a
    // folder made by mkdir would be under the usual umask.
    await chmod(tmp, 0o755 & ~currentUmask());
    try {
      await rename(final, old);
    } catch (error) {
      if (error.code !== 'ENOENT') throw error;
    }
    await rename(tmp, final);
  } finally {
    await rm(tmp, { recursive: true, force: true });
    await rm(old, { recursive: true, force: true });
  }
}

/** The bundle and everything it loads at run time: `lbuild.cjs`, `vendor/`, `node_modules/`. */
async function writeBundle(out) {
  await mkdir(join(out, 'vendor'), { recursive: true });

  await build({
    ...common,
    // The deflate worker threads start from their own file beside the bundle (see
    // deflateWorkerUrl in python-lambda's zip/deflate.ts).
    entryPoints: {
      lbuild: join(here, 'src', 'bin.ts'),
      // Loaded by bin/lbuild.cjs before the bundle, for `-q` only (see src/noop/trace.ts).
      'noop-trace': join(here, 'src', 'noop', 'trace.ts'),
      'deflate-worker': join(here, '..', 'python-lambda', 'src', 'zip', 'deflate-worker.ts'),
    },
    outdir: out,
    outExtension: { '.js': '.cjs' },
    define: { ...common.define, LBUILD_VERSION: JSON.stringify(pkg.version) },
    plugins: [vendorPlugin, lazyChildProcess, noOptionalPicomatch],
    minify: true,
    keepNames: true,
    // The workspace packages are bundled from their TypeScript sources.
    alias: {
      '@lbuild/core': join(here, '..', 'core', 'src', 'index.ts'),
      '@lbuild/lambda-runtimes': join(here, '..', 'lambda-runtimes', 'src', 'index.ts'),
      '@lbuild/python-lambda': join(here, '..', 'python-lambda', 'src', 'index.ts'),
      '@lbuild/lambda-deploy': join(here, '..', 'lambda-deploy', 'src'),
      '@lbuild/s3-cache': join(here, '..', 's3-cache', 'src', 'index.ts'),
    },
  });

  for (const name of VENDORED) {
    await build({
      ...common,
      // The SDK warns on Node < 22 that its future releases will need it; lbuild ships this
      // release, supports Node 20, and its users cannot act on the warning.
      define: {
        ...common.define,
        'process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED': '"true"',
      },
      stdin: {
        contents: `module.exports = require(${JSON.stringify(name)});`,
        resolveDir: resolveDir(name),
        loader: 'js',
      },
      outfile: join(out, 'vendor', `${safe(name)}.cjs`),
    });
  }

  // The bundle and the deflate workers' bundle both load fflate from a real package next to them
  // (require.resolve), so both threads run the same file, and its version can be checked: fflate's
  // exact version defines the zip bytes.
  for (const [name, parts] of Object.entries(WORKER_PACKAGES)) {
    const from = await packageDir(name);
    const target = join(out, 'node_modules', name);
    await mkdir(target, { recursive: true });
    for (const part of parts) await cp(join(from, part), join(target, part), { recursive: true });
  }
}

const WORKER_PACKAGES = {
  fflate: ['package.json', 'LICENSE', 'lib'],
};
const pythonLambdaRequire = createRequire(join(here, '..', 'python-lambda', 'package.json'));

/** A package's directory (not every package exports its package.json). */
async function packageDir(name) {
  let dir = dirname(pythonLambdaRequire.resolve(name));
  for (;;) {
    const manifest = await readFile(join(dir, 'package.json'), 'utf8').catch(() => undefined);
    if (manifest !== undefined && JSON.parse(manifest).name === name) return dir;
    if (dirname(dir) === dir) throw new Error(`no package directory for ${name}`);
    dir = dirname(dir);
  }
}

// A self-contained package that `npm install -g` accepts: no dependencies, everything bundled.
// Its bin/lbuild.cjs finds the bundle at ../bundle/, as in this package.
async function writeRelease(release, bundle) {
  await mkdir(join(release, 'bin'), { recursive: true });
  await writeFile(
    join(release, 'package.json'),
    JSON.stringify(
      {
        name: 'lbuild',
        version: pkg.version,
        description: pkg.description,
        license: pkg.license,
        bin: { lbuild: 'bin/lbuild.cjs' },
        engines: { node: '>=20.12' },
        files: ['bin', 'bundle'],
      },
      null,
      2,
    ) + '\n',
  );
  await copyFile(join(here, 'bin', 'lbuild.cjs'), join(release, 'bin', 'lbuild.cjs'));
  await cp(bundle, join(release, 'bundle'), { recursive: true });
}

await buildInto(join(here, 'bundle'), writeBundle);
await buildInto(join(here, 'release'), (release) => writeRelease(release, join(here, 'bundle')));
