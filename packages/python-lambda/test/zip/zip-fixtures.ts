import { execFileSync, spawnSync } from 'node:child_process';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { buildTree } from '../../src/tree/index.js';
import type { TreeManifest } from '../../src/tree/index.js';
import {
  PYTHON,
  distInfo,
  installArgs,
  makeHashFile,
  makeWheel,
  noise,
  wheelEntriesOnly,
} from '../tree/fixtures.js';

export interface PythonZipEntry {
  name: string;
  mode: number;
  date_time: number[];
  compress_type: number;
  flag_bits: number;
  create_system: number;
  extra: number;
  size: number;
  sha256: string;
}

export interface PythonZipReport {
  bad: string | null;
  entries: PythonZipEntry[];
}

const CHECK_ZIP = String.raw`
import hashlib, json, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as zf:
    report = {'bad': zf.testzip(), 'entries': [
        {'name': i.filename, 'mode': i.external_attr >> 16, 'date_time': list(i.date_time),
         'compress_type': i.compress_type, 'flag_bits': i.flag_bits, 'create_system': i.create_system,
         'extra': len(i.extra), 'size': i.file_size, 'sha256': hashlib.sha256(zf.read(i)).hexdigest()}
        for i in zf.infolist()]}
print(json.dumps(report))
`;

/** Reads a zip with Python's zipfile: testzip (every CRC), and each entry's metadata and content hash. */
export function pythonZipReport(zip: string): PythonZipReport {
  const stdout = execFileSync(PYTHON, ['-c', CHECK_ZIP, zip], { maxBuffer: 256 * 1024 * 1024 });
  return JSON.parse(stdout.toString('utf8')) as PythonZipReport;
}

export const hasUnzip = spawnSync('unzip', ['-v']).status === 0;

/** `unzip -t`: Info-ZIP's own test of every entry. */
export function unzipTest(zip: string): string {
  return execFileSync('unzip', ['-tq', zip]).toString('utf8');
}

export const PY_SOURCE = Array.from(
  { length: 200 },
  (_, i) => `def function_${String(i)}(value):\n    return value * ${String(i)} + 1\n`,
).join('\n');

export interface Project {
  dir: string;
  wheels: string[];
  files: { zipPath: string; file: string }[];
  /** Expected content of every zip path. */
  contents: Map<string, Buffer>;
}

/** A project with every kind of entry: see the comments for which path each writer case takes. */
export async function makeProject(dir: string): Promise<Project> {
  await mkdir(join(dir, 'wheels'), { recursive: true });
  await mkdir(join(dir, 'src'), { recursive: true });
  const contents = new Map<string, Buffer>();
  const big = Buffer.from(PY_SOURCE.repeat(30)); // ~1.6 MB, compressible: deflated in a worker
  const so = noise(100_000, 7); // incompressible
  const wheelEntries = [
    { name: 'lib/__init__.py', data: PY_SOURCE }, // deflated by the wheel: copied
    { name: 'lib/_native.so', data: so }, // deflated without gain by the wheel: inflated, stored
    { name: 'lib/stored.py', data: PY_SOURCE, store: true }, // stored by the wheel: deflated by fflate
    { name: 'lib/stored.bin', data: noise(5000, 3), store: true }, // stored, incompressible: stays stored
    { name: 'lib/empty.py', data: '' },
    { name: 'lib/tool.sh', data: '#!/bin/sh\necho hi\n', mode: 0o100755 },
    { name: 'lib-1.0.data/purelib/lib_extra.py', data: 'EXTRA = 1\n' },
    { name: 'lib-1.0.data/platlib/lib/_plat.py', data: 'PLAT = 1\n' },
    { name: 'lib-1.0.data/scripts/lib-cli', data: '#!python\n', mode: 0o100755 },
    ...distInfo('lib'),
  ];
  const wheel = makeWheel(
    join(dir, 'wheels', 'lib-1.0-cp311-cp311-linux_x86_64.whl'),
    wheelEntries,
  );
  for (const entry of wheelEntries) {
    if (entry.name.includes('.data/scripts/') || entry.name.endsWith('.dist-info/RECORD')) continue;
    const path = entry.name.replace(/^lib-1\.0\.data\/(purelib|platlib)\//, '');
    contents.set(path, Buffer.from(entry.data ?? ''));
  }
  const files: { zipPath: string; file: string }[] = [];
  const add = async (zipPath: string, data: string | Buffer, mode = 0o644): Promise<void> => {
    const file = join(dir, 'src', zipPath.replaceAll('/', '__'));
    await writeFile(file, data);
    await chmod(file, mode);
    files.push({ zipPath, file });
    contents.set(zipPath, Buffer.from(data));
  };
  await add('handler.py', 'import lib\n\ndef handler(event, context):\n    return lib\n');
  await add('app/big_module.py', big);
  await add('app/model.bin', noise(200_000, 11)); // incompressible: stored
  await add('app/empty.txt', '');
  await add('app/données/café.py', 'NAME = "café"\n'); // non-ASCII name: UTF-8 flag
  await add('bootstrap', '#!/bin/sh\nexec python3 -m awslambdaric "$@"\n', 0o755);
  return { dir, wheels: [wheel], files, contents };
}

/** The project's tree, without the files the installer writes (see wheelEntriesOnly). */
export async function treeOf(project: Project): Promise<TreeManifest> {
  return wheelEntriesOnly(
    await buildTree({
      ...installArgs(project.dir),
      wheels: project.wheels,
      files: project.files,
      hashFile: makeHashFile().hashFile,
    }),
  );
}

/**
 * What of a manifest decides the zip's bytes (with the writer's level and ZIP_FORMAT_ID): each
 * entry's path, mode, size and contentKey, and whether a wheel entry is recompressed. Where the
 * bytes are read from is left out.
 */
export function zipContent(manifest: TreeManifest): unknown[] {
  return manifest.entries.map((entry) => [
    entry.path,
    entry.mode,
    entry.size,
    entry.contentKey,
    entry.source.kind === 'wheel' && entry.source.recompress === true,
  ]);
}
