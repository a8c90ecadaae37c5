import { execFileSync } from 'node:child_process';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { statuses, type TempProject } from '../helpers/project.js';
import { SYSTEM_PYTHON, makeForeignWheel, makeLocalProject } from '../fixtures/python/wheels.js';
import { makePosingPython } from '../fixtures/python/posing-python.js';
import {
  ARCHITECTURE,
  CEXT_PYTHON,
  MACHINE,
  NO_PIP_ENV,
  Template,
  bundleToml,
  zipNames,
} from './rig.js';

/**
 * Wheels that would run on the build machine but maybe not on Lambda. When the build machine
 * matches the runtime (same CPython, CPU, a glibc no newer than Amazon Linux's), lbuild fills the
 * wheelhouse with `pip wheel`, which compiles local C extensions into `linux_<cpu>` wheels and
 * takes any wheel this machine's glibc can load. The build Python here poses as such a machine
 * (its probe reports Amazon Linux's glibc); pip then really runs, on this machine.
 */
const PYTHON = CEXT_PYTHON ?? '3.12';
const cp = `cp${PYTHON.replace('.', '')}`;
/** The runtime's glibc ceiling: Amazon Linux 2 up to python3.11, then Amazon Linux 2023. */
const CEILING = Number(PYTHON.split('.')[1]) <= 11 ? 26 : 34;
const OS = CEILING === 26 ? 'Amazon Linux 2' : 'Amazon Linux 2023';
const HOST_GLIBC_MINOR = Number(
  execFileSync(SYSTEM_PYTHON, ['-c', 'import os; print(os.confstr("CS_GNU_LIBC_VERSION"))'], {
    encoding: 'utf8',
  })
    .trim()
    .split('.')[1],
);

let template: Template;
let project: TempProject;

beforeAll(async () => {
  template = await Template.create({ python: PYTHON });
});
afterAll(() => {
  template.dispose();
});
beforeEach(() => {
  project = template.project();
});
afterEach(() => {
  project.dispose();
});

const run = (args: string[] = []) => project.run(args, { env: NO_PIP_ENV });

/** Durations vary from run to run: `(12ms)`, `in 1.20s` become `(T)`, `in T`. */
const withoutTimes = (text: string) => text.replace(/\b\d+(\.\d+)?m?s\b/g, 'T');

function lineOf(prefix: string): number {
  return (
    project
      .read('lbuild.toml')
      .split('\n')
      .findIndex((l) => l.startsWith(prefix)) + 1
  );
}

async function configure(options: {
  posing: { glibc?: string; abiflags?: string };
  requirements: string[];
  extra?: string;
}): Promise<void> {
  await makePosingPython(project.path('posing'), options.posing);
  project.write(
    'requirements.txt',
    `${project.read('requirements.txt')}${options.requirements.join('\n')}\n`,
  );
  project.write(
    'lbuild.toml',
    bundleToml({
      python: PYTHON,
      extra: `build-python = "posing/python3"\n${options.extra ?? ''}`,
    }),
  );
}

describe.skipIf(CEXT_PYTHON === undefined)('host-built wheels', () => {
  it('refuses a local C extension that pip wheel built as linux_*, ships it with allow-host-built-wheels', async () => {
    await makeLocalProject(project.path('cextpkg'), {
      name: 'cextpkg',
      version: '0.3',
      backend: 'setuptools',
      ext: true,
    });
    await configure({
      posing: { glibc: `2.${CEILING}` },
      requirements: ['./cextpkg'],
      extra: 'no-build-isolation = true\n',
    });
    const wheel = `cextpkg-0.3-${cp}-${cp}-linux_${MACHINE}.whl`;
    const refused = await run();
    expect(refused.code, refused.stderr).toBe(1);
    expect(withoutTimes(refused.stderr)).toBe(
      `✗ fn:staging failed (T)
error: ${wheel} is tagged linux_${MACHINE}, not manylinux: built for one Linux machine and linked against its libraries, which the Lambda runtime python${PYTHON} ${ARCHITECTURE} (${OS}, glibc 2.${CEILING}) may not have.
  hint: Use a manylinux wheel instead: repair it with auditwheel repair (it bundles the libraries and retags the wheel), or take the project's manylinux wheel from its index. If it was built on a machine like the runtime (e.g. the public.ecr.aws/lambda/python:${PYTHON} image), ship it at that risk with allow-host-built-wheels = true in [bundle.fn].
lbuild: build failed: 1 failed, 2 skipped, 1 built, in T
`,
    );
    expect(project.exists('dist/fn.zip')).toBe(false);
    expect(project.exists('.lbuild/stamps/fn%3astaging.json')).toBe(false);
    expect((await run(['-q'])).code).toBe(1);

    // The opt-in enters the staging fingerprint: the wheelhouse is not filled again.
    project.write('lbuild.toml', `${project.read('lbuild.toml')}allow-host-built-wheels = true\n`);
    const { result, summary } = await project.json([], { env: NO_PIP_ENV });
    expect(result.code, result.stderr).toBe(0);
    expect(statuses(summary)).toEqual({
      'fn:wheelhouse': 'up-to-date',
      'fn:staging': 'built',
      'fn:tree': 'built',
      'fn:zip': 'built',
    });
    expect(zipNames(project.path('dist/fn.zip'))).toContain(
      `cextpkg/_speedups.cpython-${cp.slice(2)}-${MACHINE}-linux-gnu.so`,
    );

    // Without it again, the next build refuses again: an up-to-date answer would be wrong.
    project.write(
      'lbuild.toml',
      project.read('lbuild.toml').replace('allow-host-built-wheels = true\n', ''),
    );
    const again = await run();
    expect(again.code).toBe(1);
    expect(again.stderr).toContain(`error: ${wheel} is tagged linux_${MACHINE}`);
  }, 300_000);

  it.skipIf(HOST_GLIBC_MINOR <= CEILING)(
    "refuses a manylinux wheel newer than the runtime's glibc, which pip wheel takes here",
    async () => {
      const tag = `${cp}-${cp}-manylinux_2_${CEILING + 1}_${MACHINE}`;
      await makeForeignWheel(project.path('wheels'), {
        name: 'newglibc',
        version: '1.0',
        python: PYTHON,
        arch: MACHINE,
        glibc: `2_${CEILING + 1}`,
      });
      await configure({ posing: { glibc: `2.${CEILING}` }, requirements: ['newglibc==1.0'] });
      for (const extra of ['', 'allow-host-built-wheels = true\n']) {
        project.write(
          'lbuild.toml',
          bundleToml({ python: PYTHON, extra: `build-python = "posing/python3"\n${extra}` }),
        );
        const result = await run();
        expect(result.code, result.stderr).toBe(1);
        expect(withoutTimes(result.stderr)).toBe(
          `✗ fn:staging failed (T)
error: Not for the Lambda runtime python${PYTHON} ${ARCHITECTURE}: newglibc-1.0-${tag}.whl: needs a newer glibc (${tag}).
  hint: python${PYTHON} runs ${CEILING === 26 ? 'amazonlinux2' : 'amazonlinux2023'} with glibc 2.${CEILING}: provide a wheel tagged manylinux_2_${CEILING} or older.
lbuild: build failed: 1 failed, 2 skipped, ${extra === '' ? '1 built' : '0 built'}, in T
`,
        );
        expect(project.exists('dist/fn.zip')).toBe(false);
      }
    },
    300_000,
  );

  it('refuses a free-threaded build Python (exit 2, pointing at build-python)', async () => {
    await configure({ posing: { abiflags: 't' }, requirements: [] });
    const result = await run();
    expect(result.code).toBe(2);
    const version = execFileSync(
      SYSTEM_PYTHON,
      ['-c', 'import platform; print(platform.python_version())'],
      { encoding: 'utf8' },
    ).trim();
    expect(withoutTimes(result.stderr)).toBe(
      `✗ fn:wheelhouse failed (T)
error: The build Python "posing/python3" (${SYSTEM_PYTHON}, ${version}, ABI ${cp}t) is a free-threaded build. Lambda runs the standard CPython build, which cannot load extension modules built for ${cp}t.
  --> lbuild.toml:${lineOf('build-python')}:1 (bundle.fn.build-python)
  hint: Set build-python in lbuild.toml to a standard CPython build (e.g. python${PYTHON} rather than python${PYTHON}t).
lbuild: build failed: 1 failed, 3 skipped, 0 built, in T
`,
    );
    expect(project.exists('.lbuild/stamps/fn%3awheelhouse.json')).toBe(false);
  }, 120_000);
});
