import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join, basename } from 'node:path';

let counter = 0;

/**
 * A sibling temporary name, unique per process and call, so the final rename stays on one file
 * system and is atomic. (No crypto: loading node:crypto costs a no-op check milliseconds.)
 */
export function temporarySibling(path: string): string {
  counter++;
  return join(
    dirname(path),
    `.${basename(path)}.${process.pid}.${counter}.${Date.now().toString(36)}.tmp`,
  );
}

/** Writes a file so that readers see either the old content or the new, never a torn write. */
export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = temporarySibling(path);
  try {
    await writeFile(tmp, data);
    await rename(tmp, path);
  } catch (error) {
    await rm(tmp, { force: true });
    throw error;
  }
}
