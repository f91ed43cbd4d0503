/**
 * Retries work that must eventually succeed (a write whose outcome must be made durable before a
 * record may be committed), with exponential backoff, until it does or `stopped()` says to give up.
 */
export interface RetryLoopOptions {
  /** First wait; each later one doubles, up to `maxDelayMs`. */
  baseDelayMs: number;
  maxDelayMs: number;
  /** Called before each wait with the failure and the wait about to start. */
  onRetry(error: unknown, waitMs: number, attempt: number): void;
  /** Checked after each failure: true rethrows it instead of waiting. */
  stopped?(error: unknown): boolean;
  sleep?(ms: number): Promise<void>;
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export async function retryUntilDone<T>(work: () => Promise<T>, options: RetryLoopOptions): Promise<T> {
  const sleep = options.sleep ?? defaultSleep;
  for (let attempt = 0; ; attempt++) {
    try {
      return await work();
    } catch (error) {
      if (options.stopped?.(error)) throw error;
      const waitMs = Math.min(options.maxDelayMs, options.baseDelayMs * 2 ** Math.min(attempt, 30));
      options.onRetry(error, waitMs, attempt + 1);
      await sleep(waitMs);
    }
  }
}
