import { cpSync, existsSync, readFileSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ran, statuses, TempProject, type RunResult } from '../helpers/project.js';
import { makeForeignWheel, makeWheel } from '../fixtures/python/wheels.js';
import {
  ARCHITECTURE,
  FOREIGN_MACHINE,
  MACHINE,
  NO_PIP_ENV,
  Template,
  bundleToml,
  makeSymlinkWheel,
  sha256,
} from './rig.js';

/**
 * Each bad input of a bundle: one clear error (exact text), the right exit status (1: a build
 * step failed, 2: the configuration is wrong), no stamp that claims the failed run succeeded, and
 * the zip of the last good build left byte for byte; with the input fixed, the same zip again.
 */
let template: Template;
/** The template, built once: each test starts from a copy (a pip build per test is slow). */
let built: TempProject;
let project: TempProject;
let goodZip: string;
let goodStamps: Record<string, string | undefined>;
const ZIP_STAMP = '.lbuild/stamps/fn%3azip.json';
const KEYS = ['wheelhouse', 'staging', 'tree', 'zip'].map((t) => `fn%3a${t}`);

beforeAll(async () => {
  template = await Template.create();
  built = template.project();
  const { result, summary } = await built.json([], { env: NO_PIP_ENV });
  expect(result.code, result.stderr).toBe(0);
  expect(ran(summary)).toHaveLength(4);
});
afterAll(() => {
  built.dispose();
  template.dispose();
});

beforeEach(async () => {
  project = TempProject.create();
  cpSync(built.dir, project.dir, { recursive: true, preserveTimestamps: true });
  // The copy is up to date where it lies: stamps name files by their project paths.
  const query = await project.run(['-q'], { env: NO_PIP_ENV });
  expect(query.code, query.stderr).toBe(0);
  goodZip = sha256(project.path('dist/fn.zip'));
  goodStamps = stamps();
});
afterEach(() => {
  project.dispose();
});

/**
 * Each target's stamp as `builtAt outputHash` (undefined when there is none): a stamp a run wrote
 * has a new builtAt. (The rest of a stamp may be refreshed by a check, e.g. a racy entry settled.)
 */
function stamps(): Record<string, string | undefined> {
  return Object.fromEntries(
    KEYS.map((k) => {
      const file = project.path(`.lbuild/stamps/${k}.json`);
      if (!existsSync(file)) return [k, undefined];
      const stamp = JSON.parse(readFileSync(file, 'utf8')) as {
        builtAt: string;
        outputHash: string;
      };
      return [k, `${stamp.builtAt} ${stamp.outputHash}`];
    }),
  );
}

const run = (args: string[] = []): Promise<RunResult> => project.run(args, { env: NO_PIP_ENV });

/** Durations vary from run to run: `(12ms)`, `in 1.20s` become `(T)`, `in T`. */
function withoutTimes(text: string): string {
  return text.replace(/\b\d+(\.\d+)?m?s\b/g, 'T');
}

/** The 1-based line of lbuild.toml that starts with `prefix`. */
function lineOf(prefix: string): number {
  const index = project
    .read('lbuild.toml')
    .split('\n')
    .findIndex((l) => l.startsWith(prefix));
  if (index < 0) throw new Error(`no line starting with ${JSON.stringify(prefix)}`);
  return index + 1;
}

/**
 * After the failed run: the zip of the good build is still there, byte for byte; the zip's stamp
 * is either the good build's (the zip did not run) or gone (it failed), never a new one; the
 * failed target has no stamp; `-q` says something must run (1) or that the config is wrong (2).
 */
async function expectNothingClaimed(options: {
  question: 1 | 2;
  zipStamp: 'kept' | 'removed';
  failed?: string;
  /** Targets that did not run at all: their stamps are the good build's. */
  untouched?: string[];
}): Promise<void> {
  expect(sha256(project.path('dist/fn.zip'))).toBe(goodZip);
  const now = stamps();
  const zipKey = 'fn%3azip';
  if (options.zipStamp === 'kept') expect(now[zipKey]).toBe(goodStamps[zipKey]);
  else expect(project.exists(ZIP_STAMP)).toBe(false);
  if (options.failed !== undefined) expect(now[options.failed]).toBeUndefined();
  for (const key of options.untouched ?? []) expect(now[key], key).toBe(goodStamps[key]);
  expect((await run(['-q'])).code).toBe(options.question);
}

/** With the input fixed, the build succeeds and gives the good zip again. */
async function expectRecovery(): Promise<void> {
  const { result, summary } = await project.json([], { env: NO_PIP_ENV });
  expect(result.code, result.stderr).toBe(0);
  expect(sha256(project.path('dist/fn.zip'))).toBe(goodZip);
  expect(statuses(summary)['fn:tree']).toBe('up-to-date');
  expect((await run(['-q'])).code).toBe(0);
}

const requirements = () => project.read('requirements.txt');

describe('bad requirements (exit 1, the wheelhouse fails)', () => {
  it('a requirement pip cannot find', async () => {
    const good = requirements();
    project.write('requirements.txt', good + 'nosuchpkg==1.0\n');
    const result = await run();
    expect(result.code).toBe(1);
    // pip's progress lines come when it is slow (a loaded machine); they are not the point here.
    expect(result.stdout.replace(/^ {2}fn:wheelhouse: .*\n/gm, '')).toBe('▶ fn:wheelhouse\n');
    const [failedLine, error, hint, summary, end] = withoutTimes(result.stderr).split('\n');
    expect([failedLine, error, summary, end]).toEqual([
      '✗ fn:wheelhouse failed (T)',
      'error: No distribution found for nosuchpkg==1.0.',
      'lbuild: build failed: 1 failed, 3 skipped, 0 built, in T',
      '',
    ]);
    expect(hint).toMatch(
      new RegExp(
        `^  hint: Check the name and version in ${project.path('requirements.txt').replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}, and the package sources: find-links in lbuild\\.toml, the requirements file or pip's configuration \\(lbuild -v lists each package source and where it came from\\)\\.`,
      ),
    );
    await expectNothingClaimed({
      question: 1,
      zipStamp: 'kept',
      failed: 'fn%3awheelhouse',
      untouched: ['fn%3astaging', 'fn%3atree'],
    });
    project.write('requirements.txt', good);
    await expectRecovery();
  });

  it('a requirement with a wheel for another CPU only', async () => {
    const good = requirements();
    const wheel = await makeForeignWheel(project.path('wheels'), {
      name: 'fastthing',
      version: '1.0',
      python: '3.12',
      arch: FOREIGN_MACHINE,
    });
    project.write('requirements.txt', good + 'fastthing==1.0\n');
    const result = await run();
    expect(result.code).toBe(1);
    const oldest = MACHINE === 'x86_64' ? 5 : 17;
    const tag = `cp312-cp312-manylinux_2_17_${FOREIGN_MACHINE}`;
    expect(withoutTimes(result.stderr)).toBe(
      `✗ fn:wheelhouse failed (T)
error: No wheel of fastthing==1.0 suits the Lambda runtime python3.12 ${ARCHITECTURE} (tags tried: cp312/abi3/none on manylinux_2_34_${MACHINE} down to manylinux_2_${oldest}_${MACHINE}). Found: ${wheel.split('/').pop() ?? ''}: built for another CPU (${tag}).
  hint: The wheels found are for another CPU: check architecture in lbuild.toml (now "${ARCHITECTURE}"), or provide a manylinux ${MACHINE} wheel.
lbuild: build failed: 1 failed, 3 skipped, 0 built, in T
`,
    );
    await expectNothingClaimed({
      question: 1,
      zipStamp: 'kept',
      failed: 'fn%3awheelhouse',
      untouched: ['fn%3astaging', 'fn%3atree'],
    });
    project.write('requirements.txt', good);
    await expectRecovery();
  });

  it('a requirements file that does not exist (exit 2)', async () => {
    project.write(
      'lbuild.toml',
      bundleToml({ python: template.python }).replace(
        '"requirements.txt"',
        '"requirements-prod.txt"',
      ),
    );
    const result = await run();
    expect(result.code).toBe(2);
    expect(withoutTimes(result.stderr)).toBe(
      `✗ fn:wheelhouse failed (T)
error: Requirements file not found: ${project.path('requirements-prod.txt')}
  --> lbuild.toml:${lineOf('requirements')}:1 (bundle.fn.requirements)
  hint: Check the requirements setting of the bundle in lbuild.toml (relative to the project root).
lbuild: build failed: 1 failed, 3 skipped, 0 built, in T
`,
    );
    await expectNothingClaimed({ question: 2, zipStamp: 'kept', untouched: KEYS });
    project.write('lbuild.toml', bundleToml({ python: template.python }));
    await expectRecovery();
  });
});

describe('a malicious wheel (exit 1, the tree refuses it, nothing is written outside)', () => {
  const cases: {
    title: string;
    make: (wheels: string, outside: string) => Promise<string>;
    entry: (outside: string) => string;
    why: string;
  }[] = [
    {
      title: 'an entry whose path climbs out of the root (../evil.py)',
      make: (wheels) =>
        makeWheel(wheels, {
          name: 'evil',
          version: '1.0',
          files: { 'evil/__init__.py': '', '../evil.py': 'import os\n' },
        }),
      entry: () => '../evil.py',
      why: 'its path escapes the bundle root',
    },
    {
      title: 'an entry with an absolute path',
      make: (wheels, outside) =>
        makeWheel(wheels, {
          name: 'evil',
          version: '1.0',
          files: { 'evil/__init__.py': '', [outside]: 'import os\n' },
        }),
      entry: (outside) => outside,
      why: 'it is an absolute path',
    },
    {
      title: 'a symbolic link entry',
      make: (wheels, outside) =>
        Promise.resolve(
          makeSymlinkWheel(wheels, {
            name: 'evil',
            version: '1.0',
            link: 'evil/config.py',
            target: outside,
          }),
        ),
      entry: () => 'evil/config.py',
      why: 'it is a symbolic link',
    },
  ];

  for (const c of cases) {
    it(c.title, async () => {
      const good = requirements();
      const outside = `${project.dir}-outside-evil.py`;
      const wheel = await c.make(project.path('wheels'), outside);
      const name = wheel.split('/').pop() ?? '';
      expect(name).toBe('evil-1.0-py3-none-any.whl');
      project.write('requirements.txt', good + 'evil==1.0\n');
      const result = await run();
      expect(result.code).toBe(1);
      expect(withoutTimes(result.stderr)).toBe(
        `✗ fn:tree failed (T)
error: Wheel ${name} has an unsafe entry "${c.entry(outside)}": ${c.why}.
  hint: lbuild does not install it. Rebuild the wheel, or report it to whoever published it.
lbuild: build failed: 1 failed, 1 skipped, 2 built, in T
`,
      );
      expect(existsSync(outside)).toBe(false);
      expect(project.exists('evil.py')).toBe(false);
      await expectNothingClaimed({ question: 1, zipStamp: 'kept', failed: 'fn%3atree' });
      project.write('requirements.txt', good);
      const fixed = await project.json([], { env: NO_PIP_ENV });
      expect(fixed.result.code, fixed.result.stderr).toBe(0);
      expect(sha256(project.path('dist/fn.zip'))).toBe(goodZip);
    });
  }
});

describe('bad sources and limits', () => {
  it('a missing source directory (exit 2)', async () => {
    project.write(
      'lbuild.toml',
      bundleToml({ python: template.python }).replace('["app"]', '["app", "lib"]'),
    );
    const result = await run();
    expect(result.code).toBe(2);
    expect(withoutTimes(result.stderr)).toBe(
      `✗ fn:tree failed (T)
error: missing input \`lib\` of target fn:tree: no such file
  --> lbuild.toml:${lineOf('sources')}:1 (bundle.fn.sources)
  hint: create the file, fix the path (it is relative to the project root), or use a glob if it may be absent
lbuild: build failed: 1 failed, 1 skipped, 0 built, in T
`,
    );
    await expectNothingClaimed({ question: 2, zipStamp: 'kept', untouched: KEYS });
    project.write('lbuild.toml', bundleToml({ python: template.python }));
    await expectRecovery();
  });

  it('a zip over max-unzipped-size (exit 2, a config error, as a deploy over its limit)', async () => {
    project.write(
      'lbuild.toml',
      bundleToml({ python: template.python, extra: 'max-unzipped-size = 1000\n' }),
    );
    const result = await run();
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('▶ fn:zip\n');
    const unzipped = /is (\d+) bytes unzipped/.exec(result.stderr)?.[1];
    expect(Number(unzipped)).toBeGreaterThan(1000);
    expect(withoutTimes(result.stderr)).toBe(
      `✗ fn:zip failed (T)
error: the zip for [bundle.fn] is ${unzipped ?? ''} bytes unzipped, over max-unzipped-size = 1000
  --> lbuild.toml:${lineOf('max-unzipped-size')}:1 (bundle.fn.max-unzipped-size)
  hint: drop dependencies or files you do not need, or raise max-unzipped-size if your deployment allows more (Lambda allows 250 MB unzipped, container images more)
lbuild: build failed: 1 failed, 0 skipped, 0 built, in T
`,
    );
    await expectNothingClaimed({
      question: 1,
      zipStamp: 'removed',
      failed: 'fn%3azip',
      untouched: ['fn%3awheelhouse', 'fn%3astaging', 'fn%3atree'],
    });
    project.write('lbuild.toml', bundleToml({ python: template.python }));
    await expectRecovery();
  });
});

describe('a wheelhouse cache emptied by hand', () => {
  it('under an up-to-date wheelhouse: staging names the missing wheel (exit 1); -B refills it', async () => {
    project.remove('.lbuild/cache/wheelhouse');
    project.remove('.lbuild/targets/fn%3astaging');
    const result = await run();
    expect(result.code).toBe(1);
    const wheel = `.lbuild/cache/wheelhouse/cp${template.python.replace('.', '')}-manylinux_2_34_${MACHINE}/alpha-1.0-py3-none-any.whl`;
    expect(withoutTimes(result.stderr)).toBe(
      `✗ fn:staging failed (T)
error: The wheelhouse no longer holds alpha-1.0-py3-none-any.whl as fn:wheelhouse resolved it (${wheel} is gone).
  hint: Fill the wheelhouse again: lbuild -B fn
lbuild: build failed: 1 failed, 2 skipped, 0 built, in T
`,
    );
    await expectNothingClaimed({
      question: 1,
      zipStamp: 'kept',
      failed: 'fn%3astaging',
      untouched: ['fn%3awheelhouse', 'fn%3atree'],
    });
    const { result: again, summary } = await project.json(['-B'], { env: NO_PIP_ENV });
    expect(again.code, again.stderr).toBe(0);
    expect(ran(summary)).toHaveLength(4);
    expect(sha256(project.path('dist/fn.zip'))).toBe(goodZip);
  });
});

describe('config errors (exit 2, nothing runs)', () => {
  const cases: { title: string; edit: (toml: string) => string; stderr: () => string }[] = [
    {
      title: 'an unknown key, with the key it was probably meant to be',
      edit: (toml) => toml + 'compresion-level = 9\n',
      stderr: () => `lbuild: error: unknown key \`compresion-level\` in [bundle.fn]
  --> lbuild.toml:${lineOf('compresion-level')}:1 (bundle.fn.compresion-level)
  hint: did you mean \`compression-level\`?
`,
    },
    {
      title: 'python = "2.7"',
      edit: (toml) => toml.replace(/^python .*$/m, 'python       = "2.7"'),
      stderr:
        () => `lbuild: error: \`bundle.fn.python\` must be one of "3.8", "3.9", "3.10", "3.11", "3.12", "3.13", "3.14" (got "2.7")
  --> lbuild.toml:${lineOf('python')}:1 (bundle.fn.python)
`,
    },
    {
      title: 'architecture = "sparc"',
      edit: (toml) => toml.replace(/^architecture .*$/m, 'architecture = "sparc"'),
      stderr:
        () => `lbuild: error: \`bundle.fn.architecture\` must be one of "x86_64", "arm64" (got "sparc")
  --> lbuild.toml:${lineOf('architecture')}:1 (bundle.fn.architecture)
`,
    },
  ];

  for (const c of cases) {
    it(c.title, async () => {
      const good = project.read('lbuild.toml');
      project.write('lbuild.toml', c.edit(good));
      const result = await run();
      expect(result).toEqual({ code: 2, signal: null, stdout: '', stderr: c.stderr() });
      await expectNothingClaimed({ question: 2, zipStamp: 'kept', untouched: KEYS });
      project.write('lbuild.toml', good);
      const { result: fixed, summary } = await project.json([], { env: NO_PIP_ENV });
      expect(fixed.code, fixed.stderr).toBe(0);
      expect(ran(summary)).toEqual([]);
      expect(sha256(project.path('dist/fn.zip'))).toBe(goodZip);
    });
  }
});
