import { createHash } from 'node:crypto';
import type { Hash } from 'node:crypto';
import { readSync } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';

const BUFFER_SIZE = 1 << 20;

/**
 * The zip being written: a file handle behind a 1 MiB buffer, with the SHA-256 of everything
 * written so far. Copies read straight into the buffer, so bytes are not copied twice.
 */
export class ZipOutput {
  readonly #handle: FileHandle;
  readonly #buffer = Buffer.allocUnsafe(BUFFER_SIZE);
  readonly #hash: Hash = createHash('sha256');
  #fill = 0;
  #flushed = 0;

  constructor(handle: FileHandle) {
    this.#handle = handle;
  }

  /** Bytes written so far, buffered ones included: the offset of the next byte. */
  get position(): number {
    return this.#flushed + this.#fill;
  }

  async write(data: Uint8Array): Promise<void> {
    let at = 0;
    while (at < data.length) {
      if (this.#fill === BUFFER_SIZE) await this.flush();
      const n = Math.min(data.length - at, BUFFER_SIZE - this.#fill);
      this.#buffer.set(data.subarray(at, at + n), this.#fill);
      this.#fill += n;
      at += n;
    }
  }

  /**
   * Copies `length` bytes of the file open as `source` from `start`; `onChunk` sees each piece
   * (for a CRC). Throws when the source ends early. Reads are synchronous, straight into the
   * output buffer: sources are in the page cache more often than not, and a thread-pool round
   * trip per entry (tens of microseconds) would cost more than the copy of a small entry.
   */
  async copy(
    source: number,
    start: number,
    length: number,
    signal: AbortSignal | undefined,
    onChunk?: (chunk: Buffer) => void,
  ): Promise<void> {
    let done = 0;
    while (done < length) {
      signal?.throwIfAborted();
      if (this.#fill === BUFFER_SIZE) await this.flush();
      const want = Math.min(length - done, BUFFER_SIZE - this.#fill);
      const bytesRead = readSync(source, this.#buffer, this.#fill, want, start + done);
      if (bytesRead === 0) throw new ShortReadError(length, done);
      onChunk?.(this.#buffer.subarray(this.#fill, this.#fill + bytesRead));
      this.#fill += bytesRead;
      done += bytesRead;
    }
  }

  async flush(): Promise<void> {
    if (this.#fill === 0) return;
    const chunk = this.#buffer.subarray(0, this.#fill);
    this.#hash.update(chunk);
    let at = 0;
    while (at < chunk.length) {
      const { bytesWritten } = await this.#handle.write(chunk, at, chunk.length - at);
      at += bytesWritten;
    }
    this.#flushed += this.#fill;
    this.#fill = 0;
  }

  /** Flushes and returns the SHA-256 of all bytes written. Call once, at the end. */
  async digest(): Promise<Buffer> {
    await this.flush();
    return this.#hash.digest();
  }
}

export class ShortReadError extends Error {
  constructor(expected: number, got: number) {
    super(`expected ${String(expected)} bytes, the source ended after ${String(got)}`);
    this.name = 'ShortReadError';
  }
}
