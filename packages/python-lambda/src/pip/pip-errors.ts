import { readdir } from 'node:fs/promises';
import { describedFailure, LbuildError } from '@lbuild/core';
import type { DescribedFailure } from '@lbuild/core';
import type { RuntimePlatform, WheelhouseStrategy } from './platform.js';
import { findIndexFailure, indexFailureOf, missingIndexRoot } from './index-failures.js';
import { compareVersions } from './platform.js';
import { normalizeProjectName, parseWheelName, requirementProject } from './wheel-name.js';
import type { WheelName } from './wheel-name.js';

/**
 * A pip failure: a {@link Failure} with what pip could not satisfy. `reason` is one of
 * `requirement-not-found`, `no-suitable-wheel`, `requirements-conflict`, `hash-mismatch`,
 * `hashes-missing`, `local-project-not-pure`, `local-project-build-failed`, `wheel-build-failed`,
 * `wheelhouse-incomplete`, `pip-failed` (kind `build`), or `pip-not-found`, `pip-too-old`
 * (kind `config`).
 */
export type PipFailure = DescribedFailure & {
  /** The requirement pip could not satisfy, as pip printed it (e.g. `foo==9.9`). */
  requirement?: string | undefined;
  /** For `no-suitable-wheel`: the `--platform` tags pip was given (or the build machine's). */
  platforms?: string[] | undefined;
  /** For `no-suitable-wheel`: the files of that project that were found but did not suit. */
  found?: string[] | undefined;
};

/** The {@link PipFailure} of an error, when it is one lbuild raised. */
export function pipFailureOf(error: unknown): PipFailure | undefined {
  return error instanceof LbuildError ? describedFailure(error.failure) : undefined;
}

export function pipError(failure: PipFailure, cause?: unknown): LbuildError {
  return new LbuildError(failure, cause === undefined ? undefined : { cause });
}

/** Everything diagnosis needs to know about the pip call that failed. */
export interface DiagnoseContext {
  platform: RuntimePlatform;
  strategy: WheelhouseStrategy;
  /** Local directories pip searched (wheelhouse, find-links). */
  searchDirs: readonly string[];
  /** Whether pip could also search an index. */
  usedIndex: boolean;
  /** The filling of the wheelhouse, or resolving staging from it alone. */
  step: 'wheelhouse' | 'staging';
  /** The requirements file, for hints. */
  requirementsFile: string;
  exitCode: number | undefined;
  /**
   * The index URLs pip was given (credentials included, in memory only): when a project page
   * answered 404, the index root is asked too, to tell a wrong index URL from a missing project.
   */
  indexUrls?: readonly string[] | undefined;
}

interface Candidate {
  file: string;
  wheel?: WheelName | undefined;
  version: string;
}

const SDIST = /^(.+)-([^-]+)\.(tar\.gz|tgz|zip|tar\.bz2|tar\.xz)$/;

async function candidatesFor(project: string, dirs: readonly string[]): Promise<Candidate[]> {
  const out: Candidate[] = [];
  const seen = new Set<string>();
  for (const dir of dirs) {
    let names: string[];
    try {
      names = await readdir(dir);
    } catch {
      continue;
    }
    for (const file of names.sort()) {
      if (seen.has(file)) continue;
      const wheel = parseWheelName(file);
      if (wheel !== undefined) {
        if (wheel.project === project) out.push({ file, wheel, version: wheel.version });
      } else {
        const sdist = SDIST.exec(file);
        if (sdist !== null && normalizeProjectName(sdist[1] ?? '') === project)
          out.push({ file, version: sdist[2] ?? '' });
      }
      seen.add(file);
    }
  }
  return out;
}

/** Why a wheel tag does not suit the runtime, or undefined when it does. */
export type Misfit = 'arch' | 'os' | 'glibc' | 'python' | 'linux-tag' | 'sdist';

/**
 * Why one expanded wheel tag (`py-abi-platform`) does not suit the runtime. A `linux_<machine>`
 * tag suits only when `linuxTagOk` (pip itself accepts it under `pip wheel`; a bundle only with
 * `allow-host-built-wheels`).
 */
export function tagMisfit(
  tag: string,
  platform: RuntimePlatform,
  linuxTagOk: boolean,
): Misfit | undefined {
  const [py = '', abi = '', plat = ''] = tag.split('-');
  const runtimeMinor = Number(platform.pythonVersion.split('.')[1]);
  // Python and ABI.
  const cp = /^cp3(\d+)$/.exec(py);
  if (abi === 'abi3') {
    if (cp === null || Number(cp[1]) > runtimeMinor) return 'python';
  } else if (abi === 'none') {
    const pyTag = /^py(\d*)$/.exec(py);
    if (pyTag !== null) {
      const digits = pyTag[1] ?? '';
      if (!digits.startsWith('3')) return 'python';
      if (digits.length > 1 && Number(digits.slice(1)) > runtimeMinor) return 'python';
    } else if (cp === null || Number(cp[1]) !== runtimeMinor) return 'python';
  } else if (abi !== `cp3${runtimeMinor}` || py !== `cp3${runtimeMinor}`) {
    return 'python';
  }
  // Platform.
  if (plat === 'any') return undefined;
  const machine = platform.machine;
  if (plat.startsWith('linux_')) {
    if (plat.slice('linux_'.length) !== machine) return 'arch';
    return linuxTagOk ? undefined : 'linux-tag';
  }
  const legacy: Record<string, string> = {
    manylinux1: '2_5',
    manylinux2010: '2_12',
    manylinux2014: '2_17',
  };
  let glibc: string | undefined;
  let arch: string | undefined;
  const pep600 = /^manylinux_(\d+)_(\d+)_(.+)$/.exec(plat);
  if (pep600 !== null) {
    glibc = `${pep600[1]}.${pep600[2]}`;
    arch = pep600[3];
  } else {
    const old = /^(manylinux1|manylinux2010|manylinux2014)_(.+)$/.exec(plat);
    if (old === null) return 'os';
    glibc = (legacy[old[1] ?? ''] ?? '').replace('_', '.');
    arch = old[2];
  }
  if (arch !== machine) return 'arch';
  if (compareVersions(glibc, `${platform.glibc[0]}.${platform.glibc[1]}`) > 0) return 'glibc';
  return undefined;
}

function candidateMisfit(
  candidate: Candidate,
  platform: RuntimePlatform,
  strategy: WheelhouseStrategy,
): Misfit | undefined {
  if (candidate.wheel === undefined) return strategy === 'pip-download' ? 'sdist' : undefined;
  const misfits = candidate.wheel.tags.map((tag) =>
    tagMisfit(tag, platform, strategy === 'pip-wheel'),
  );
  if (misfits.includes(undefined)) return undefined;
  return misfits[0];
}

function describeMisfit(misfit: Misfit, candidate: Candidate): string {
  return describeTagMisfit(misfit, candidate.wheel?.tag ?? '');
}

/** What a {@link Misfit} means for a wheel with the compressed tag triple `tag`. */
export function describeTagMisfit(misfit: Misfit, tag: string): string {
  switch (misfit) {
    case 'arch':
      return `built for another CPU (${tag})`;
    case 'os':
      return `built for another operating system (${tag})`;
    case 'glibc':
      return `needs a newer glibc (${tag})`;
    case 'python':
      return `built for another Python (${tag})`;
    case 'linux-tag':
      return `built for one Linux machine, not manylinux (${tag})`;
    case 'sdist':
      return 'a source distribution';
  }
}

export function misfitHint(
  misfits: ReadonlySet<Misfit>,
  platform: RuntimePlatform,
  requirement: string,
): string {
  const glibc = `${platform.glibc[0]}.${platform.glibc[1]}`;
  const hints: string[] = [];
  if (misfits.has('arch')) {
    hints.push(
      `The wheels found are for another CPU: check architecture in lbuild.toml (now "${platform.architecture}"), or provide a manylinux ${platform.machine} wheel.`,
    );
  }
  if (misfits.has('python')) {
    hints.push(
      `Provide a wheel for CPython ${platform.pythonVersion} (cp${platform.pythonVersion.replace('.', '')} or abi3), or set python in lbuild.toml to the version the wheels were built for.`,
    );
  }
  if (misfits.has('glibc')) {
    hints.push(
      `${platform.runtime} runs ${platform.os} with glibc ${glibc}: provide a wheel tagged manylinux_2_${platform.glibc[1]} or older.`,
    );
  }
  if (misfits.has('linux-tag') || misfits.has('os')) {
    hints.push(
      `Lambda needs manylinux wheels: repair a linux_* wheel with auditwheel, or build on a machine that matches the runtime (e.g. the public.ecr.aws/lambda/python:${platform.pythonVersion} image).`,
    );
  }
  if (misfits.has('sdist')) {
    hints.push(
      `Only a source distribution was found, and lbuild builds those only when the build Python matches the runtime. For a pure-Python project: pip wheel --no-deps "${requirement}" -w wheels, and add that folder to find-links.`,
    );
  }
  return hints.join(' ');
}

function describePlatforms(platform: RuntimePlatform): string {
  const first = platform.platforms[0] ?? '';
  const last = platform.platforms.filter((p) => p.startsWith('manylinux_')).at(-1) ?? '';
  return `${platform.abis.join('/')} on ${first} down to ${last}`;
}

function errorLines(lines: readonly string[]): string[] {
  return lines.filter((l) => l.startsWith('ERROR:')).map((l) => l.slice('ERROR:'.length).trim());
}

/**
 * Turns pip's output into a failure that says which requirement failed and why. For a missing
 * distribution it looks at the local directories pip searched: files of that project that exist
 * but do not suit the runtime make it `no-suitable-wheel` (with what they were built for), else it
 * is `requirement-not-found`.
 */
export async function diagnosePipFailure(
  lines: readonly string[],
  ctx: DiagnoseContext,
): Promise<LbuildError> {
  const text = lines.join('\n');
  const errors = errorLines(lines);
  const platformsTried = ctx.strategy === 'pip-download' ? ctx.platform.platforms : undefined;

  if (/No module named pip\b/.test(text)) {
    return pipError({
      reason: 'pip-not-found',
      kind: 'config',
      message: 'The build Python has no pip.',
      hint: 'Install pip for it (python -m ensurepip), or set build-python in lbuild.toml to a Python that has pip.',
    });
  }

  const unsupported = /(\S+\.whl) is not a supported wheel on this platform/.exec(text);
  if (unsupported !== null) {
    const file = unsupported[1] ?? '';
    const wheel = parseWheelName(file.split('/').pop() ?? file);
    const candidate: Candidate = { file, wheel, version: wheel?.version ?? '' };
    const misfit = candidateMisfit(candidate, ctx.platform, ctx.strategy) ?? 'python';
    return pipError({
      reason: 'no-suitable-wheel',
      kind: 'build',
      requirement: file,
      platforms: platformsTried,
      found: [file],
      message: `The wheel ${file} does not suit the Lambda runtime ${ctx.platform.runtime} ${ctx.platform.architecture}: ${describeMisfit(misfit, candidate)}.`,
      hint: misfitHint(new Set([misfit]), ctx.platform, file),
    });
  }

  const notFound = /No matching distribution found for (.+?)\s*$/m.exec(text);
  // An index that refused the login, could not be reached or failed TLS makes pip report the
  // project as missing: that is not "no distribution found".
  const indexProblem = findIndexFailure(lines);
  if (
    indexProblem !== undefined &&
    (notFound !== null || /HTTP error \d{3} while getting/.test(text))
  )
    return pipError(indexFailureOf(indexProblem, notFound?.[1]?.trim()));
  if (notFound !== null && ctx.step === 'wheelhouse') {
    const missing = await missingIndexRoot(lines, ctx.indexUrls ?? []);
    if (missing !== undefined) return pipError(missing);
  }
  if (notFound !== null) {
    const requirement = (notFound[1] ?? '').trim();
    const satisfies =
      /Could not find a version that satisfies the requirement (.+?) \(from versions: ([^)]*)\)\s*$/m.exec(
        text,
      );
    const parent =
      satisfies === null ? undefined : /\(from ([^)]+)\)$/.exec(satisfies[1] ?? '')?.[1];
    const versionsText = satisfies?.[2]?.trim() ?? 'none';
    const versions =
      versionsText === 'none' || versionsText === '' ? [] : versionsText.split(/,\s*/);
    const project = requirementProject(requirement);
    const pinned = /^[^=<>!~;]*===?\s*([^\s,;]+)\s*$/.exec(requirement.split(';')[0] ?? '')?.[1];
    let candidates = project === undefined ? [] : await candidatesFor(project, ctx.searchDirs);
    if (pinned !== undefined) candidates = candidates.filter((c) => c.version === pinned);
    const misfits = candidates.map((c) => candidateMisfit(c, ctx.platform, ctx.strategy));
    const requiredBy = parent === undefined ? '' : ` (required by ${parent})`;
    if (
      ctx.step === 'wheelhouse' &&
      candidates.length > 0 &&
      misfits.every((m) => m !== undefined)
    ) {
      const found = candidates.map(
        (c, i) => `${c.file}: ${describeMisfit(misfits[i] ?? 'python', c)}`,
      );
      return pipError({
        reason: 'no-suitable-wheel',
        kind: 'build',
        requirement,
        platforms: platformsTried,
        found: candidates.map((c) => c.file),
        message:
          `No wheel of ${requirement}${requiredBy} suits the Lambda runtime ${ctx.platform.runtime} ${ctx.platform.architecture}` +
          (ctx.strategy === 'pip-download'
            ? ` (tags tried: ${describePlatforms(ctx.platform)})`
            : '') +
          `. Found: ${found.join('; ')}.`,
        hint: misfitHint(new Set(misfits), ctx.platform, requirement),
      });
    }
    const available = versions.length > 0 ? ` Versions available: ${versions.join(', ')}.` : '';
    let hint: string;
    if (ctx.step === 'staging') {
      hint =
        'The wheelhouse does not hold it: rebuild the wheelhouse (it may have been cleaned or changed by hand).';
    } else {
      hint = `Check the name and version in ${ctx.requirementsFile}, and the package sources: ${
        ctx.usedIndex ? 'index-url/extra-index-url and ' : ''
      }find-links in lbuild.toml, the requirements file or pip's configuration (lbuild -v lists each package source and where it came from).`;
      if (ctx.strategy === 'pip-download') {
        hint += ` Only wheels for ${ctx.platform.runtime} manylinux ${ctx.platform.machine} count (the build machine differs from the runtime), so a project without such a wheel is not found either.`;
      }
    }
    return pipError({
      reason: ctx.step === 'staging' ? 'wheelhouse-incomplete' : 'requirement-not-found',
      kind: 'build',
      requirement,
      message: `No distribution found for ${requirement}${requiredBy}.${available}`,
      hint,
    });
  }

  if (/ResolutionImpossible|conflicting dependencies/.test(text)) {
    const start = lines.findIndex((l) => l.includes('The conflict is caused by'));
    const cause =
      start === -1
        ? []
        : lines
            .slice(start + 1)
            .filter((l) => /^\s{4}\S/.test(l))
            .map((l) => l.trim());
    const first =
      errors.find((e) => e.startsWith('Cannot install')) ??
      'pip found no set of versions that satisfies every requirement.';
    return pipError({
      reason: 'requirements-conflict',
      kind: 'build',
      message: `${first}${cause.length > 0 ? ` ${cause.join('; ')}.` : ''}`,
      hint: `Align the version pins in ${ctx.requirementsFile} (and its constraints) so that one version of each project satisfies them all.`,
    });
  }

  if (/THESE PACKAGES DO NOT MATCH THE HASHES/.test(text)) {
    const which = lines.find((l) => /^\s{4}\S.* from /.test(l))?.trim();
    return pipError({
      reason: 'hash-mismatch',
      kind: 'build',
      ...(which === undefined ? {} : { requirement: which.split(' from ')[0] }),
      message: `A downloaded file does not match the hash in the requirements${which === undefined ? '' : `: ${which}`}.`,
      hint: 'Update the --hash values if the version changed on purpose; otherwise the file may have been tampered with.',
    });
  }

  if (/Hashes are required in --require-hashes mode/.test(text)) {
    return pipError({
      reason: 'hashes-missing',
      kind: 'build',
      message: 'pip is in hash-checking mode but some requirements have no --hash.',
      hint: 'Give every requirement, including dependencies, a pinned version and --hash (pip-compile --generate-hashes does this).',
    });
  }

  const failedBuild = /Failed (?:building wheel for|to build) (\S+)/.exec(text);
  if (failedBuild !== null) {
    return pipError({
      reason: 'wheel-build-failed',
      kind: 'build',
      requirement: failedBuild[1],
      message: `pip could not build a wheel for ${failedBuild[1] ?? ''}.${errors.length > 0 ? ` ${errors.join(' ')}` : ''}`,
      hint: 'See the pip output above. Building offline needs the build requirements (e.g. setuptools, wheel) in find-links, or no-build-isolation = true with them installed in the build Python.',
    });
  }

  const detail = errors.length > 0 ? errors.join(' ') : lines.slice(-5).join(' ').trim();
  return pipError({
    reason: 'pip-failed',
    kind: 'build',
    message: `pip failed${ctx.exitCode === undefined ? '' : ` (exit status ${ctx.exitCode})`}${detail === '' ? '.' : `: ${detail}`}`,
    hint: 'See the pip output above.',
  });
}

/** pip must exist and be new enough for repeatable --platform and the 2020 resolver. */
export function checkPip(
  pip: { version: string } | undefined,
  minimum: string,
): LbuildError | undefined {
  if (pip === undefined) {
    return pipError({
      reason: 'pip-not-found',
      kind: 'config',
      message: 'The build Python has no pip.',
      hint: 'Install pip for it (python -m ensurepip --upgrade), or set build-python in lbuild.toml to a Python that has pip.',
    });
  }
  if (compareVersions(pip.version, minimum) < 0) {
    return pipError({
      reason: 'pip-too-old',
      kind: 'config',
      message: `The build Python has pip ${pip.version}; lbuild needs pip ${minimum} or newer.`,
      hint: 'Upgrade it (python -m pip install --upgrade pip), or set build-python in lbuild.toml to a Python with a newer pip.',
    });
  }
  return undefined;
}
