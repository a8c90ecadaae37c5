import { configError } from '@lbuild/core';
import { probePython, type BuildPython, type ProbeOptions } from './python.js';

/**
 * An interpreter of the Lambda runtime's own Python version on this machine, for work whose
 * result depends on that version: compiling bytecode (the `.pyc` format and magic number change
 * with every minor release) and running a handler locally. Unlike the build Python, which only
 * runs pip and may be any Python 3, this one must be `major.minor` of the runtime, a standard
 * (not free-threaded) CPython.
 */
export interface RuntimePython extends BuildPython {
  /** The command that was tried: `runtime-python` as configured, else `pythonX.Y`. */
  command: string;
}

/**
 * Finds the interpreter for runtime Python `version` (`3.12`): `configured` (a command on PATH
 * or a path, from `runtime-python`) when given, else `python3.12` on PATH. A command that is
 * missing, fails to start (a pyenv shim whose version is not selected), or is another version or
 * build is a config error `runtime-python-not-found` that names the version and how to get it.
 */
export async function findRuntimePython(
  version: string,
  configured: string | undefined,
  opts: ProbeOptions = {},
): Promise<RuntimePython> {
  const command = configured ?? `python${version}`;
  let python: BuildPython;
  try {
    python = await probePython(command, opts);
  } catch (error) {
    const detail = error instanceof Error ? error.message : String(error);
    throw notFound(version, configured, `${JSON.stringify(command)} could not be used: ${detail}`);
  }
  if (python.implementation !== 'cpython' || python.freeThreaded) {
    throw notFound(
      version,
      configured,
      `${JSON.stringify(command)} (${python.executable}) is ${python.implementation}${python.freeThreaded ? ', free-threaded' : ''}; Lambda runs standard CPython`,
    );
  }
  if (python.pythonVersion !== version) {
    throw notFound(
      version,
      configured,
      `${JSON.stringify(command)} (${python.executable}) is Python ${python.version}`,
    );
  }
  return { ...python, command };
}

function notFound(version: string, configured: string | undefined, detail: string) {
  return configError(
    'runtime-python-not-found',
    `No Python ${version} interpreter for the Lambda runtime python${version}: ${detail}.`,
    {
      hint: configured
        ? `Set runtime-python to a CPython ${version} interpreter (a command on PATH or a path), or remove it to look for python${version} on PATH.`
        : `Install Python ${version} so that python${version} is on PATH (pyenv install ${version}, uv python install ${version}, or your system's package), or set runtime-python in lbuild.toml to its path.`,
    },
  );
}
