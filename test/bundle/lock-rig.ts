/**
 * Fixture projects whose requirement source is a lock file: uv.lock and pylock.toml written by
 * hand in their documented formats (uv is not installed here and the index is local), over wheels
 * the tests make, with their real sha256 filled in. One lock gives different sets per target:
 *
 *   service 1.0 → common 1.0                      every target
 *   fast 1.0                                      cp311/cp312 × x86_64/aarch64 wheels
 *   forked 1.0 (Python < 3.12), 2.0 (≥ 3.12)      two versions, two resolution forks
 *   backport   python < 3.12     x86only  x86_64     armdep  aarch64     winonly  win32
 *   devtool    the dev group only
 */
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { TempProject } from '../helpers/project.js';
import { makeForeignWheel, makeWheels } from '../fixtures/python/wheels.js';
import { sha256 } from './rig.js';

export const URL_BASE = 'https://files.example.invalid/packages';

export interface Locked {
  name: string;
  version: string;
  /** Absolute paths of the wheels. */
  wheels: string[];
  sdist?: string;
}

const q = (text: string) => JSON.stringify(text);

function wheelsToml(files: string[], hash: (file: string) => string): string {
  return files
    .map(
      (f) =>
        `    { url = ${q(`${URL_BASE}/${basename(f)}`)}, hash = "sha256:${hash(f)}", size = 1 },`,
    )
    .join('\n');
}

export interface UvLockOptions {
  /** Replace the hash of one wheel file (by name). */
  hashOf?: Record<string, string>;
  /** Extra `[[package]]` entries, and extra root dependencies / dev deps (lock and metadata). */
  extraPackages?: Locked[];
  extraRootDeps?: { name: string; marker?: string; specifier?: string }[];
  extraDev?: { name: string; specifier?: string }[];
  /** A marker on `backport` other than `python_full_version < '3.12'`. */
  backportMarker?: string;
}

export const ROOT_DEPS: { name: string; marker?: string; specifier?: string; version?: string }[] =
  [
    { name: 'armdep', marker: "platform_machine == 'aarch64'" },
    { name: 'backport', marker: "python_full_version < '3.12'" },
    { name: 'fast', specifier: '==1.0' },
    { name: 'service', specifier: '>=1' },
    { name: 'winonly', marker: "sys_platform == 'win32'" },
    { name: 'x86only', marker: "platform_machine == 'x86_64'" },
  ];

/** pyproject.toml of the fixture project, matching {@link uvLock} with the same options. */
export function pyproject(options: UvLockOptions = {}): string {
  const deps = [...rootDeps(options), { name: 'forked', specifier: '>=1' }]
    .map((d) => `    ${q(`${d.name}${d.specifier ?? ''}${d.marker ? ` ; ${d.marker}` : ''}`)},`)
    .join('\n');
  const dev = [{ name: 'devtool', specifier: '>=1' }, ...(options.extraDev ?? [])]
    .map((d) => q(`${d.name}${d.specifier ?? ''}`))
    .join(', ');
  return `[project]
name = "app"
version = "0.1.0"
requires-python = ">=3.11"
dependencies = [
${deps}
]

[dependency-groups]
dev = [${dev}]
`;
}

function rootDeps(options: UvLockOptions) {
  return [
    ...ROOT_DEPS.map((d) =>
      d.name === 'backport' && options.backportMarker !== undefined
        ? { ...d, marker: options.backportMarker }
        : d,
    ),
    ...(options.extraRootDeps ?? []),
  ];
}

/** A uv.lock (version 1) for the fixture packages. */
export function uvLock(packages: Locked[], options: UvLockOptions = {}): string {
  const hash = (file: string) => options.hashOf?.[basename(file)] ?? sha256(file);
  const entry = (d: { name: string; marker?: string; specifier?: string }, spec: boolean) =>
    `{ name = ${q(d.name)}${spec && d.specifier ? `, specifier = ${q(d.specifier)}` : ''}${d.marker ? `, marker = ${q(d.marker)}` : ''} }`;
  const deps = rootDeps(options);
  const registry = 'source = { registry = "https://pypi.org/simple" }';
  const out = [
    'version = 1',
    'revision = 3',
    'requires-python = ">=3.11"',
    'resolution-markers = [',
    `    "python_full_version >= '3.12'",`,
    `    "python_full_version < '3.12'",`,
    ']',
    '',
    '[[package]]',
    'name = "app"',
    'version = "0.1.0"',
    'source = { editable = "." }',
    'dependencies = [',
    ...deps.map((d) => `    ${entry(d, false)},`),
    `    { name = "forked", version = "1.0", ${registry}, marker = "python_full_version < '3.12'" },`,
    `    { name = "forked", version = "2.0", ${registry}, marker = "python_full_version >= '3.12'" },`,
    ']',
    '',
    '[package.dev-dependencies]',
    `dev = [${['devtool', ...(options.extraDev ?? []).map((d) => d.name)].map((n) => `{ name = ${q(n)} }`).join(', ')}]`,
    '',
    '[package.metadata]',
    'requires-dist = [',
    ...[...deps, { name: 'forked', specifier: '>=1' }].map((d) => `    ${entry(d, true)},`),
    ']',
    '',
    '[package.metadata.requires-dev]',
    `dev = [${[{ name: 'devtool', specifier: '>=1' }, ...(options.extraDev ?? [])].map((d) => entry(d, true)).join(', ')}]`,
  ];
  for (const pkg of [...packages, ...(options.extraPackages ?? [])]) {
    out.push('', '[[package]]', `name = ${q(pkg.name)}`, `version = ${q(pkg.version)}`, registry);
    if (pkg.name === 'forked') {
      out.push(
        `resolution-markers = [${q(pkg.version === '1.0' ? "python_full_version < '3.12'" : "python_full_version >= '3.12'")}]`,
      );
    }
    if (pkg.name === 'service') out.push('dependencies = [{ name = "common" }]');
    if (pkg.sdist !== undefined)
      out.push(
        `sdist = { url = ${q(`${URL_BASE}/${pkg.sdist}`)}, hash = "sha256:${'0'.repeat(64)}", size = 1 }`,
      );
    if (pkg.wheels.length > 0) out.push('wheels = [', wheelsToml(pkg.wheels, hash), ']');
  }
  return out.join('\n') + '\n';
}

/** A pylock.toml (PEP 751) for the fixture packages: each package with the marker of its need. */
export function pylock(packages: Locked[]): string {
  const markers: Record<string, string> = {
    armdep: "platform_machine == 'aarch64'",
    backport: "python_full_version < '3.12'",
    winonly: "sys_platform == 'win32'",
    x86only: "platform_machine == 'x86_64'",
    devtool: "'dev' in dependency_groups",
  };
  const out = [
    'lock-version = "1.0"',
    'requires-python = ">=3.11"',
    'created-by = "lbuild-tests"',
    'dependency-groups = ["dev"]',
    'default-groups = ["dev"]',
  ];
  for (const pkg of packages) {
    const marker =
      pkg.name === 'forked'
        ? pkg.version === '1.0'
          ? "python_full_version < '3.12'"
          : "python_full_version >= '3.12'"
        : markers[pkg.name];
    out.push('', '[[packages]]', `name = ${q(pkg.name)}`, `version = ${q(pkg.version)}`);
    if (marker !== undefined) out.push(`marker = ${q(marker)}`);
    out.push('index = "https://pypi.org/simple"');
    out.push(
      'wheels = [',
      ...pkg.wheels.map(
        (f) =>
          `    { name = ${q(basename(f))}, url = ${q(`${URL_BASE}/${basename(f)}`)}, size = 1, hashes = { sha256 = ${q(sha256(f))} } },`,
      ),
      ']',
    );
  }
  return out.join('\n') + '\n';
}

export const HANDLER = 'def handler(event, context):\n    return {}\n';

/** The `[bundle.NAME]` tables of the fixture project. */
export function lockToml(bundles: Record<string, string>): string {
  return Object.entries(bundles)
    .map(
      ([name, body]) => `[bundle.${name}]
sources    = ["app"]
find-links = ["wheels"]
no-index   = true
${body}
`,
    )
    .join('\n');
}

/** A template project made once per test file, copied for each test. */
export class LockTemplate {
  readonly dir: string;
  readonly packages: Locked[];

  private constructor(dir: string, packages: Locked[]) {
    this.dir = dir;
    this.packages = packages;
  }

  static async create(bundles: Record<string, string>): Promise<LockTemplate> {
    const dir = mkdtempSync(join(tmpdir(), 'lbuild-lock-template-'));
    const wheels = join(dir, 'wheels');
    mkdirSync(wheels, { recursive: true });
    const pure = ['service', 'common', 'backport', 'x86only', 'armdep', 'winonly', 'devtool'];
    const made = await makeWheels(wheels, [
      ...pure.map((name) => ({ name, version: '1.0' })),
      { name: 'forked', version: '1.0' },
      { name: 'forked', version: '2.0' },
    ]);
    const fast: string[] = [];
    for (const python of ['3.11', '3.12'])
      for (const arch of ['x86_64', 'aarch64'] as const)
        fast.push(await makeForeignWheel(wheels, { name: 'fast', version: '1.0', python, arch }));
    const packages: Locked[] = [
      ...pure.map((name, i) => ({ name, version: '1.0', wheels: [made[i]!] })),
      { name: 'forked', version: '1.0', wheels: [made[pure.length]!] },
      { name: 'forked', version: '2.0', wheels: [made[pure.length + 1]!] },
      { name: 'fast', version: '1.0', wheels: fast },
    ];
    const files: Record<string, string> = {
      'app/handler.py': HANDLER,
      'pyproject.toml': pyproject(),
      'uv.lock': uvLock(packages),
      'pylock.toml': pylock(packages),
      'lbuild.toml': lockToml(bundles),
    };
    for (const [rel, content] of Object.entries(files)) {
      mkdirSync(dirname(join(dir, rel)), { recursive: true });
      writeFileSync(join(dir, rel), content);
    }
    return new LockTemplate(dir, packages);
  }

  project(): TempProject {
    const project = TempProject.create();
    cpSync(this.dir, project.dir, { recursive: true });
    return project;
  }

  dispose(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}
