/** Thrown by a probe to stop waiting at once: what it waits for can no longer happen (a process exited). */
export class GiveUp extends Error {}

/** Polls `probe` until it returns a truthy value or the deadline passes; the error says what was missing. */
export async function waitFor<T>(
  probe: () => T | Promise<T>,
  {
    timeoutMs = 30_000,
    intervalMs = 50,
    what,
  }: { timeoutMs?: number; intervalMs?: number; what: string | (() => string) },
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value) return value;
    } catch (error) {
      if (error instanceof GiveUp) throw error;
      lastError = error;
    }
    if (Date.now() >= deadline) {
      const description = typeof what === 'function' ? what() : what;
      const cause = lastError ? ` (last error: ${(lastError as Error).message})` : '';
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${description}${cause}`);
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
