// Run in a child process (bundled by the test with esbuild): writes a zip from a manifest file
// and prints the ZipResult as JSON. argv: manifest.json output.zip cacheDir [level]
import { readFile } from 'node:fs/promises';
import { writeZip } from '../../src/zip/index.js';
import type { TreeManifest } from '../../src/tree/index.js';

const [manifestPath, output, cacheDir, level] = process.argv.slice(2) as [
  string,
  string,
  string,
  string | undefined,
];
const manifest = JSON.parse(await readFile(manifestPath, 'utf8')) as TreeManifest;
const result = await writeZip(manifest, {
  output,
  cacheDir,
  level: level === undefined ? undefined : Number(level),
});
process.stdout.write(JSON.stringify(result));
