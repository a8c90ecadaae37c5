import { createHash } from 'node:crypto';
import { mkdir, readFile, readdir, rm, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { buildError, excludeMatcher, mapLimit, writeFileAtomic } from '@lbuild/core';
import { contentHashOf, loadContentHash } from '../zip/content-hash.js';
import { crc32 } from '../zip/crc32.js';
import {
  isPySource,
  pycPath,
  type PycCompiler,
  type PySource,
  type UncompiledFile,
} from './bytecode.js';
import { planInstall, type InstalledSource, type WrittenFile } from './install.js';
import type {
  ExcludedFile,
  FileTreeEntry,
  TreeEntry,
  TreeManifest,
  WheelTreeEntry,
} from './manifest.js';
import { TREE_MANIFEST_VERSION, comparePaths } from './manifest.js';
import { unsafePathReason } from './paths.js';
import { readWheel, readWheelEntryContent } from './wheel.js';

export interface BuildTreeArgs {
  /** Absolute paths of the staged `.whl` files. */
  wheels: string[];
  /** Project sources and extra files, already listed and filtered; `zipPath` uses '/'. */
  files: { zipPath: string; file: string }[];
  /**
   * The engine's memoised content hash of a file; the only way this module hashes anything. It
   * must be the hash of @lbuild/core's hashFileContent (xxh64, 16 hex digits), taken before the
   * tree target ran: it becomes a project file's contentKey, and the zip writer checks the bytes
   * it zips against it (zip/content-hash.ts).
   */
  hashFile: (absolutePath: string) => Promise<string>;
  /**
   * Wheels (absolute paths, as in `wheels`) built on this machine, from local path requirements.
   * Their entries get `source.recompress: true`, so the zip writer deflates their content with
   * fflate instead of copying the deflated data the build machine's zlib produced (see
   * WheelEntrySource.recompress). Paths that are not in `wheels` are ignored.
   */
  recompressWheels?: ReadonlySet<string>;
  /**
   * The Lambda runtime's Python, e.g. "3.12": the interpreter on the `#!` line of the scripts
   * the wheels install (see planInstall).
   */
  python: string;
  /**
   * Globs (as an input spec's `exclude`) matched against the path each wheel's file would have in
   * the bundle: the files they match are left out, and their rows out of the wheel's RECORD. A
   * wheel's `.dist-info` folder is always kept.
   */
  exclude?: readonly string[];
  /**
   * Where the files an installer writes (rewritten scripts, entry-point wrappers, INSTALLER,
   * RECORD) are kept, named by the SHA-256 of their content; this function owns the directory
   * and removes what it no longer lists. The zip reads them from there.
   */
  writtenDir: string;
  /**
   * Compile every `.py` file of the bundle (the wheels' files and the project's, after
   * `exclude`) into its `__pycache__` pyc with this compiler; the pycs of a wheel's files are
   * listed in its RECORD. A file that does not compile ships without one, and is handed to
   * `onUncompiled` with the reason. Without it, no pyc is made.
   */
  bytecode?: { compiler: PycCompiler; onUncompiled?: (files: UncompiledFile[]) => void };
  signal?: AbortSignal;
}

/** Largest entry whose bytes are compared in memory when two sources claim the same path. */
const MAX_COMPARED_BYTES = 256 * 1024 * 1024;

/**
 * Lists the bundle: every file of every wheel as `pip install --target` installs it (see
 * `readWheel` for the mapping and what is refused, and `planInstall` for the files an installer
 * writes) and every project file, sorted bytewise by zip path.
 *
 * Two sources with the same zip path:
 * - the same bytes: fine, one entry is kept (a project file rather than a wheel entry, else the
 *   wheel whose file name sorts first, so the choice does not depend on argument order); the
 *   entry is executable if either source is;
 * - different bytes: refused with reason `duplicate-zip-path`, naming both. A project file
 *   never silently overrides a wheel's file: shadowing an installed module is almost always a
 *   mistake, and when it is not, the fix (exclude the file, or drop the dependency) is explicit.
 *
 * A path that is a file in one source and a directory in another (`pkg` and `pkg/x.py`) is
 * refused with reason `zip-path-conflict`. Directory entries are never emitted: Lambda extracts
 * files into their directories without them, and leaving them out keeps the zip smaller and the
 * manifest free of a second kind of entry.
 */
export async function buildTree(args: BuildTreeArgs): Promise<TreeManifest> {
  const { signal } = args;
  signal?.throwIfAborted();

  await mkdir(args.writtenDir, { recursive: true });
  const writtenNames = new Map<string, Promise<void>>();
  const isExcluded = excludeMatcher(args.exclude ?? []);
  const excluded: ExcludedFile[] = [];
  const uncompiled: UncompiledFile[] = [];
  const compiler = args.bytecode?.compiler;
  /** The pycs of `sources` as files to write; the ones that do not compile are noted. */
  const compile = async (sources: PySource[], what: string): Promise<WrittenFile[]> => {
    if (compiler === undefined || sources.length === 0) return [];
    const results = await compiler.compile(sources, signal);
    return sources.flatMap((source, i): WrittenFile[] => {
      const result = results[i];
      if (result === undefined) return [];
      if (!result.ok) {
        uncompiled.push({ path: source.path, error: result.error });
        return [];
      }
      return [
        {
          path: pycPath(source.path, compiler.cacheTag),
          content: result.pyc,
          executable: false,
          what: `the bytecode of "${source.path}" (${what})`,
        },
      ];
    });
  };
  const wheelEntries = (
    await mapLimit(args.wheels, 4, async (wheel) => {
      signal?.throwIfAborted();
      const [wheelHash, listing] = await Promise.all([
        args.hashFile(wheel),
        readWheel(wheel, signal),
      ]);
      const wheelSource = (source: InstalledSource): PySource => {
        const { entry, content } = source;
        if (entry === undefined) {
          const bytes = content ?? Buffer.alloc(0);
          const key = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
          return { path: source.path, key, read: () => Promise.resolve(bytes) };
        }
        return {
          path: source.path,
          key: wheelContentKey(wheelHash, entry.entryName, entry.crc32, entry.size),
          read: async () => {
            const bytes = await readWheelEntryContent({ ...entry, wheel });
            if (bytes.length !== entry.size || crc32(bytes) !== entry.crc32) {
              throw buildError(
                'source-changed',
                `The content of "${entry.entryName}" in ${wheel} is not what its central directory says: the wheel changed while the tree was built.`,
                { hint: 'Build again.' },
              );
            }
            return bytes;
          },
        };
      };
      const plan = await planInstall(
        wheel,
        listing,
        args.python,
        isExcluded,
        compiler && ((sources) => compile(sources.map(wheelSource), basename(wheel))),
      );
      for (const file of plan.excluded) excluded.push({ ...file, distInfo: listing.distInfo });
      const written = await mapLimit(plan.written, 8, (file) =>
        writtenEntry(file, args.writtenDir, writtenNames, args.hashFile),
      );
      const recompress = args.recompressWheels?.has(wheel) === true;
      const copied = plan.copied.map((file): WheelTreeEntry => ({
        path: file.path,
        mode: file.executable ? 0o755 : 0o644,
        size: file.size,
        crc32: file.crc32,
        contentKey: wheelContentKey(wheelHash, file.entryName, file.crc32, file.size),
        source: {
          kind: 'wheel',
          wheel,
          entryName: file.entryName,
          method: file.method,
          compressedSize: file.compressedSize,
          localHeaderOffset: file.localHeaderOffset,
          ...(recompress ? { recompress: true } : {}),
        },
      }));
      return [...copied, ...written];
    })
  ).flat();
  const fileEntries = await mapLimit(
    args.files,
    16,
    async ({ zipPath, file }): Promise<FileTreeEntry> => {
      signal?.throwIfAborted();
      const why = unsafePathReason(zipPath);
      if (why !== null) {
        throw buildError(
          'unsafe-zip-path',
          `The zip path "${zipPath}" of ${file} is unsafe: ${why}.`,
          {
            hint: "Give project files relative, '/'-separated paths inside the bundle.",
          },
        );
      }
      const [info, contentKey] = await Promise.all([stat(file), args.hashFile(file)]);
      if (!info.isFile()) {
        throw buildError(
          'not-a-file',
          `${file} is not a regular file, so it cannot go into the bundle as "${zipPath}".`,
        );
      }
      return {
        path: zipPath,
        mode: (info.mode & 0o111) !== 0 ? 0o755 : 0o644,
        size: info.size,
        crc32: null,
        contentKey,
        source: { kind: 'file', file },
      };
    },
  );

  const projectPycs = await mapLimit(
    await compile(
      fileEntries.filter((entry) => isPySource(entry.path)).map(projectSource),
      'project file',
    ),
    8,
    (file) => writtenEntry(file, args.writtenDir, writtenNames, args.hashFile),
  );
  await removeUnlisted(args.writtenDir, writtenNames);
  if (uncompiled.length > 0) {
    uncompiled.sort((a, b) => comparePaths(a.path, b.path));
    args.bytecode?.onUncompiled?.(uncompiled);
  }

  signal?.throwIfAborted();
  const candidates: TreeEntry[] = [...fileEntries, ...wheelEntries, ...projectPycs];
  candidates.sort((a, b) => comparePaths(a.path, b.path) || compareSources(a, b));

  const entries: TreeEntry[] = [];
  for (const candidate of candidates) {
    const kept = entries.at(-1);
    if (kept?.path !== candidate.path) {
      entries.push(candidate);
      continue;
    }
    if (!(await sameContent(kept, candidate))) {
      throw buildError(
        'duplicate-zip-path',
        `Two sources put different content at "${candidate.path}": ${describe(kept)} and ${describe(candidate)}.`,
        {
          hint:
            isProjectFile(candidate) || isProjectFile(kept)
              ? 'Exclude the project file from the bundle, or rename it; lbuild never lets one silently replace the other.'
              : 'Two wheels install the same file; drop one of the requirements.',
        },
      );
    }
    if (candidate.mode === 0o755) kept.mode = 0o755;
  }

  checkFileDirectoryConflicts(entries);
  excluded.sort((a, b) => comparePaths(a.path, b.path) || comparePaths(a.distInfo, b.distInfo));
  return {
    version: TREE_MANIFEST_VERSION,
    entries,
    ...(excluded.length > 0 ? { excluded } : {}),
  };
}

/** A project file to compile: its bytes are checked against the hash the engine took. */
function projectSource(entry: FileTreeEntry): PySource {
  return {
    path: entry.path,
    key: entry.contentKey,
    read: async () => {
      const bytes = await readFile(entry.source.file);
      await loadContentHash();
      if (contentHashOf(bytes) !== entry.contentKey) {
        throw buildError(
          'input-changed-during-run',
          `${entry.source.file} changed while the tree was being built (it goes into the zip as "${entry.path}"); run lbuild again.`,
          {
            hint: 'The next build compiles the file as it is then. Edits during a build are never compiled under the hash of the earlier content.',
          },
        );
      }
      return bytes;
    },
  };
}

/**
 * Keeps a written file under the SHA-256 of its content (once, however many wheels write the
 * same bytes) and lists it like a project file.
 */
async function writtenEntry(
  file: WrittenFile,
  dir: string,
  names: Map<string, Promise<void>>,
  hashFile: (path: string) => Promise<string>,
): Promise<FileTreeEntry> {
  const name = createHash('sha256').update(file.content).digest('hex');
  const path = join(dir, name);
  let stored = names.get(name);
  if (stored === undefined) {
    stored = readFile(path).then(
      (existing) =>
        existing.equals(file.content) ? undefined : writeFileAtomic(path, file.content),
      () => writeFileAtomic(path, file.content),
    );
    names.set(name, stored);
  }
  await stored;
  return {
    path: file.path,
    mode: file.executable ? 0o755 : 0o644,
    size: file.content.length,
    crc32: null,
    contentKey: await hashFile(path),
    source: { kind: 'file', file: path, origin: file.what },
  };
}

async function removeUnlisted(dir: string, keep: ReadonlyMap<string, unknown>): Promise<void> {
  for (const name of await readdir(dir))
    if (!keep.has(name)) await rm(join(dir, name), { recursive: true, force: true });
}

function wheelContentKey(
  wheelHash: string,
  entryName: string,
  crc32: number,
  size: number,
): string {
  const digest = createHash('sha256')
    .update(JSON.stringify([wheelHash, entryName, crc32, size]))
    .digest('hex');
  return `wheel:${digest}`;
}

/** Project files first, then wheels by file name and entry name: an order that ignores argument order. */
function compareSources(a: TreeEntry, b: TreeEntry): number {
  if (a.source.kind === 'file' && b.source.kind === 'file')
    return a.contentKey < b.contentKey ? -1 : a.contentKey > b.contentKey ? 1 : 0;
  if (a.source.kind === 'file') return -1;
  if (b.source.kind === 'file') return 1;
  return (
    comparePaths(basename(a.source.wheel), basename(b.source.wheel)) ||
    comparePaths(a.source.entryName, b.source.entryName) ||
    comparePaths(a.contentKey, b.contentKey)
  );
}

function describe(entry: TreeEntry): string {
  if (entry.source.kind === 'wheel')
    return `wheel ${basename(entry.source.wheel)} (entry "${entry.source.entryName}")`;
  return entry.source.origin ?? `project file ${entry.source.file}`;
}

const isProjectFile = (entry: TreeEntry) =>
  entry.source.kind === 'file' && entry.source.origin === undefined;

async function readContent(entry: TreeEntry): Promise<Buffer> {
  return entry.source.kind === 'file'
    ? readFile(entry.source.file)
    : readWheelEntryContent(entry.source);
}

async function sameContent(a: TreeEntry, b: TreeEntry): Promise<boolean> {
  if (a.contentKey === b.contentKey) return true;
  if (a.size !== b.size) return false;
  // Different keys from the same kind of hash: files with different hashes differ.
  if (a.source.kind === 'file' && b.source.kind === 'file') return false;
  if (a.crc32 !== null && b.crc32 !== null && a.crc32 !== b.crc32) return false;
  if (a.size > MAX_COMPARED_BYTES) return false;
  const [left, right] = await Promise.all([readContent(a), readContent(b)]);
  return left.equals(right);
}

function checkFileDirectoryConflicts(entries: TreeEntry[]): void {
  const byPath = new Map<string, TreeEntry>();
  for (const entry of entries) byPath.set(entry.path, entry);
  for (const entry of entries) {
    let slash = entry.path.indexOf('/');
    while (slash !== -1) {
      const parent = byPath.get(entry.path.slice(0, slash));
      if (parent !== undefined) {
        throw buildError(
          'zip-path-conflict',
          `"${parent.path}" is a file in ${describe(parent)} but a directory in ${describe(entry)} ("${entry.path}").`,
          { hint: 'Rename or exclude one of them.' },
        );
      }
      slash = entry.path.indexOf('/', slash + 1);
    }
  }
}
