import { createHash } from 'node:crypto';
import { closeSync, createReadStream, createWriteStream, existsSync, openSync } from 'node:fs';
import { mkdir, readdir, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import yauzl from 'yauzl';
import { buildError, LbuildError, temporarySibling } from '@lbuild/core';

/** S_IFMT and S_IFDIR of a zip entry's Unix mode (the high half of its external attributes). */
const S_IFMT = 0o170000;
const S_IFDIR = 0o040000;

/**
 * The package a zip holds, unpacked once into `dir/<sha256>` and reused while the zip is the
 * same: what `lbuild invoke` runs, so that the handler sees exactly what a deploy sends. The zip
 * is read through one open descriptor whose bytes are hashed first: a zip rebuilt meanwhile (a
 * rename over it) cannot slip other content under the expected hash. The directory appears
 * complete or not at all (unpacked beside it, then renamed); older ones in `dir` are removed.
 */
export async function unpackZip(zip: string, sha256: string, dir: string): Promise<string> {
  const target = join(dir, sha256);
  if (existsSync(target)) return target;
  await mkdir(dir, { recursive: true });
  const tmp = temporarySibling(target);
  try {
    await mkdir(tmp);
    await extractInto(zip, sha256, tmp);
    try {
      await rename(tmp, target);
    } catch (error) {
      // Another lbuild unpacked the same zip first: its copy is as good.
      if (!existsSync(target)) throw error;
    }
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
  for (const name of await readdir(dir)) {
    if (name !== sha256 && !name.startsWith('.'))
      await rm(join(dir, name), { recursive: true, force: true });
  }
  return target;
}

async function extractInto(zip: string, sha256: string, into: string): Promise<void> {
  const fd = openSync(zip, 'r');
  let file: yauzl.ZipFile;
  try {
    const hash = createHash('sha256');
    await pipeline(createReadStream('', { fd, autoClose: false, start: 0 }), hash);
    if (hash.digest('hex') !== sha256) {
      throw buildError(
        'concurrent-modification',
        `${basename(zip)} changed after this build made it (another lbuild?)`,
        { hint: 'run the command again' },
      );
    }
    // yauzl refuses absolute paths and `..` in entry names: nothing lands outside `into`.
    file = await yauzl.fromFdPromise(fd, { validateEntrySizes: true });
  } catch (error) {
    closeSync(fd);
    throw error instanceof LbuildError ? error : unreadable(zip, error);
  }
  try {
    for await (const entry of file.eachEntry()) {
      const mode = entry.externalFileAttributes >>> 16;
      const path = join(into, entry.fileName);
      if (entry.fileName.endsWith('/') || (mode & S_IFMT) === S_IFDIR) {
        await mkdir(path, { recursive: true });
        continue;
      }
      await mkdir(dirname(path), { recursive: true });
      await pipeline(
        await file.openReadStreamPromise(entry),
        createWriteStream(path, { mode: mode & 0o777 || 0o644 }),
      );
    }
  } catch (error) {
    throw error instanceof LbuildError ? error : unreadable(zip, error);
  } finally {
    // Closes `fd` too, once its streams are done.
    file.close();
  }
}

function unreadable(zip: string, cause: unknown): LbuildError {
  return new LbuildError(
    {
      reason: 'bad-zip',
      kind: 'build',
      message: `${basename(zip)} cannot be unpacked: ${cause instanceof Error ? cause.message : String(cause)}.`,
      hint: 'Build it again (lbuild -B NAME); something changed it after lbuild wrote it.',
    },
    { cause },
  );
}
