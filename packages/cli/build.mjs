// Bundles the CLI into CommonJS files under dist/: Node starts a CommonJS bundle measurably
// faster than ES modules, and `lbuild -q` start-up is most of its run time. Heavy libraries
// that only some commands need (AWS SDK, chokidar, pino, execa, ...) are bundled into their own
// files under dist/vendor/ and required on first use, so a no-op check never parses them.
import { build } from 'esbuild';
import { cp, mkdir, readFile, rm, writeFile, copyFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const dist = join(here, 'dist');
const pkg = JSON.parse(await readFile(join(here, 'package.json'), 'utf8'));

/** Loaded lazily (dynamic import in the source) and shipped as separate bundles. */
export const VENDORED = [
  '@aws-sdk/client-lambda',
  '@aws-sdk/client-s3',
  'chokidar',
  'execa',
  'pino',
  'proper-lockfile',
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
    name === 'chokidar' || name === 'proper-lockfile' || name === 'smol-toml'
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

await rm(dist, { recursive: true, force: true });
await mkdir(join(dist, 'vendor'), { recursive: true });

await build({
  ...common,
  entryPoints: { lbuild: join(here, 'src', 'bin.ts') },
  outdir: dist,
  outExtension: { '.js': '.cjs' },
  define: { ...common.define, LBUILD_VERSION: JSON.stringify(pkg.version) },
  plugins: [vendorPlugin, lazyChildProcess],
  minify: true,
  keepNames: true,
  // The workspace packages are bundled from their TypeScript sources.
  alias: {
    '@lbuild/core': join(here, '..', 'core', 'src', 'index.ts'),
    '@lbuild/python-lambda': join(here, '..', 'python-lambda', 'src', 'index.ts'),
    '@lbuild/lambda-deploy': join(here, '..', 'lambda-deploy', 'src'),
  },
});

for (const name of VENDORED) {
  await build({
    ...common,
    stdin: {
      contents: `module.exports = require(${JSON.stringify(name)});`,
      resolveDir: resolveDir(name),
      loader: 'js',
    },
    outfile: join(dist, 'vendor', `${safe(name)}.cjs`),
  });
}

// The deflate worker threads load fflate and xxhash-wasm (the content hash they check what they
// deflate against) by path (require.resolve), so both ship as real packages next to the bundle
// rather than inside it. fflate's exact version defines the zip bytes.
const WORKER_PACKAGES = {
  fflate: ['package.json', 'LICENSE', 'lib'],
  'xxhash-wasm': ['package.json', 'LICENSE.md', 'cjs'],
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
async function copyWorkerPackages(into) {
  for (const [name, parts] of Object.entries(WORKER_PACKAGES)) {
    const from = await packageDir(name);
    const target = join(into, 'node_modules', name);
    await mkdir(target, { recursive: true });
    for (const part of parts) await cp(join(from, part), join(target, part), { recursive: true });
  }
}
await copyWorkerPackages(dist);

// A self-contained package that `npm install -g` accepts: no dependencies, everything bundled.
const release = join(dist, 'release');
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
      files: ['bin', 'dist'],
    },
    null,
    2,
  ) + '\n',
);
await copyFile(join(here, 'bin', 'lbuild.cjs'), join(release, 'bin', 'lbuild.cjs'));
await mkdir(join(release, 'dist', 'vendor'), { recursive: true });
await copyFile(join(dist, 'lbuild.cjs'), join(release, 'dist', 'lbuild.cjs'));
for (const name of VENDORED) {
  await copyFile(
    join(dist, 'vendor', `${safe(name)}.cjs`),
    join(release, 'dist', 'vendor', `${safe(name)}.cjs`),
  );
}
await copyWorkerPackages(join(release, 'dist'));
