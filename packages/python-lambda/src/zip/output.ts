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
  /** Two buffers: one fills while the other is being written (double buffering). */
  #buffer = Buffer.allocUnsafe(BUFFER_SIZE);
  #spare = Buffer.allocUnsafe(BUFFER_SIZE);
  #pending: Promise<void> | null = null;
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
      if (this.#fill === BUFFER_SIZE) await this.#swap();
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
      if (this.#fill === BUFFER_SIZE) await this.#swap();
      const want = Math.min(length - done, BUFFER_SIZE - this.#fill);
      const bytesRead = readSync(source, this.#buffer, this.#fill, want, start + done);
      if (bytesRead === 0) throw new ShortReadError(length, done);
      onChunk?.(this.#buffer.subarray(this.#fill, this.#fill + bytesRead));
      this.#fill += bytesRead;
      done += bytesRead;
    }
  }

  /**
   * `length` contiguous bytes of the output buffer at the current position (at most the buffer's
   * size, {@link ZipOutput.CONTIGUOUS}), to fill and then either {@link commit}, or leave, in
   * which case they are not part of the output. Lets a writer check bytes after reading them
   * straight into the buffer, without a copy.
   */
  async reserve(length: number): Promise<Buffer> {
    if (length > BUFFER_SIZE) throw new Error('internal: reserve() of more than the buffer');
    if (BUFFER_SIZE - this.#fill < length) await this.#swap();
    return this.#buffer.subarray(this.#fill, this.#fill + length);
  }

  /** Makes the first `length` bytes of the last {@link reserve} part of the output. */
  commit(length: number): void {
    this.#fill += length;
  }

  static readonly CONTIGUOUS = BUFFER_SIZE;

  /** Hands the full buffer to the file system and goes on filling the other one. */
  async #swap(): Promise<void> {
    const chunk = this.#buffer.subarray(0, this.#fill);
    this.#hash.update(chunk);
    if (this.#pending !== null) await this.#pending;
    this.#pending = this.#writeAll(chunk);
    this.#pending.catch(() => undefined); // awaited by the next swap or by digest()
    this.#flushed += this.#fill;
    this.#fill = 0;
    [this.#buffer, this.#spare] = [this.#spare, this.#buffer];
  }

  async #writeAll(chunk: Buffer): Promise<void> {
    let at = 0;
    while (at < chunk.length) {
      const { bytesWritten } = await this.#handle.write(chunk, at, chunk.length - at);
      at += bytesWritten;
    }
  }

  /** Writes everything and returns the SHA-256 of all bytes written. Call once, at the end. */
  async digest(): Promise<Buffer> {
    if (this.#fill > 0) await this.#swap();
    await this.settle();
    return this.#hash.digest();
  }

  /** Waits for the write in flight, if any (also before closing the file after a failure). */
  async settle(): Promise<void> {
    const pending = this.#pending;
    this.#pending = null;
    if (pending !== null) await pending;
  }
}

export class ShortReadError extends Error {
  constructor(expected: number, got: number) {
    super(`expected ${String(expected)} bytes, the source ended after ${String(got)}`);
    this.name = 'ShortReadError';
  }
}
