import { basename } from 'node:path';
import { buildError } from '@lbuild/core';
import {
  fixShebang,
  isEntryPointWrapper,
  parseEntryPoints,
  scriptFor,
  scriptSpecs,
  type ScriptEntryPoints,
} from './entry-points.js';
import { formatRecord, parseRecord, recordHash, type RecordRow } from './record.js';
import { readWheelEntryContent, type WheelFileEntry, type WheelListing } from './wheel.js';
import { lambdaInterpreter } from './versions.js';
import { isPySource } from './bytecode.js';

/**
 * What an installer writes into `.dist-info/INSTALLER`. pip writes "pip"; lbuild is the tool that
 * installed these files, and the packaging spec asks for the installer's name.
 */
export const INSTALLER = 'lbuild\n';

export { INSTALL_LAYOUT, lambdaInterpreter } from './versions.js';

/** A file whose bytes the installer writes, rather than copies from the wheel. */
export interface WrittenFile {
  path: string;
  content: Buffer;
  executable: boolean;
  /** For messages: what made it. */
  what: string;
}

/** One wheel installed as `pip install --target` installs it, for one Lambda runtime. */
export interface InstallPlan {
  /** Files copied from the wheel as they are. */
  copied: WheelFileEntry[];
  /** Rewritten scripts, generated wrappers, INSTALLER and RECORD. */
  written: WrittenFile[];
  /** Files the bundle's `exclude` left out: their installed path and size. */
  excluded: { path: string; size: number }[];
}

/** A `.py` file the wheel installs, for {@link PlanBytecode}. */
export interface InstalledSource {
  path: string;
  /** Copied from the wheel as it is. */
  entry?: WheelFileEntry;
  /** Written by the installer (a script with the runtime's interpreter). */
  content?: Buffer;
}

/**
 * Compiles the `.py` files a wheel installs: their pycs, as files to write, named by their
 * paths. A source that gets none is simply not in the result.
 */
export type PlanBytecode = (sources: InstalledSource[]) => Promise<WrittenFile[]>;

/**
 * Installs a wheel's listing as pip does into a target directory, with the runtime's Python
 * (`python`, e.g. "3.12") where pip would use the interpreter it runs under:
 * - a `.data/scripts` file whose first line starts with `#!python` gets the runtime's
 *   interpreter (`/var/lang/bin/python3.12`, what pip writes when it runs on Lambda) instead of
 *   the build machine's, so the bytes are the same on every machine; other scripts are copied;
 *   wrappers setuptools made for entry points are left out;
 * - each `console_scripts` and `gui_scripts` entry point gets pip's wrapper in `bin/`;
 * - `.dist-info/INSTALLER` names lbuild, and `.dist-info/RECORD` is rewritten as pip rewrites
 *   it (installed paths, new hashes for changed files, rows for generated ones), with paths
 *   relative to the bundle root, which is the site directory on Lambda.
 * - with `bytecode`, each `.py` file installed gets its pyc, listed in RECORD with its hash and
 *   size as pip lists the pycs it compiles (one the wheel ships at that path is replaced).
 * pip's other additions are left out because they would make the zip depend on the build
 * machine or on how a requirement was written, and nothing in Lambda reads them: no bytecode
 * of the build machine's Python, no `direct_url.json` (the wheel's path on the build
 * machine), no `REQUESTED` (whether a requirement was named or pulled in).
 */
export async function planInstall(
  wheel: string,
  listing: WheelListing,
  python: string,
  exclude: (path: string) => boolean = () => false,
  bytecode?: PlanBytecode,
): Promise<InstallPlan> {
  const interpreter = lambdaInterpreter(python);
  const { distInfo, files } = listing;
  const read = (file: WheelFileEntry) => readWheelEntryContent({ ...file, wheel });
  const recordPath = `${distInfo}/RECORD`;
  const installerPath = `${distInfo}/INSTALLER`;
  const byPath = new Map(files.filter((f) => f.scheme === 'root').map((f) => [f.path, f]));
  const entryPointsFile = byPath.get(`${distInfo}/entry_points.txt`);
  const points: ScriptEntryPoints = entryPointsFile
    ? parseEntryPoints((await read(entryPointsFile)).toString('utf8'))
    : { console: new Map(), gui: new Map() };

  // The `.dist-info` folder is never left out: importlib.metadata reads it (many packages look up
  // their own version when imported), and it is what ties every other file to its distribution.
  const isExcluded = (path: string) => !path.startsWith(`${distInfo}/`) && exclude(path);
  const copied: WheelFileEntry[] = [];
  const written: WrittenFile[] = [];
  const excluded: InstallPlan['excluded'] = [];
  /** Archive path → installed path, as pip's RECORD rewrite maps them. */
  const installed = new Map<string, string>();
  const changed = new Map<string, Buffer>();
  for (const file of files) {
    if (file.scheme === 'scripts' && isEntryPointWrapper(basename(file.path), points)) continue;
    if (isExcluded(file.path)) {
      installed.set(file.entryName, file.path);
      excluded.push({ path: file.path, size: file.size });
      continue;
    }
    if (file.scheme === 'scripts') {
      const fixed = fixShebang(await read(file), interpreter);
      installed.set(file.entryName, file.path);
      if (fixed === null) {
        copied.push(file);
        continue;
      }
      changed.set(file.path, fixed);
      written.push({
        path: file.path,
        content: fixed,
        executable: file.executable,
        what: `script "${file.entryName}" of ${basename(wheel)}, with the runtime's interpreter`,
      });
      continue;
    }
    installed.set(file.entryName, file.path);
    if (file.path !== recordPath && file.path !== installerPath) copied.push(file);
  }

  const generated: WrittenFile[] = [];
  const scripts = new Map<string, Buffer>();
  for (const spec of scriptSpecs(points, python)) {
    const script = scriptFor(spec, interpreter);
    if (!script.ok) {
      throw buildError(
        'bad-entry-point',
        `Wheel ${basename(wheel)} declares the script entry point "${script.spec}", which pip refuses: ${script.why}.`,
        { hint: 'Use another version of the package, or report it to whoever published it.' },
      );
    }
    scripts.set(script.name, Buffer.from(script.text, 'utf8'));
  }
  for (const [name, content] of scripts) {
    if (isExcluded(`bin/${name}`)) {
      excluded.push({ path: `bin/${name}`, size: content.length });
      continue;
    }
    generated.push({
      path: `bin/${name}`,
      content,
      executable: true,
      what: `the wrapper for entry point "${name}" of ${basename(wheel)}`,
    });
  }
  generated.push({
    path: installerPath,
    content: Buffer.from(INSTALLER),
    executable: false,
    what: `the INSTALLER lbuild writes for ${basename(wheel)}`,
  });

  const pycPaths = new Set<string>();
  if (bytecode !== undefined) {
    const sources: InstalledSource[] = [
      ...copied
        .filter((file) => isPySource(file.path))
        .map((entry) => ({ path: entry.path, entry })),
      ...written
        .filter((file) => isPySource(file.path))
        .map((file) => ({ path: file.path, content: file.content })),
    ];
    const pycs = await bytecode(sources);
    for (const pyc of pycs) pycPaths.add(pyc.path);
    // A pyc the wheel ships where ours goes is replaced (its row too), as pip's compile
    // overwrites it.
    for (let i = copied.length - 1; i >= 0; i--)
      if (pycPaths.has(copied[i]?.path ?? '')) copied.splice(i, 1);
    generated.push(...pycs);
  }

  const recordFile = byPath.get(recordPath);
  const oldRows = recordFile ? parseRecord((await read(recordFile)).toString('utf8')) : [];
  const rows: RecordRow[] = [];
  for (const row of oldRows) {
    const archivePath = row[0] ?? '';
    const path = installed.get(archivePath) ?? archivePath;
    installed.delete(archivePath);
    if (pycPaths.has(path)) continue;
    // RECORD lists what is installed: a row for a file left out would name a missing file
    // (pip's uninstall and importlib.metadata.files() would stumble on it).
    if (isExcluded(path)) continue;
    const content = changed.get(path);
    rows.push(
      content === undefined
        ? [path, row[1] ?? '', row[2] ?? '']
        : [path, recordHash(content), String(content.length)],
    );
  }
  for (const file of generated)
    rows.push([file.path, recordHash(file.content), String(file.content.length)]);
  for (const path of installed.values())
    if (!isExcluded(path) && !pycPaths.has(path)) rows.push([path, '', '']);
  written.push(...generated, {
    path: recordPath,
    content: Buffer.from(formatRecord(rows), 'utf8'),
    executable: false,
    what: `the RECORD lbuild writes for ${basename(wheel)}`,
  });
  return { copied, written, excluded };
}
