import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LbuildError, type DescribedFailure } from '@lbuild/core';
import { runtimePlatform } from '../../src/pip/index.js';
import { readLockFile } from '../../src/pip/lock-wheelhouse.js';
import { runtimeWheels, type LockOptions, type LockedSet } from '../../src/pip/locked-set.js';

const FIXTURES = fileURLToPath(new URL('./fixtures/locks/', import.meta.url));
const NO_CHOICE: LockOptions = { groups: [], extras: [] };

const read = (file: string, python: string, arch = 'x86_64', options = NO_CHOICE) =>
  readLockFile(file, options, runtimePlatform(python, arch));

const pins = (set: LockedSet) => set.packages.map((p) => `${p.name}==${p.version}`);

async function failure(promise: Promise<unknown>) {
  try {
    await promise;
  } catch (error) {
    if (error instanceof LbuildError) return error.failure as DescribedFailure;
    throw error;
  }
  throw new Error('expected a failure');
}

/**
 * `uv export --no-dev --no-hashes` of astral-sh/uv-docker-example, lines whose marker holds on
 * Linux CPython (colorama is `sys_platform == 'win32'`; `-e .` is the project itself, which a
 * bundle takes from `sources`). Written down from the lock by hand.
 */
const DOCKER_EXAMPLE = [
  'annotated-types==0.7.0',
  'anyio==4.11.0',
  'certifi==2025.10.5',
  'click==8.3.0',
  'dnspython==2.8.0',
  'email-validator==2.3.0',
  'fastapi==0.118.0',
  'fastapi-cli==0.0.13',
  'fastapi-cloud-cli==0.3.0',
  'h11==0.16.0',
  'httpcore==1.0.9',
  'httptools==0.6.4',
  'httpx==0.28.1',
  'idna==3.10',
  'jinja2==3.1.6',
  'markdown-it-py==4.0.0',
  'markupsafe==3.0.3',
  'mdurl==0.1.2',
  'pydantic==2.11.10',
  'pydantic-core==2.33.2',
  'pygments==2.19.2',
  'python-dotenv==1.1.1',
  'python-multipart==0.0.20',
  'pyyaml==6.0.3',
  'rich==14.1.0',
  'rich-toolkit==0.15.1',
  'rignore==0.7.0',
  'sentry-sdk==2.39.0',
  'shellingham==1.5.4',
  'sniffio==1.3.1',
  'starlette==0.48.0',
  'typer==0.19.2',
  'typing-extensions==4.15.0',
  'typing-inspection==0.4.2',
  'urllib3==2.5.0',
  'uvicorn==0.37.0',
  'uvloop==0.21.0',
  'watchfiles==1.1.0',
  'websockets==15.0.1',
];

/** The same for astral-sh/uv-fastapi-example (a virtual project: no `-e .` line). */
const FASTAPI_EXAMPLE = [
  'annotated-types==0.7.0',
  'anyio==4.4.0',
  'certifi==2024.7.4',
  'click==8.1.7',
  'dnspython==2.6.1',
  'email-validator==2.2.0',
  'fastapi==0.112.1',
  'fastapi-cli==0.0.5',
  'h11==0.14.0',
  'httpcore==1.0.5',
  'httptools==0.6.1',
  'httpx==0.27.0',
  'idna==3.7',
  'jinja2==3.1.4',
  'markdown-it-py==3.0.0',
  'markupsafe==2.1.5',
  'mdurl==0.1.2',
  'pydantic==2.8.2',
  'pydantic-core==2.20.1',
  'pygments==2.18.0',
  'python-dotenv==1.0.1',
  'python-multipart==0.0.9',
  'pyyaml==6.0.2',
  'rich==13.7.1',
  'shellingham==1.5.4',
  'sniffio==1.3.1',
  'starlette==0.38.2',
  'typer==0.12.4',
  'typing-extensions==4.12.2',
  'uvicorn==0.30.6',
  'uvloop==0.20.0',
  'watchfiles==0.23.0',
  'websockets==13.0',
];

describe('real uv.lock files', () => {
  const docker = join(FIXTURES, 'uv-docker-example', 'uv.lock');
  const fastapi = join(FIXTURES, 'uv-fastapi-example', 'uv.lock');

  it('select what uv export --no-dev gives, for every Lambda target', async () => {
    for (const [python, arch] of [
      ['3.11', 'x86_64'],
      ['3.12', 'arm64'],
      ['3.13', 'x86_64'],
    ] as const) {
      const set = await read(docker, python, arch);
      expect(pins(set), `${python} ${arch}`).toEqual(DOCKER_EXAMPLE);
      expect(set.locals).toEqual([]);
      // The lock matches its pyproject.toml, which was read for that check.
      expect(set.files).toEqual([docker, join(FIXTURES, 'uv-docker-example', 'pyproject.toml')]);
    }
    expect(pins(await read(fastapi, '3.12'))).toEqual(FASTAPI_EXAMPLE);
  });

  it('add a dependency group only when asked', async () => {
    const set = await read(docker, '3.12', 'x86_64', { groups: ['dev'], extras: [] });
    const at = DOCKER_EXAMPLE.indexOf('sentry-sdk==2.39.0');
    expect(pins(set)).toEqual([
      ...DOCKER_EXAMPLE.slice(0, at),
      'ruff==0.13.3',
      ...DOCKER_EXAMPLE.slice(at),
    ]);
    expect(
      (await failure(read(docker, '3.12', 'x86_64', { groups: ['test'], extras: [] }))).message,
    ).toBe('uv-docker-example in uv.lock has no dependency group "test".');
  });

  it("pick each package's wheel by the runtime's tags", async () => {
    const pick = async (python: string, arch: string, project: string) => {
      const platform = runtimePlatform(python, arch);
      const set = await readLockFile(docker, NO_CHOICE, platform);
      return runtimeWheels(set, platform, false).get(project)?.[0]?.file;
    };
    expect(await pick('3.12', 'x86_64', 'pydantic-core')).toBe(
      'pydantic_core-2.33.2-cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64.whl',
    );
    // Not the free-threaded cp313t wheel, not musllinux.
    expect(await pick('3.13', 'arm64', 'pydantic-core')).toBe(
      'pydantic_core-2.33.2-cp313-cp313-manylinux_2_17_aarch64.manylinux2014_aarch64.whl',
    );
    // python3.11 runs Amazon Linux 2 (glibc 2.26): the wheel also tagged manylinux2014 suits.
    expect(await pick('3.11', 'x86_64', 'markupsafe')).toBe(
      'markupsafe-3.0.3-cp311-cp311-manylinux2014_x86_64.manylinux_2_17_x86_64.manylinux_2_28_x86_64.whl',
    );
    expect(await pick('3.12', 'x86_64', 'idna')).toBe('idna-3.10-py3-none-any.whl');
  });

  it('refuse a runtime the lock has no wheels for, naming what there is', async () => {
    // Locked in 2024 for Python 3.12: httptools 0.6.1 has no cp313 wheel.
    const platform = runtimePlatform('3.13', 'x86_64');
    const set = await readLockFile(fastapi, NO_CHOICE, platform);
    let error: unknown;
    try {
      runtimeWheels(set, platform, false);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(LbuildError);
    const f = (error as LbuildError).failure as DescribedFailure;
    expect(f.reason).toBe('no-suitable-wheel');
    expect(f.message).toMatch(
      /^No wheel of httptools==0\.6\.1 \(locked in uv\.lock\) suits the Lambda runtime python3\.13 x86_64\. Found: httptools-0\.6\.1-cp312-cp312-.*: built for another Python \(cp312-cp312-.*httptools-0\.6\.1\.tar\.gz: a source distribution\.$/,
    );
  });
});

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lbuild-locks-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const WHEEL = (file: string) =>
  `wheels = [{ url = "https://example.invalid/${file}", hash = "sha256:${'1'.repeat(64)}", size = 1 }]`;

function pkg(name: string, version: string, extra = ''): string {
  return `[[package]]
name = "${name}"
version = "${version}"
source = { registry = "https://pypi.org/simple" }
${extra}
${WHEEL(`${name.replace(/-/g, '_')}-${version}-py3-none-any.whl`)}
`;
}

describe('uv.lock selection', () => {
  const write = async (lock: string, pyproject?: string) => {
    await writeFile(join(dir, 'uv.lock'), lock);
    if (pyproject !== undefined) await writeFile(join(dir, 'pyproject.toml'), pyproject);
    return join(dir, 'uv.lock');
  };

  it('takes the version of a forked package whose resolution-markers hold for the target', async () => {
    const file = await write(`version = 1
requires-python = ">=3.11"

[[package]]
name = "app"
version = "1"
source = { virtual = "." }
dependencies = [{ name = "lib" }]

${pkg('lib', '1', `dependencies = [{ name = "numpyish" }]`)}
${pkg('numpyish', '1.0', `resolution-markers = ["python_full_version < '3.12'"]`)}
${pkg('numpyish', '2.0', `resolution-markers = ["python_full_version >= '3.12'"]`)}
`);
    expect(pins(await read(file, '3.11'))).toEqual(['lib==1', 'numpyish==1.0']);
    expect(pins(await read(file, '3.12'))).toEqual(['lib==1', 'numpyish==2.0']);
  });

  it('follows extras on edges and the extras the bundle asks for', async () => {
    const file = await write(`version = 1
requires-python = ">=3.11"

[[package]]
name = "app"
version = "1"
source = { virtual = "." }
dependencies = [{ name = "web", extra = ["fast"] }]

[package.optional-dependencies]
aws = [{ name = "boto", marker = "platform_machine == 'aarch64'" }]

${pkg('web', '1')}
[package.optional-dependencies]
fast = [{ name = "speedups" }]
slow = [{ name = "never" }]

${pkg('speedups', '1')}
${pkg('never', '1')}
${pkg('boto', '1')}
`);
    expect(pins(await read(file, '3.12'))).toEqual(['speedups==1', 'web==1']);
    const options = { groups: [], extras: ['aws'] };
    expect(pins(await read(file, '3.12', 'x86_64', options))).toEqual(['speedups==1', 'web==1']);
    expect(pins(await read(file, '3.12', 'arm64', options))).toEqual([
      'boto==1',
      'speedups==1',
      'web==1',
    ]);
  });

  it("takes uv's edges of conflicting extras only for the extra the bundle chose", async () => {
    const file = await write(`version = 1
requires-python = ">=3.11"

[[package]]
name = "app"
version = "1"
source = { virtual = "." }

[package.optional-dependencies]
cpu = [{ name = "torchish", version = "1.0+cpu", marker = "extra == 'extra-3-app-cpu'" }]
gpu = [{ name = "torchish", version = "1.0+gpu", marker = "extra == 'extra-3-app-gpu'" }]

${pkg('torchish', '1.0+cpu')}
${pkg('torchish', '1.0+gpu')}
`);
    expect(pins(await read(file, '3.12', 'x86_64', { groups: [], extras: ['gpu'] }))).toEqual([
      'torchish==1.0+gpu',
    ]);
    expect(pins(await read(file, '3.12'))).toEqual([]);
  });

  it('judges freshness by meaning, not spelling, and names a stale lock', async () => {
    const lock = `version = 1
requires-python = ">=3.11"

[[package]]
name = "app"
version = "1"
source = { editable = "." }
dependencies = [{ name = "requests" }]

[package.metadata]
requires-dist = [
    { name = "requests", extras = ["socks"], specifier = ">=2.0,<3" },
    { name = "boto", marker = "extra == 'aws'" },
]

[package.metadata.requires-dev]
lint = [{ name = "ruff" }]
test = [{ name = "pytest", specifier = ">=8" }, { name = "ruff" }]

${pkg('requests', '2.32.0')}
`;
    const file = await write(
      lock,
      `[project]
name = "app"
version = "1"
dependencies = ["Requests[SOCKS] <3, >= 2.0"]
[project.optional-dependencies]
aws = ["boto"]
[dependency-groups]
lint = ["ruff"]
test = ["pytest>=8", { include-group = "lint" }]
`,
    );
    expect(pins(await read(file, '3.12'))).toEqual(['requests==2.32.0']);
    await writeFile(
      join(dir, 'pyproject.toml'),
      `[project]\nname = "app"\nversion = "1"\ndependencies = ["requests[socks]>=2.1,<3"]\n[project.optional-dependencies]\naws = ["boto"]\n[dependency-groups]\nlint = ["ruff"]\ntest = ["pytest>=8", "ruff"]\n`,
    );
    const stale = await failure(read(file, '3.12'));
    expect(stale.kind).toBe('config');
    expect(stale.reason).toBe('lock-out-of-date');
    expect(stale.message).toMatch(/^uv\.lock is out of date with pyproject\.toml: run `uv lock`/);
  });

  it('builds workspace members in the closure of the chosen package, and needs one in a virtual workspace', async () => {
    const file = await write(`version = 1
requires-python = ">=3.11"

[manifest]
members = ["api", "core", "tools"]

[[package]]
name = "api"
version = "1"
source = { editable = "packages/api" }
dependencies = [{ name = "core" }, { name = "requests" }]

[[package]]
name = "core"
version = "1"
source = { editable = "packages/core" }

[[package]]
name = "tools"
version = "1"
source = { editable = "packages/tools" }
dependencies = [{ name = "click" }]

${pkg('requests', '2')}
${pkg('click', '8')}
`);
    const set = await read(file, '3.12', 'x86_64', { groups: [], extras: [], package: 'api' });
    expect(pins(set)).toEqual(['requests==2']);
    expect(set.locals.map((l) => [l.name, l.path, l.type])).toEqual([
      ['api', join(dir, 'packages/api'), 'directory'],
      ['core', join(dir, 'packages/core'), 'directory'],
    ]);
    const none = await failure(read(file, '3.12'));
    expect(none.reason).toBe('lock-no-root-project');
    expect(none.hint).toBe('Set package in the bundle to one of: api, core, tools.');
    const unknown = await failure(
      read(file, '3.12', 'x86_64', { groups: [], extras: [], package: 'web' }),
    );
    expect(unknown.message).toBe('uv.lock has no workspace member "web".');
  });

  it('refuses a lock for a Python the runtime is not', async () => {
    const file = await write(`version = 1\nrequires-python = ">=3.12"\n`);
    const f = await failure(read(file, '3.11'));
    expect(f.reason).toBe('lock-python-mismatch');
    expect(f.message).toBe("uv.lock is for Python >=3.12; the bundle's runtime is Python 3.11.");
  });
});

describe('pylock.toml selection', () => {
  const write = async (text: string, name = 'pylock.toml') => {
    await writeFile(join(dir, name), text);
    return join(dir, name);
  };
  const entry = (name: string, version: string, marker?: string) => `[[packages]]
name = "${name}"
version = "${version}"
${marker === undefined ? '' : `marker = ${JSON.stringify(marker)}`}
wheels = [{ name = "${name}-${version}-py3-none-any.whl", url = "https://example.invalid/${name}-${version}-py3-none-any.whl", hashes = { sha256 = "${'2'.repeat(64)}" } }]
`;

  it('takes the entries whose marker holds, with the chosen extras and groups', async () => {
    const file = await write(
      `lock-version = "1.0"
extras = ["aws"]
dependency-groups = ["dev"]
default-groups = ["dev"]

${entry('common', '1')}
${entry('boto', '1', "'aws' in extras")}
${entry('pytest', '8', "'dev' in dependency_groups")}
${entry('old', '1', "python_version < '3.12'")}
${entry('new', '2', "python_version >= '3.12'")}
[[packages]]
name = "app"
directory = { path = ".", editable = true }

[[packages]]
name = "member"
directory = { path = "libs/member" }
`,
      'pylock.api.toml',
    );
    const set = await read(file, '3.12');
    expect(set.kind).toBe('pylock.toml');
    expect(pins(set)).toEqual(['common==1', 'new==2']);
    expect(set.locals.map((l) => l.path)).toEqual([join(dir, 'libs/member')]);
    expect(pins(await read(file, '3.11', 'arm64', { groups: ['dev'], extras: ['aws'] }))).toEqual([
      'boto==1',
      'common==1',
      'old==1',
      'pytest==8',
    ]);
  });

  it('refuses a lock made for other environments, and two entries of one package', async () => {
    const mac = await write(`lock-version = "1.0"\nenvironments = ["sys_platform == 'darwin'"]\n`);
    expect((await failure(read(mac, '3.12'))).reason).toBe('lock-environment-mismatch');
    const twice = await write(`lock-version = "1.0"\n${entry('a', '1')}\n${entry('a', '2')}`);
    expect((await failure(read(twice, '3.12'))).message).toMatch(/two entries of a \(1 and 2\)/);
  });

  it('reads only the lock file names PEP 751 gives', async () => {
    const other = await write('lock-version = "1.0"\n', 'requirements.lock');
    expect((await failure(read(other, '3.12'))).reason).toBe('lock-unknown-format');

    const missing = await failure(read(join(dir, 'pylock.prod.toml'), '3.12'));
    expect([missing.reason, missing.kind, missing.location]).toEqual([
      'lock-missing',
      'config',
      undefined,
    ]);
  });
});
