import { devNull } from 'node:os';
import { runProcess } from '@lbuild/core';
import type { ProcessResult, ProcessRunner } from '@lbuild/core';
import { redactText } from './index-options.js';
import type { MarkerEnvironment } from './markers.js';
import type { BuildPython } from './python.js';

/**
 * PIP_* variables passed through to pip: they change how pip reaches the network (certificates,
 * proxy, timeouts) or where it caches, never which packages it picks. Every other PIP_* variable
 * (PIP_INDEX_URL, PIP_FIND_LINKS, PIP_NO_BINARY, PIP_CONSTRAINT, …) is dropped, and pip reads no
 * config file (PIP_CONFIG_FILE=/dev/null): lbuild reads pip's configuration itself (see
 * resolvePackageSources) and passes pip the effective package sources, so that the fingerprint
 * sees exactly what pip uses.
 */
export const PIP_ENV_PASSED = [
  'PIP_CERT',
  'PIP_CLIENT_CERT',
  'PIP_PROXY',
  'PIP_TIMEOUT',
  'PIP_DEFAULT_TIMEOUT',
  'PIP_RETRIES',
  'PIP_TRUSTED_HOST',
  'PIP_KEYRING_PROVIDER',
  'PIP_CACHE_DIR',
  'PIP_NO_CACHE_DIR',
] as const;

/**
 * PIP_* variables dropped without a warning: they only touch pip's console behaviour, which lbuild
 * sets itself (it parses pip's output), or are lbuild's own (PIP_CONFIG_FILE).
 */
const PIP_ENV_DROPPED_QUIETLY = new Set([
  'PIP_CONFIG_FILE',
  'PIP_DISABLE_PIP_VERSION_CHECK',
  'PIP_NO_INPUT',
  'PIP_PROGRESS_BAR',
  'PIP_NO_COLOR',
  'PIP_QUIET',
  'PIP_VERBOSE',
  'PIP_NO_PYTHON_VERSION_WARNING',
  'PIP_ROOT_USER_ACTION',
  'PIP_REQUIRE_VIRTUALENV',
]);

/** Options every pip call gets: no version check, no prompts, no progress bars, no colours. */
export const PIP_QUIET_ARGS = ['--disable-pip-version-check', '--no-input', '--no-color'] as const;
/** Only for commands that download (download, wheel, install). */
export const PIP_PROGRESS_ARGS = ['--progress-bar', 'off'] as const;

/** The wheel date of locally built wheels (1980-01-01), unless the user set SOURCE_DATE_EPOCH. */
export const DEFAULT_SOURCE_DATE_EPOCH = '315532800';

export interface PipEnvironment {
  env: Record<string, string>;
  /** PIP_* variables of the user's environment that lbuild dropped and that could choose packages. */
  ignored: string[];
}

/**
 * The environment pip runs with: see {@link PIP_ENV_PASSED}. `applied` names PIP_* variables
 * lbuild has applied itself (see resolvePackageSources): they are dropped without a warning, and
 * the caller passes their effective values on.
 */
export function pipEnvironment(
  base: Readonly<Record<string, string | undefined>>,
  opts: { applied?: readonly string[] | undefined } = {},
): PipEnvironment {
  const env: Record<string, string> = {};
  const ignored: string[] = [];
  const passed = new Set<string>(PIP_ENV_PASSED);
  const applied = new Set(opts.applied ?? []);
  for (const [name, value] of Object.entries(base)) {
    if (value === undefined) continue;
    if (name.startsWith('PIP_') && !passed.has(name)) {
      if (!PIP_ENV_DROPPED_QUIETLY.has(name) && !applied.has(name)) ignored.push(name);
      continue;
    }
    env[name] = value;
  }
  env.PIP_CONFIG_FILE = devNull;
  // As root (containers, CI), every pip that installs (the build environment of a local project
  // too) warns about root; lbuild installs only into its own folders, so the warning says nothing.
  env.PIP_ROOT_USER_ACTION = 'ignore';
  env.PYTHONUNBUFFERED = '1';
  env.PYTHONIOENCODING = 'utf-8';
  env.PYTHONDONTWRITEBYTECODE = '1';
  if (!('SOURCE_DATE_EPOCH' in env)) env.SOURCE_DATE_EPOCH = DEFAULT_SOURCE_DATE_EPOCH;
  return { env, ignored: ignored.sort() };
}

export interface PipCall {
  python: BuildPython;
  args: readonly string[];
  cwd: string;
  env: Readonly<Record<string, string>>;
  /**
   * Evaluate environment markers for this environment instead of the build machine (see
   * {@link MARKER_BOOTSTRAP}). Only for commands that resolve what the runtime gets.
   */
  markerEnvironment?: MarkerEnvironment | undefined;
  signal?: AbortSignal | undefined;
  runner?: ProcessRunner | undefined;
  /** Each output line, with credentials in URLs masked. */
  onOutput?: ((line: string) => void) | undefined;
}

/** The environment variable that carries the marker environment to {@link MARKER_BOOTSTRAP}. */
const MARKER_VARIABLE = 'LBUILD_PIP_MARKER_ENVIRONMENT';

/** The line the bootstrap prints when this pip cannot be pointed at another marker environment. */
export const MARKER_BOOTSTRAP_FAILED = 'lbuild: cannot set the marker environment of this pip:';

/**
 * Makes pip print why it could not read an index page ("Could not fetch URL URL: REASON -
 * skipping": a 401, a refused connection, a TLS error), which it logs only at `-vv`, where every
 * link of every page is logged too. lbuild reads these lines to tell an index that failed from an
 * index without the package (see indexFailure). pip 20.3 to 22 call the function
 * `_handle_get_page_fail`, later ones `_handle_get_simple_fail`; without either, nothing changes.
 */
const INDEX_FAILURE_BOOTSTRAP = `
try:
    from pip._internal.index import collector
    def _louder(original):
        def handle(link, reason, meth=None):
            try:
                return original(link, reason, meth=collector.logger.info)
            except TypeError:
                return original(link, reason)
        return handle
    for _name in ("_handle_get_simple_fail", "_handle_get_page_fail"):
        if callable(getattr(collector, _name, None)):
            setattr(collector, _name, _louder(getattr(collector, _name)))
except Exception:
    pass
`;

/**
 * Runs pip as `python -m pip` does, with its marker environment replaced: pip has no option to
 * evaluate markers for another interpreter (`--python-version` and `--platform` only choose
 * wheel tags), but every pip lbuild accepts (20.3 and later) evaluates them through its vendored
 * `packaging.markers.default_environment()`, which this replaces for the one process. Build
 * subprocesses (isolated build environments) are new processes and keep the build machine's,
 * which is right for what runs there. If this pip has no such function, it says so on one line
 * and runs unchanged; lbuild's own walk of `Requires-Dist` (target-closure.ts) is the check of
 * record either way.
 */
export const MARKER_BOOTSTRAP = `
import json, os, runpy, sys
environment = json.loads(os.environ.pop("${MARKER_VARIABLE}"))
try:
    from pip._vendor.packaging import markers
    if not callable(getattr(markers, "default_environment", None)):
        raise ImportError("pip._vendor.packaging.markers has no default_environment")
    markers.default_environment = lambda: dict(environment)
except Exception as error:
    sys.stderr.write("${MARKER_BOOTSTRAP_FAILED} %s\\n" % (error,))
${INDEX_FAILURE_BOOTSTRAP}
runpy.run_module("pip", run_name="__main__", alter_sys=True)
`;

/** Runs `python -m pip …`; output lines are redacted before anyone sees them. */
export async function runPip(call: PipCall): Promise<ProcessResult> {
  const runner = call.runner ?? runProcess;
  const marker = call.markerEnvironment;
  const result = await runner({
    file: call.python.executable,
    args:
      marker === undefined ? ['-m', 'pip', ...call.args] : ['-c', MARKER_BOOTSTRAP, ...call.args],
    cwd: call.cwd,
    env:
      marker === undefined ? call.env : { ...call.env, [MARKER_VARIABLE]: JSON.stringify(marker) },
    signal: call.signal,
    onLine: (line) => call.onOutput?.(redactText(line)),
  });
  return { ...result, lines: result.lines.map(redactText) };
}
