/**
 * Waits for a condition that another process brings about (a file it writes, a line it prints),
 * checking every few milliseconds: the test goes on as soon as it holds, and fails with `what`
 * if it never does. Not a fixed sleep.
 */
export async function waitFor(
  condition: () => boolean,
  options: { what: string | (() => string); timeoutMs?: number },
): Promise<void> {
  const deadline = Date.now() + (options.timeoutMs ?? 20_000);
  while (!condition()) {
    if (Date.now() > deadline)
      throw new Error(
        `timed out waiting for ${typeof options.what === 'string' ? options.what : options.what()}`,
      );
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
