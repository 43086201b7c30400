/**
 * Polls `read` until `check` passes, for things that follow a request within moments rather
 * than at once (a table row, a notification); fails after `timeoutMs` with what it last saw.
 * A deadline, not a timing assertion: it only bounds how long a broken test hangs.
 */
export async function eventually<T>(
  read: () => Promise<T> | T,
  check: (value: T) => boolean,
  what: string,
  timeoutMs = 10_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (check(value)) return value;
    if (Date.now() > deadline) throw new Error(`${what}: still ${describe(value)}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

function describe(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
