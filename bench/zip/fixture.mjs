// Builds the benchmark's synthetic project, deterministically (seeded PRNG), under
// bench/.work/zip/fixture: ~20 wheels made with Python's zipfile (as wheels are made) holding
// compressible .py text and incompressible .so-like binaries, plus a project source folder.
// Reused when its marker file says it was made with the same parameters.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

export const PARAMS = {
  version: 1,
  wheels: 20,
  pyFilesPerWheel: 130,
  pyBytesAvg: 38_000,
  soFilesPerWheel: 7,
  soBytesAvg: 500_000,
  projectFiles: 40,
  projectBytesAvg: 20_000,
};

/** mulberry32: small, fast, seeded. */
function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const WORDS = (
  'self value result data item items key keys config request response client session context event handler ' +
  'index count total name path file line error message status code token user account record records table ' +
  'query params args kwargs options default timeout retry buffer stream chunk offset length size batch'
).split(' ');
const TEMPLATES = [
  (w, n) =>
    `def ${w()}_${w()}(${w()}, ${w()}=None):\n    """Return the ${w()} for ${w()} ${n}."""\n`,
  (w, n) => `    if ${w()} is None:\n        ${w()} = ${n}\n`,
  (w) => `    ${w()} = ${w()}.get("${w()}", ${w()})\n`,
  (w, n) => `    for ${w()} in range(${n}):\n        ${w()}.append(${w()}[${w()}])\n`,
  (w) => `    return ${w()}(${w()}, ${w()}=${w()})\n\n`,
  (w, n) => `class ${w().toUpperCase()}${w()}${n}(object):\n    ${w()} = ${n}\n\n`,
  (w) => `    raise ValueError("unexpected ${w()}: %r" % (${w()},))\n`,
  (w, n) => `# ${w()} ${w()} ${w()} ${n}\n`,
];

function pythonText(random, bytes) {
  const w = () => WORDS[Math.floor(random() * WORDS.length)];
  const parts = [];
  let size = 0;
  while (size < bytes) {
    const line = TEMPLATES[Math.floor(random() * TEMPLATES.length)](
      w,
      Math.floor(random() * 10_000),
    );
    parts.push(line);
    size += line.length;
  }
  return parts.join('').slice(0, bytes);
}

function noise(random, bytes) {
  const out = Buffer.allocUnsafe(bytes);
  let x = Math.floor(random() * 0xffffffff) | 1;
  for (let i = 0; i + 4 <= bytes; i += 4) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out.writeInt32LE(x | 0, i);
  }
  for (let i = bytes & ~3; i < bytes; i++) out[i] = 0x5a;
  return out;
}

const PACK = String.raw`
import json, os, sys, zipfile
spec = json.load(sys.stdin)
method = zipfile.ZIP_STORED if spec['stored'] else zipfile.ZIP_DEFLATED
for wheel in spec['wheels']:
    with zipfile.ZipFile(wheel['out'], 'w', method) as zf:
        for name in wheel['names']:
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = 0o100644 << 16
            info.compress_type = method
            with open(os.path.join(wheel['root'], name), 'rb') as f:
                zf.writestr(info, f.read())
`;

/**
 * Makes (or reuses) the fixture; returns { wheels, files, projectDir }. With `stored`, the wheels
 * hold their entries uncompressed (same content), so that every byte goes through fflate.
 */
export function ensureFixture(root, { stored = false } = {}) {
  const marker = join(root, 'params.json');
  const layoutFile = join(root, 'layout.json');
  const params = JSON.stringify({ ...PARAMS, stored });
  if (existsSync(marker) && readFileSync(marker, 'utf8') === params && existsSync(layoutFile)) {
    return JSON.parse(readFileSync(layoutFile, 'utf8'));
  }
  rmSync(root, { recursive: true, force: true });
  const random = prng(20240611);
  const staging = join(root, 'staging');
  const wheelDir = join(root, 'wheels');
  const projectDir = join(root, 'project');
  mkdirSync(wheelDir, { recursive: true });
  const spec = [];
  const around = (avg) => Math.max(200, Math.floor(avg * (0.25 + 1.5 * random())));
  for (let i = 0; i < PARAMS.wheels; i++) {
    const name = `pkg${String(i).padStart(2, '0')}`;
    const wheelRoot = join(staging, name);
    const names = [];
    const put = (rel, data) => {
      const file = join(wheelRoot, rel);
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, data);
      names.push(rel);
    };
    for (let j = 0; j < PARAMS.pyFilesPerWheel; j++) {
      put(
        `${name}/sub${String(j % 9)}/mod${String(j)}.py`,
        pythonText(random, around(PARAMS.pyBytesAvg)),
      );
    }
    for (let j = 0; j < PARAMS.soFilesPerWheel; j++) {
      put(
        `${name}/_native${String(j)}.cpython-311-x86_64-linux-gnu.so`,
        noise(random, around(PARAMS.soBytesAvg)),
      );
    }
    const info = `${name}-1.0.dist-info`;
    put(`${info}/METADATA`, `Metadata-Version: 2.1\nName: ${name}\nVersion: 1.0\n`);
    put(
      `${info}/WHEEL`,
      'Wheel-Version: 1.0\nGenerator: bench\nRoot-Is-Purelib: false\nTag: cp311-cp311-linux_x86_64\n',
    );
    put(`${info}/RECORD`, names.map((n) => `${n},,`).join('\n') + '\n');
    spec.push({
      root: wheelRoot,
      out: join(wheelDir, `${name}-1.0-cp311-cp311-linux_x86_64.whl`),
      names: names.sort(),
    });
  }
  execFileSync('python3', ['-c', PACK], {
    input: JSON.stringify({ stored, wheels: spec }),
    stdio: ['pipe', 'inherit', 'inherit'],
  });
  rmSync(staging, { recursive: true, force: true });
  const files = [];
  for (let j = 0; j < PARAMS.projectFiles; j++) {
    const rel = j === 0 ? 'handler.py' : `app/part${String(j % 5)}/m${String(j)}.py`;
    const file = join(projectDir, rel);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, pythonText(random, around(PARAMS.projectBytesAvg)));
    files.push({ zipPath: rel, file });
  }
  const layout = { wheels: spec.map((w) => w.out), files, projectDir };
  writeFileSync(layoutFile, JSON.stringify(layout, null, 2));
  writeFileSync(marker, params);
  return layout;
}
