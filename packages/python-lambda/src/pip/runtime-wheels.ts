import { basename } from 'node:path';
import { describeTagMisfit, misfitHint, pipError, tagMisfit } from './pip-errors.js';
import type { Misfit } from './pip-errors.js';
import type { RuntimePlatform } from './platform.js';
import { parseWheelName } from './wheel-name.js';

export interface RuntimeWheelsOptions {
  /** `allow-host-built-wheels`: accept `linux_<machine>` wheels for the runtime's CPU. */
  allowHostBuilt: boolean;
  /** Where that key goes, for the hint, e.g. `[bundle.api]`. */
  table?: string | undefined;
}

const OS_NAMES: Readonly<Record<RuntimePlatform['os'], string>> = {
  amazonlinux2: 'Amazon Linux 2',
  amazonlinux2023: 'Amazon Linux 2023',
};

interface Problem {
  name: string;
  misfit: Misfit | 'name';
  tag: string;
}

/**
 * Why a wheel file does not suit the runtime, by the tags in its name (what pip selects by), or
 * undefined when one of its tags suits. A wheel refused only for its `linux_*` tag is reported as
 * `linux-tag`, the one misfit the opt-in lifts.
 */
function problemOf(file: string, platform: RuntimePlatform, linuxTagOk: boolean) {
  const name = basename(file);
  const wheel = parseWheelName(name);
  if (wheel === undefined) return { name, misfit: 'name', tag: '' } satisfies Problem;
  const misfits = wheel.tags.map((tag) => tagMisfit(tag, platform, linuxTagOk));
  if (misfits.includes(undefined)) return undefined;
  const misfit = misfits.includes('linux-tag') ? 'linux-tag' : (misfits[0] ?? 'python');
  return { name, misfit, tag: wheel.tag } satisfies Problem;
}

/**
 * Checks, before they are staged, that the wheels a bundle resolved to run on the Lambda runtime:
 * a tag for its Python (cp3X, abi3 or none), its CPU, and manylinux no newer than its glibc. pip
 * already chooses by these under `pip download --platform …`; under `pip wheel` it chooses for
 * the build machine, and builds sdists and local C extensions into `linux_<machine>` wheels that
 * link against the build machine's libraries. Those are refused unless the bundle sets
 * `allow-host-built-wheels`; a wheel for another CPU, Python or newer glibc is refused always.
 */
export function checkRuntimeWheels(
  wheels: readonly string[],
  platform: RuntimePlatform,
  opts: RuntimeWheelsOptions,
): void {
  const problems: Problem[] = [];
  for (const file of wheels) {
    const problem = problemOf(file, platform, opts.allowHostBuilt);
    if (problem !== undefined) problems.push(problem);
  }
  if (problems.length === 0) return;
  const glibc = `${platform.glibc[0]}.${platform.glibc[1]}`;
  const target = `${platform.runtime} ${platform.architecture}`;
  if (problems.every((p) => p.misfit === 'linux-tag')) {
    const names = problems.map((p) => p.name);
    const one = names.length === 1;
    throw pipError({
      reason: 'host-built-wheel',
      kind: 'build',
      found: names,
      message:
        `${names.join(', ')} ${one ? 'is' : 'are'} tagged linux_${platform.machine}, not manylinux: built for one Linux machine and linked against its libraries, ` +
        `which the Lambda runtime ${target} (${OS_NAMES[platform.os]}, glibc ${glibc}) may not have.`,
      hint:
        `Use a manylinux wheel instead: repair ${one ? 'it' : 'them'} with auditwheel repair (it bundles the libraries and retags the wheel), or take the project's manylinux wheel from its index. ` +
        `If ${one ? 'it was' : 'they were'} built on a machine like the runtime (e.g. the public.ecr.aws/lambda/python:${platform.pythonVersion} image), ship ${one ? 'it' : 'them'} at that risk with allow-host-built-wheels = true in ${opts.table ?? "the bundle's table of lbuild.toml"}.`,
    });
  }
  const described = problems.map((p) =>
    p.misfit === 'name'
      ? `${p.name}: not a wheel file name`
      : `${p.name}: ${describeTagMisfit(p.misfit, p.tag)}`,
  );
  const misfits = new Set(problems.map((p) => p.misfit).filter((m): m is Misfit => m !== 'name'));
  throw pipError({
    reason: 'wheel-unsuitable',
    kind: 'build',
    found: problems.map((p) => p.name),
    message: `Not for the Lambda runtime ${target}: ${described.join('; ')}.`,
    hint:
      misfitHint(misfits, platform, '') ||
      'Check the wheels in the find-links folders and the requirements file.',
  });
}
