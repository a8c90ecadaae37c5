import { access, constants, readFile, realpath, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { basename, delimiter, dirname, isAbsolute, join, resolve } from 'node:path';
// zod/mini: this module is loaded by every check of a bundle's wheelhouse; full zod costs ~25 ms to load.
import * as z from 'zod/mini';
import { configError, runProcess, writeFileAtomic } from '@lbuild/core';
import type { LbuildError, ProcessRunner } from '@lbuild/core';

/**
 * The Python that runs pip on the build machine, as far as the wheelhouse cares. Every field but
 * `command` can enter the wheelhouse fingerprint: a new Python, pip, or glibc may pick or build
 * other wheels.
 */
export interface BuildPython {
  /** The command as configured (`build-python`), e.g. `python3`. */
  command: string;
  /** `sys.executable`: what lbuild runs pip with (kept unresolved so a virtualenv stays one). */
  executable: string;
  /** `realpath(sys.executable)`: the interpreter binary itself. */
  realpath: string;
  /** The full version, e.g. `3.11.7`. */
  version: string;
  /** `major.minor`, e.g. `3.11`. */
  pythonVersion: string;
  /** `sys.implementation.name`, e.g. `cpython`. */
  implementation: string;
  /** `platform.system()` lower-cased: `linux`, `darwin`, `windows`. */
  system: string;
  /** The CPU in wheel-tag spelling: `x86_64` or `aarch64` (others as reported). */
  machine: string;
  /** The C library version when it is glibc, e.g. `2.36`. */
  glibc?: string | undefined;
  /** pip, when the interpreter has it: its version and package directory. */
  pip?: { version: string; dir: string } | undefined;
  /** Whether `wheel` and `setuptools` are importable (found on the module path). */
  hasWheel: boolean;
  hasSetuptools: boolean;
  /** The interpreter's `purelib` (site-packages) directory. */
  sitePackages: string;
  /** `sys.abiflags` (empty on most builds; `t` on a free-threaded one, `d` on a debug one). */
  abiflags: string;
  /**
   * A free-threaded build (`python3.13t`: Py_GIL_DISABLED): its wheels carry the `cp313t` ABI,
   * which Lambda's standard interpreter cannot load.
   */
  freeThreaded: boolean;
  /** `sys.prefix`: pip's site configuration file (`pip.conf`) is there. */
  prefix?: string | undefined;
  /** `importlib.util.MAGIC_NUMBER` in hex: the first bytes of the `.pyc` files it writes. */
  magic?: string | undefined;
  /** `sys.implementation.cache_tag` (`cpython-312`): names its `__pycache__` files. */
  cacheTag?: string | undefined;
}

export interface ProbeOptions {
  /** A JSON file keeping probes between runs; without it every call starts Python. */
  cacheFile?: string | undefined;
  signal?: AbortSignal | undefined;
  /** Resolves a relative `python` path and, for pyenv/asdf shims, finds `.python-version`. */
  cwd?: string | undefined;
  /** The environment (PATH, PYENV_VERSION, …); default `process.env`. */
  env?: Readonly<Record<string, string | undefined>> | undefined;
  runner?: ProcessRunner | undefined;
}

/** The pip release lbuild needs: the 2020 resolver and repeatable `--platform` (pip 20.3). */
export const MINIMUM_PIP = '20.3';

const PROBE_SCRIPT = `
import importlib.util, json, os, platform, sys, sysconfig
def version(name):
    try:
        from importlib.metadata import version as v
        return v(name)
    except Exception:
        return None
def found(name):
    try:
        return importlib.util.find_spec(name) is not None
    except Exception:
        return False
pip_dir = None
try:
    spec = importlib.util.find_spec("pip")
    if spec is not None and spec.submodule_search_locations:
        pip_dir = list(spec.submodule_search_locations)[0]
except Exception:
    pass
def dist_info_version(package_dir):
    # The dist-info beside the package found: what importlib.metadata gives, without importing
    # it (half of this probe's time); any doubt is left to importlib.metadata.
    try:
        parent = os.path.dirname(package_dir)
        name = os.path.basename(package_dir)
        infos = [n for n in os.listdir(parent)
                 if n.startswith(name + "-") and n.endswith(".dist-info")]
        if len(infos) != 1:
            return None
        with open(os.path.join(parent, infos[0], "METADATA"), encoding="utf-8") as f:
            for line in f:
                if line.startswith("Version:"):
                    return line.split(":", 1)[1].strip() or None
                if not line.strip():
                    break
    except Exception:
        pass
    return None
pip_version = None
if pip_dir is not None:
    pip_version = dist_info_version(pip_dir) or version("pip")
    if pip_version is None:
        try:
            import pip
            pip_version = pip.__version__
        except Exception:
            pass
libc = None
try:
    libc = os.confstr("CS_GNU_LIBC_VERSION")
except (AttributeError, ValueError, OSError):
    pass
print(json.dumps({
    "executable": sys.executable,
    "realpath": os.path.realpath(sys.executable),
    "version": platform.python_version(),
    "versionInfo": list(sys.version_info[:2]),
    "implementation": sys.implementation.name,
    "system": platform.system(),
    "machine": platform.machine(),
    "libc": libc,
    "pipDir": pip_dir and os.path.realpath(pip_dir),
    "pipVersion": pip_version,
    "wheel": found("wheel"),
    "setuptools": found("setuptools"),
    "purelib": os.path.realpath(sysconfig.get_paths()["purelib"]),
    "abiflags": getattr(sys, "abiflags", ""),
    "gilDisabled": bool(sysconfig.get_config_var("Py_GIL_DISABLED")),
    "prefix": sys.prefix,
    "magic": importlib.util.MAGIC_NUMBER.hex(),
    "cacheTag": sys.implementation.cache_tag,
}))
`;

const probeOutput = z.object({
  executable: z.string(),
  realpath: z.string(),
  version: z.string(),
  versionInfo: z.tuple([z.number(), z.number()]),
  implementation: z.string(),
  system: z.string(),
  machine: z.string(),
  libc: z.nullable(z.string()),
  pipDir: z.nullable(z.string()),
  pipVersion: z.nullable(z.string()),
  wheel: z.boolean(),
  setuptools: z.boolean(),
  purelib: z.string(),
  abiflags: z.string(),
  gilDisabled: z.boolean(),
  prefix: z.string(),
  magic: z.string(),
  cacheTag: z.nullable(z.string()),
});

const buildPythonSchema = z.object({
  command: z.string(),
  executable: z.string(),
  realpath: z.string(),
  version: z.string(),
  pythonVersion: z.string(),
  implementation: z.string(),
  system: z.string(),
  machine: z.string(),
  glibc: z.optional(z.string()),
  pip: z.optional(z.object({ version: z.string(), dir: z.string() })),
  hasWheel: z.boolean(),
  hasSetuptools: z.boolean(),
  sitePackages: z.string(),
  abiflags: z.string(),
  freeThreaded: z.boolean(),
  prefix: z.optional(z.string()),
  magic: z.optional(z.string()),
  cacheTag: z.optional(z.string()),
});

/** What a cached probe depends on: stat signatures of paths, and environment variables. */
const cacheEntrySchema = z.object({
  checks: z.array(z.object({ path: z.string(), sig: z.string() })),
  env: z.record(z.string(), z.nullable(z.string())),
  python: buildPythonSchema,
});
const cacheFileSchema = z.object({
  version: z.literal(1),
  entries: z.record(z.string(), cacheEntrySchema),
});
type CacheEntry = z.infer<typeof cacheEntrySchema>;
type CacheFile = z.infer<typeof cacheFileSchema>;

/** Environment variables that choose the Python behind a pyenv or asdf shim. */
const SHIM_ENV = ['PYENV_VERSION', 'ASDF_PYTHON_VERSION'];

function normalizeMachine(machine: string): string {
  const m = machine.toLowerCase();
  if (m === 'amd64' || m === 'x86_64' || m === 'x64') return 'x86_64';
  if (m === 'arm64' || m === 'aarch64') return 'aarch64';
  return m;
}

/** size:mtime:inode of a path (following links), or `missing`. */
async function statSignature(path: string): Promise<string> {
  try {
    const s = await stat(path, { bigint: true });
    return [s.size, s.mtimeNs, s.ino].map(String).join(':');
  } catch {
    return 'missing';
  }
}

async function isExecutableFile(path: string): Promise<boolean> {
  try {
    await access(path, constants.X_OK);
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

/** Finds `command` like a shell would: a path when it contains a separator, else on PATH. */
export async function resolveCommand(
  command: string,
  cwd: string,
  env: Readonly<Record<string, string | undefined>>,
): Promise<string | undefined> {
  if (command.includes('/') || (process.platform === 'win32' && command.includes('\\'))) {
    const path = isAbsolute(command) ? command : resolve(cwd, command);
    return (await isExecutableFile(path)) ? path : undefined;
  }
  const extensions = process.platform === 'win32' ? ['.exe', '.cmd', ''] : [''];
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (dir === '') continue;
    for (const ext of extensions) {
      const candidate = join(resolve(cwd, dir), command + ext);
      if (await isExecutableFile(candidate)) return candidate;
    }
  }
  return undefined;
}

/**
 * Files whose change may make a version-manager shim (pyenv, asdf: a script in a `shims`
 * directory) run another Python: version files from `cwd` up to the root, the manager's global
 * version file, and `~/.tool-versions`.
 */
function shimSelectorFiles(shimPath: string, cwd: string): string[] {
  const files: string[] = [];
  for (let dir = resolve(cwd); ; dir = dirname(dir)) {
    files.push(join(dir, '.python-version'), join(dir, '.tool-versions'));
    if (dirname(dir) === dir) break;
  }
  const root = dirname(dirname(shimPath));
  files.push(join(root, 'version'), join(homedir(), '.tool-versions'));
  return files;
}

async function readCache(file: string): Promise<CacheFile> {
  try {
    const parsed = cacheFileSchema.safeParse(JSON.parse(await readFile(file, 'utf8')));
    if (parsed.success) return parsed.data;
  } catch {
    // A missing or damaged cache only costs a probe.
  }
  return { version: 1, entries: {} };
}

async function entryIsFresh(
  entry: CacheEntry,
  env: Readonly<Record<string, string | undefined>>,
): Promise<boolean> {
  for (const [name, value] of Object.entries(entry.env)) {
    if ((env[name] ?? null) !== value) return false;
  }
  const sigs = await Promise.all(entry.checks.map((check) => statSignature(check.path)));
  return entry.checks.every((check, i) => sigs[i] === check.sig);
}

function pythonNotFound(python: string, detail: string) {
  return configError('python-not-found', `The build Python ${JSON.stringify(python)} ${detail}.`, {
    hint: 'Install Python 3, or set build-python in lbuild.toml to the interpreter that should run pip (a command on PATH or a path, e.g. ".venv/bin/python").',
  });
}

/**
 * A free-threaded build Python is refused: it builds and picks wheels for its own ABI (`cp313t`),
 * which Lambda's standard interpreter cannot import. `allow-host-built-wheels` does not lift this:
 * such an extension module never loads there.
 */
export function freeThreadedProblem(python: BuildPython): LbuildError | undefined {
  if (!python.freeThreaded) return undefined;
  const abi = `cp${python.pythonVersion.replace('.', '')}${python.abiflags.includes('t') ? python.abiflags : `t${python.abiflags}`}`;
  return configError(
    'free-threaded-build-python',
    `The build Python ${JSON.stringify(python.command)} (${python.executable}, ${python.version}, ABI ${abi}) is a free-threaded build. Lambda runs the standard CPython build, which cannot load extension modules built for ${abi}.`,
    {
      hint: `Set build-python in lbuild.toml to a standard CPython build (e.g. python${python.pythonVersion} rather than python${python.pythonVersion}t).`,
    },
  );
}

/**
 * Describes the Python that will run pip. With `cacheFile`, an unchanged interpreter costs a few
 * stat calls instead of a Python start (~30-300 ms): the cache entry for the command's real path
 * stays valid while these keep their size, mtime and inode:
 * - the command and its real path (a new binary or symlink target),
 * - the interpreter binary (`sys.executable` resolved),
 * - pip's package directory and the site-packages directory holding it (pip upgraded, wheel or
 *   setuptools installed or removed),
 * - for pyenv/asdf shims: `.python-version`/`.tool-versions` from `cwd` up, the global version file,
 *   and `PYENV_VERSION`/`ASDF_PYTHON_VERSION`, which select the Python behind the shim.
 * A missing interpreter is a config error (`python-not-found`).
 */
export async function probePython(python: string, opts: ProbeOptions = {}): Promise<BuildPython> {
  // Callers that ask at once (a wheelhouse's recipe and its package sources both need the
  // interpreter) share one probe: on a fresh checkout each would otherwise start Python, and a
  // pyenv shim costs a few hundred milliseconds per start. Only the probe in flight is shared;
  // the next call after it settles asks again (the cache file answers it), so a long-lived
  // watch session still sees a new interpreter.
  const runner = opts.runner ?? runProcess;
  const env = opts.env ?? process.env;
  let byEnv = inFlight.get(runner);
  if (byEnv === undefined) inFlight.set(runner, (byEnv = new WeakMap()));
  let probes = byEnv.get(env);
  if (probes === undefined) byEnv.set(env, (probes = new Map<string, Promise<BuildPython>>()));
  const key = JSON.stringify([python, resolve(opts.cwd ?? process.cwd()), opts.cacheFile ?? null]);
  let probe = probes.get(key);
  if (probe === undefined) {
    // The first caller's signal stops the child: in a build every caller shares the build's.
    probe = probeOnce(python, opts);
    const settled = probes;
    settled.set(key, probe);
    const forget = () => settled.delete(key);
    probe.then(forget, forget);
  }
  return untilAborted(probe, opts.signal);
}

/** Probes now running, by runner, environment, then command, directory and cache file. */
const inFlight = new WeakMap<
  ProcessRunner,
  WeakMap<Readonly<Record<string, string | undefined>>, Map<string, Promise<BuildPython>>>
>();

/**
 * `work`, or its caller's abort: a caller that joined a probe stops waiting for it when its own
 * signal aborts.
 */
function untilAborted<T>(work: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return work;
  return new Promise<T>((resolvePromise, reject) => {
    const onAbort = () =>
      reject(
        signal.reason instanceof Error ? signal.reason : new Error('The operation was aborted'),
      );
    if (signal.aborted) {
      onAbort();
      return;
    }
    signal.addEventListener('abort', onAbort, { once: true });
    work.finally(() => signal.removeEventListener('abort', onAbort)).then(resolvePromise, reject);
  });
}

async function probeOnce(python: string, opts: ProbeOptions): Promise<BuildPython> {
  const env = opts.env ?? process.env;
  const cwd = opts.cwd ?? process.cwd();
  const runner = opts.runner ?? runProcess;
  const commandPath = await resolveCommand(python, cwd, env);
  if (commandPath === undefined) {
    throw pythonNotFound(
      python,
      python.includes('/') ? 'does not exist or is not executable' : 'was not found on PATH',
    );
  }
  const commandReal = await realpath(commandPath);
  const isShim = basename(dirname(commandReal)) === 'shims';
  const cacheKey = isShim ? `${commandReal}\0${resolve(cwd)}` : commandReal;

  const cache = opts.cacheFile === undefined ? undefined : await readCache(opts.cacheFile);
  const cached = cache?.entries[cacheKey];
  // A probe cached before lbuild read `sys.prefix` (pip's site configuration) or the bytecode
  // magic number is made again.
  if (
    cached?.python.prefix !== undefined &&
    cached.python.magic !== undefined &&
    (await entryIsFresh(cached, env))
  ) {
    return { ...cached.python, command: python };
  }

  const result = await runner({
    file: commandPath,
    args: ['-c', PROBE_SCRIPT],
    cwd,
    env: Object.fromEntries(
      Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined),
    ),
    signal: opts.signal,
  });
  if (result.spawnError !== undefined)
    throw pythonNotFound(python, `could not be run (${result.spawnError})`);
  const lastLine = result.stdout.trim().split('\n').pop() ?? '';
  let output: z.infer<typeof probeOutput> | undefined;
  try {
    const parsed = probeOutput.safeParse(JSON.parse(lastLine));
    if (parsed.success) output = parsed.data;
  } catch {
    output = undefined;
  }
  if (result.exitCode !== 0 || output === undefined) {
    const detail = result.stderr.trim().split('\n').slice(-3).join(' ').trim();
    throw configError(
      'python-probe-failed',
      `The build Python ${JSON.stringify(python)} (${commandPath}) did not run as Python 3${detail === '' ? '' : `: ${detail}`}.`,
      { hint: 'Set build-python in lbuild.toml to a working Python 3 interpreter.' },
    );
  }
  const glibc =
    output.libc?.startsWith('glibc ') === true ? output.libc.slice('glibc '.length) : undefined;
  const probe: BuildPython = {
    command: python,
    executable: output.executable,
    realpath: output.realpath,
    version: output.version,
    pythonVersion: `${output.versionInfo[0]}.${output.versionInfo[1]}`,
    implementation: output.implementation,
    system: output.system.toLowerCase(),
    machine: normalizeMachine(output.machine),
    ...(glibc === undefined ? {} : { glibc }),
    ...(output.pipDir !== null && output.pipVersion !== null
      ? { pip: { version: output.pipVersion, dir: output.pipDir } }
      : {}),
    hasWheel: output.wheel,
    hasSetuptools: output.setuptools,
    sitePackages: output.purelib,
    abiflags: output.abiflags,
    freeThreaded: output.gilDisabled || output.abiflags.includes('t'),
    prefix: output.prefix,
    magic: output.magic,
    ...(output.cacheTag === null ? {} : { cacheTag: output.cacheTag }),
  };

  if (opts.cacheFile !== undefined && cache !== undefined) {
    const paths = [commandPath, commandReal, probe.realpath, probe.sitePackages];
    if (probe.pip !== undefined) paths.push(probe.pip.dir, dirname(probe.pip.dir));
    if (isShim) paths.push(...shimSelectorFiles(commandReal, cwd));
    const unique = [...new Set(paths)];
    const sigs = await Promise.all(unique.map(statSignature));
    const envChecks: Record<string, string | null> = {};
    if (isShim) for (const name of SHIM_ENV) envChecks[name] = env[name] ?? null;
    // Re-read so a concurrent probe of another interpreter is kept.
    const latest = await readCache(opts.cacheFile);
    latest.entries[cacheKey] = {
      checks: unique.map((path, i) => ({ path, sig: sigs[i] ?? 'missing' })),
      env: envChecks,
      python: probe,
    };
    await writeFileAtomic(opts.cacheFile, `${JSON.stringify(latest, null, 2)}\n`);
  }
  return probe;
}
