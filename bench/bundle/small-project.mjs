// The seed-like "small" project's parts, shared by bench/bundle and bench/monorepo: seven pure
// wheels like an HTTP client with its dependencies and a date library (~2.5 MB unzipped, a chain
// of dependencies among them) and a function's own package (a handler and a dozen modules), all
// made from a seeded PRNG, so every run gets the same bytes.
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const MAKE_WHEELS = join(
  dirname(fileURLToPath(import.meta.url)),
  '..',
  '..',
  'test',
  'fixtures',
  'python',
  'make_wheels.py',
);

/** mulberry32: small, fast, seeded. */
export function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Plausible Python source of about `bytes` bytes. */
export function pythonModule(random, bytes) {
  const words =
    'value result data item key config request response client session event handler name path line error status token record query params options timeout retry buffer'.split(
      ' ',
    );
  const w = () => words[Math.floor(random() * words.length)];
  let out = '"""Generated module for the lbuild bundle benchmark."""\n\nimport json\nimport os\n\n';
  let i = 0;
  while (out.length < bytes) {
    i++;
    out += `\ndef ${w()}_${w()}_${i}(${w()}, ${w()}=None):\n    """Return the ${w()} of the ${w()}."""\n    if ${w()} is None:\n        ${w()} = ${Math.floor(random() * 1000)}\n    return {"${w()}": ${w()}, "${w()}": json.dumps(${w()})}\n`;
  }
  return out;
}

export function writeFile(path, content) {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, content);
}

/** make_wheels.py's wheel writer, fed on stdin (a spec can exceed the 128 KiB of one argument). */
const WHEELS_FROM_STDIN = String.raw`
import json, sys
sys.path.insert(0, sys.argv[1])
import make_wheels
spec = json.load(sys.stdin)
print(json.dumps([make_wheels._wheel_from_spec(spec["out"], w) for w in spec["wheels"]]))
`;

/**
 * Writes the seven wheels into `out` and returns their requirement lines (`name==version`).
 * `env` is the environment python3 runs in.
 */
export function writeSmallWheels(random, out, env) {
  const wheel = (name, version, modules, avgBytes, deps = [], extra = {}) => {
    const files = { [`${name}/__init__.py`]: `__version__ = "${version}"\n`, ...extra };
    for (let i = 0; i < modules; i++)
      files[`${name}/${i % 3 === 0 ? 'util/' : ''}mod${i}.py`] = pythonModule(
        random,
        Math.floor(avgBytes * (0.3 + 1.4 * random())),
      );
    return { name, version, deps, files };
  };
  const pem = () => {
    let text = '';
    for (let i = 0; i < 140; i++) {
      text += `# Issuer: CN=Example Root CA ${i}\n-----BEGIN CERTIFICATE-----\n`;
      for (let l = 0; l < 25; l++)
        text +=
          Buffer.from(Array.from({ length: 48 }, () => Math.floor(random() * 256))).toString(
            'base64',
          ) + '\n';
      text += '-----END CERTIFICATE-----\n\n';
    }
    return text;
  };
  const wheels = [
    wheel('tinyhttp', '2.31.0', 40, 14_000, [
      'charsetish>=3',
      'idnaish>=3',
      'certish',
      'urlish>=1.21',
    ]),
    wheel('urlish', '2.2.1', 45, 12_000),
    wheel('charsetish', '3.3.2', 20, 16_000),
    wheel('idnaish', '3.7', 8, 40_000),
    wheel('certish', '2024.2.2', 2, 1_000, [], { 'certish/cacert.pem': pem() }),
    wheel('dateish', '2.9.0', 30, 20_000, ['sixish']),
    wheel('sixish', '1.16.0', 1, 30_000),
  ];
  const result = spawnSync('python3', ['-c', WHEELS_FROM_STDIN, dirname(MAKE_WHEELS)], {
    input: JSON.stringify({ out, wheels }),
    env: { ...env, SOURCE_DATE_EPOCH: '315532800', PYTHONDONTWRITEBYTECODE: '1' },
    encoding: 'utf8',
    maxBuffer: 1 << 24,
  });
  if (result.status !== 0)
    throw new Error(`making the wheels failed: ${result.error ?? result.stderr}`);
  return wheels.map((w) => `${w.name}==${w.version}`);
}

/** A function's package in `dir`: `__init__.py`, `handler.py` and a dozen modules. */
export function writeFunctionPackage(random, dir) {
  writeFile(join(dir, '__init__.py'), '');
  writeFile(
    join(dir, 'handler.py'),
    'import json\nimport os\n\nimport tinyhttp\n\nFUNCTION_DIRECTORY = os.path.dirname(os.path.dirname(__file__))\n\n\ndef handler(event, context):\n    with open(os.path.join(FUNCTION_DIRECTORY, "settings.json")) as f:\n        return json.load(f)\n',
  );
  for (let i = 0; i < 12; i++)
    writeFile(
      join(dir, i < 6 ? 'core' : 'api', `m${i}.py`),
      pythonModule(random, 3_000 + Math.floor(random() * 6_000)),
    );
}
