import * as z from 'zod/mini';
import { LAMBDA_ARCHITECTURES, LAMBDA_PYTHON_VERSIONS } from '@lbuild/lambda-runtimes';

/**
 * Files that never belong in a Lambda package, excluded on top of the bundle's own `exclude`, at
 * any depth: secrets (`.env` files are left out wherever they are), version control, virtual
 * environments and other tools' dependencies, caches, compiled bytecode for the build machine's
 * Python, other deployment tools' build folders, and lbuild's own state (where this plugin
 * writes its targets' outputs). The outputs every other target declares are left out by the
 * engine (see the tree target's `excludeOutputs`), wherever they are.
 */
export const DEFAULT_EXCLUDES = [
  '**/.env',
  '**/.env.*',
  '**/.envrc',
  '**/.git/**',
  '**/.hg/**',
  '**/.svn/**',
  '**/.venv/**',
  '**/venv/**',
  '**/node_modules/**',
  '**/__pycache__/**',
  '**/*.pyc',
  '**/*.pyo',
  '**/.DS_Store',
  '**/.pytest_cache/**',
  '**/.mypy_cache/**',
  '**/.ruff_cache/**',
  '**/*.egg-info/**',
  '**/.aws-sam/**',
  '**/.serverless/**',
  '**/.lbuild/**',
];

const relativePath = z.string().check(
  z.minLength(1),
  z.refine((p) => !p.startsWith('/') && !p.split(/[\\/]/).includes('..'), {
    error: 'paths are relative to the project root and stay inside it (no leading / or ..)',
  }),
);

/** `[bundle.NAME]`: a Python Lambda zip. */
export const bundleSchema = z.strictObject({
  /** A pip requirements file: pins, --hash lines, local paths, -r/-c includes, index options. */
  requirements: z.optional(relativePath),
  /**
   * A lock file as the requirement source instead of `requirements`: `uv.lock`, `pylock.toml` or
   * `pylock.<name>.toml`. The bundle gets exactly the locked set for its runtime; nothing resolves.
   */
  lock: z.optional(relativePath),
  /** With `lock`: dependency groups installed on top of the runtime dependencies (default none). */
  groups: z.optional(z.array(z.string().check(z.minLength(1)))),
  /** With `lock`: extras of the project installed (default none). */
  extras: z.optional(z.array(z.string().check(z.minLength(1)))),
  /** With a uv.lock of a workspace: the member whose runtime dependencies the bundle gets. */
  package: z.optional(z.string().check(z.minLength(1))),
  /** Directories, files or globs copied into the package root under their project paths. */
  sources: z.optional(z.array(relativePath)),
  /**
   * The folder `sources`, `exclude` and `files` are resolved in, and zip paths are relative to
   * (SAM's `CodeUri: src/`): with "src", src/app.py is app.py in the zip.
   */
  'source-root': z.optional(relativePath),
  /**
   * Globs left out: of the sources, on top of {@link DEFAULT_EXCLUDES}, and of the files the
   * wheels install, matched on their path in the zip (a `.dist-info` folder is always kept).
   */
  exclude: z.optional(z.array(z.string())),
  /** Extra files: path in the zip = path in the project. */
  files: z.optional(z.record(z.string().check(z.minLength(1)), relativePath)),
  /**
   * The Lambda runtime's Python, e.g. "3.12": one of the shared runtime table's, so that "2.7" is
   * told the versions there are (a bare major.minor pattern called it malformed).
   */
  python: z.optional(z.enum(LAMBDA_PYTHON_VERSIONS)),
  architecture: z.optional(z.enum(LAMBDA_ARCHITECTURES)),
  /** Where the zip is written; default dist/NAME.zip. */
  output: z.optional(relativePath),
  'find-links': z.optional(z.array(z.string())),
  'index-url': z.optional(z.string()),
  'extra-index-url': z.optional(z.array(z.string())),
  'no-index': z.optional(z.boolean()),
  /**
   * "use" (default): pip's own configuration (pip.conf files, PIP_* variables) supplies the
   * package sources lbuild.toml does not set; "ignore": only lbuild.toml and the requirements
   * files count, as if pip had no configuration.
   */
  'pip-config': z.optional(z.enum(['use', 'ignore'])),
  /** The Python that runs pip on the build machine (default python3). */
  'build-python': z.optional(z.string().check(z.minLength(1))),
  /**
   * An interpreter of the runtime's own Python version (default pythonX.Y on PATH), for work
   * that depends on that version: bytecode, running the handler locally.
   */
  'runtime-python': z.optional(z.string().check(z.minLength(1))),
  /**
   * Compile every `.py` of the bundle ahead of time into hash-based pycs (PEP 552) with
   * `runtime-python`: "unchecked-hash" (Lambda trusts the pyc), "checked-hash" (it checks the
   * pyc against the source's hash on import), or "none" (default: no pycs).
   */
  bytecode: z.optional(z.enum(['unchecked-hash', 'checked-hash', 'none'])),
  /** Build local projects with the build machine's setuptools instead of an isolated env. */
  'no-build-isolation': z.optional(z.boolean()),
  /**
   * Accept `linux_<cpu>` wheels (built by pip on the build machine, linked against its libraries)
   * instead of refusing them; for build machines known to match the Lambda runtime.
   */
  'allow-host-built-wheels': z.optional(z.boolean()),
  /** Deflate level 0 (store) to 9. Enters the zip's bytes, so it is part of the fingerprint. */
  'compression-level': z.optional(z.number().check(z.int(), z.minimum(0), z.maximum(9))),
  /** Refuse packages larger than this when unzipped, in bytes (Lambda's limit: 250 MB). */
  'max-unzipped-size': z.optional(z.number().check(z.int(), z.positive())),
});

export type BundleConfig = z.infer<typeof bundleSchema>;

/**
 * `[layer.NAME]`: a Lambda layer of dependencies, its packages under `python/` (Lambda extracts
 * layers into /opt and puts /opt/python on sys.path). The bundle's keys, without those that
 * bring in the project's own files: a layer here carries dependencies, the function's bundle
 * its code. Derived from the bundle's schema so that the two never drift apart.
 */
export const layerSchema = z.omit(bundleSchema, {
  sources: true,
  'source-root': true,
  files: true,
});

export type LayerConfig = z.infer<typeof layerSchema>;
