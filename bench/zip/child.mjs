// One measured build in a fresh process (so peak RSS is this build's): tree + zip.
// argv[2]: JSON { lib, layout, output, cacheDir, writtenDir, level, hashCache }
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';

const config = JSON.parse(process.argv[2]);
const { buildTree, writeZip, contentHashOf, loadContentHash } = await import(config.lib);
await loadContentHash();

// The engine's memoised content hash, with a stat-keyed cache across runs as the engine keeps
// (unchanged files are not read again).
const stored =
  config.hashCache && existsSync(config.hashCache)
    ? JSON.parse(readFileSync(config.hashCache, 'utf8'))
    : {};
const memo = new Map();
let hashedBytes = 0;
function hashFile(path) {
  let result = memo.get(path);
  if (result === undefined) {
    result = (async () => {
      const info = statSync(path);
      const key = `${info.size}:${info.mtimeMs}`;
      if (stored[path]?.key === key) return stored[path].hash;
      // The engine's content hash (xxh64): the zip writer checks project files against it.
      const digest = contentHashOf(await readFile(path));
      hashedBytes += info.size;
      stored[path] = { key, hash: digest };
      return digest;
    })();
    memo.set(path, result);
  }
  return result;
}

const t0 = performance.now();
const manifest = await buildTree({
  wheels: config.layout.wheels,
  files: config.layout.files,
  hashFile,
  python: '3.12',
  writtenDir: config.writtenDir,
});
const t1 = performance.now();
const result = await writeZip(manifest, {
  output: config.output,
  cacheDir: config.cacheDir,
  level: config.level,
});
const t2 = performance.now();
if (config.hashCache) writeFileSync(config.hashCache, JSON.stringify(stored));
process.stdout.write(
  JSON.stringify({
    treeMs: t1 - t0,
    zipMs: t2 - t1,
    totalMs: t2 - t0,
    hashedBytes,
    maxRssMB: process.resourceUsage().maxRSS / 1024,
    result,
  }),
);
