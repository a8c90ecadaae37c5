/**
 * The rig of the `lbuild size` tests: a project whose wheels have the shapes people trim (a
 * large module, tests, type stubs, a vendored package), and the reference numbers Python's
 * zipfile and csv modules give for a zip.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { TempProject } from '../helpers/project.js';
import { makeWheels } from '../fixtures/python/wheels.js';
import { ARCHITECTURE } from './rig.js';

/** Deterministic text that deflates to about half: hex digits from a fixed-seed generator. */
function filler(seed: number, lines: number): string {
  let state = seed;
  const out: string[] = [];
  for (let i = 0; i < lines; i++) {
    let hex = '';
    for (let k = 0; k < 8; k++) {
      state = (Math.imul(state, 1103515245) + 12345) >>> 0;
      hex += state.toString(16).padStart(8, '0');
    }
    out.push(`VALUE_${String(i)} = "${hex}"`);
  }
  return out.join('\n') + '\n';
}

/** The files of `heavy` the tests' exclude patterns leave out. */
export const HEAVY_TRIMMED = [
  'heavy/_vendor/__init__.py',
  'heavy/_vendor/six.py',
  'heavy/core.pyi',
  'heavy/tests/__init__.py',
  'heavy/tests/test_core.py',
];

/** Exclude patterns matching exactly {@link HEAVY_TRIMMED}. */
export const TRIM = ['**/tests/**', '**/*.pyi', 'heavy/_vendor/**'];

export function sizeToml(exclude: readonly string[] = []): string {
  return `[bundle.fn]
requirements = "requirements.txt"
sources      = ["app"]
files        = { "settings.json" = "settings.json" }
python       = "3.12"
architecture = "${ARCHITECTURE}"
find-links   = ["wheels"]
no-index     = true
exclude      = ${JSON.stringify(exclude)}
`;
}

/** A template made once per test file; {@link SizeTemplate.project} copies it. */
export class SizeTemplate {
  private constructor(readonly dir: string) {}

  static async create(): Promise<SizeTemplate> {
    const dir = mkdtempSync(join(tmpdir(), 'lbuild-size-template-'));
    mkdirSync(join(dir, 'wheels'));
    // One wheel per call: the generator takes its spec as one argument, which Linux limits to
    // 128 kB.
    await makeWheels(join(dir, 'wheels'), [
      {
        name: 'heavy',
        version: '2.1',
        files: {
          'heavy/__init__.py': 'from .core import *  # noqa\n',
          'heavy/core.py': filler(1, 800),
          'heavy/core.pyi': filler(2, 50),
          'heavy/tests/__init__.py': '',
          'heavy/tests/test_core.py': filler(3, 120),
          'heavy/_vendor/__init__.py': '',
          'heavy/_vendor/six.py': filler(4, 180),
        },
      },
    ]);
    await makeWheels(join(dir, 'wheels'), [
      {
        name: 'Light_Pkg',
        version: '1.0.post1',
        files: { 'light_pkg/__init__.py': filler(5, 100) },
      },
    ]);
    const files: Record<string, string> = {
      'requirements.txt': 'heavy==2.1\nlight-pkg==1.0.post1\n',
      'app/__init__.py': '',
      'app/handler.py': `import heavy\n\n\ndef handler(event, context):\n    return {"ok": True}\n${filler(6, 50)}`,
      'settings.json': '{"greeting": "hello"}\n',
      'lbuild.toml': sizeToml(),
    };
    for (const [rel, content] of Object.entries(files)) {
      mkdirSync(dirname(join(dir, rel)), { recursive: true });
      writeFileSync(join(dir, rel), content);
    }
    return new SizeTemplate(dir);
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

/** Sizes as Python's zipfile sees them. */
export interface PythonSizes {
  zipBytes: number;
  distributions: {
    name: string;
    version: string;
    distInfo: string;
    files: number;
    unzippedBytes: number;
    zippedBytes: number;
  }[];
  sources: { files: number; unzippedBytes: number; zippedBytes: number };
  extraFiles: { files: number; unzippedBytes: number; zippedBytes: number };
  totals: { files: number; unzippedBytes: number; zippedBytes: number };
  largest: string[];
  /** Per distribution, RECORD's paths (normalised), sorted. */
  records: Record<string, string[]>;
  /** Every file of the zip. */
  names: string[];
}

const PYTHON_SIZES = String.raw`
import csv, email.parser, io, json, os, posixpath, sys, zipfile
path, extra = sys.argv[1], set(json.loads(sys.argv[2]))
with zipfile.ZipFile(path) as z:
    infos = [i for i in z.infolist() if not i.is_dir()]
    tops = {i.filename.split("/")[0] for i in infos if "/" in i.filename}
    dists = sorted((t for t in tops if t.endswith(".dist-info")), key=lambda s: s.encode())
    owner, records = {}, {}
    for d in dists:
        rows = [r for r in csv.reader(io.StringIO(z.read(d + "/RECORD").decode())) if r and r[0]]
        records[d] = sorted(posixpath.normpath(r[0]) for r in rows)
        for p in records[d]:
            owner.setdefault(p, d)
    groups = {}
    def add(key, i):
        g = groups.setdefault(key, {"files": 0, "unzippedBytes": 0, "zippedBytes": 0})
        g["files"] += 1
        g["unzippedBytes"] += i.file_size
        g["zippedBytes"] += i.compress_size
    for i in infos:
        top = i.filename.split("/")[0]
        d = top if top.endswith(".dist-info") and "/" in i.filename else owner.get(i.filename)
        add(d if d else ("extra" if i.filename in extra else "source"), i)
        add("total", i)
    distributions = []
    for d in dists:
        meta = email.parser.Parser().parsestr(z.read(d + "/METADATA").decode())
        distributions.append(dict(name=meta["Name"], version=meta["Version"], distInfo=d, **groups[d]))
    distributions.sort(key=lambda d: (-d["unzippedBytes"], d["distInfo"].encode()))
    empty = {"files": 0, "unzippedBytes": 0, "zippedBytes": 0}
    largest = sorted(infos, key=lambda i: (-i.file_size, i.filename.encode()))[:20]
    print(json.dumps({
        "zipBytes": os.path.getsize(path),
        "distributions": distributions,
        "sources": groups.get("source", empty),
        "extraFiles": groups.get("extra", empty),
        "totals": groups["total"],
        "largest": [i.filename for i in largest],
        "records": records,
        "names": [i.filename for i in infos],
    }))
`;

export function pythonSizes(zip: string, extraFiles: readonly string[]): PythonSizes {
  return JSON.parse(
    execFileSync('python3', ['-c', PYTHON_SIZES, zip, JSON.stringify(extraFiles)], {
      encoding: 'utf8',
    }),
  ) as PythonSizes;
}

/** The sizes of some entries of a wheel, by Python's zipfile: what leaving them out saves. */
export function wheelEntrySizes(wheel: string, names: readonly string[]): number[] {
  return JSON.parse(
    execFileSync(
      'python3',
      [
        '-c',
        'import json, sys, zipfile; z = zipfile.ZipFile(sys.argv[1]); print(json.dumps([z.getinfo(n).file_size for n in json.loads(sys.argv[2])]))',
        wheel,
        JSON.stringify(names),
      ],
      { encoding: 'utf8' },
    ),
  ) as number[];
}

/** `lbuild size --json`, as far as the tests read it. */
export interface SizeJson {
  bundles: {
    bundle: string;
    zip: string;
    zipBytes: number;
    files: number;
    unzippedBytes: number;
    zippedBytes: number;
    share: number;
    limits: { unzippedBytes: number; directUploadBytes: number };
    headroom: { unzippedBytes: number; directUploadBytes: number };
    distributions: {
      name: string;
      version: string;
      distInfo: string;
      files: number;
      unzippedBytes: number;
      zippedBytes: number;
      share: number;
      excluded: { files: number; bytes: number };
    }[];
    sources: { files: number; unzippedBytes: number; zippedBytes: number; share: number };
    extraFiles: { files: number; unzippedBytes: number; zippedBytes: number; share: number };
    largestFiles: { path: string; unzippedBytes: number; zippedBytes: number; from: string }[];
  }[];
}
