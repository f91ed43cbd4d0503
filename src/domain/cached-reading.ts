/**
 * A value read in the background and served from memory, so whoever asks for it (a Prometheus
 * scrape) never waits on the source (PostgreSQL) and still gets the last good value while the
 * source is down, together with how old it is.
 *
 * Re-read at most once per `everyMs` whether the read succeeds or fails: a source that is down is
 * not hammered every tick. Concurrent refreshes share one read.
 */
export class CachedReading<T> {
  private value: T | undefined;
  private readAtMs: number | undefined;
  private attemptedAtMs: number | undefined;
  private running: Promise<boolean> | null = null;
  private failed = 0;

  constructor(
    private readonly read: () => Promise<T>,
    private readonly everyMs: number,
    private readonly now: () => number,
  ) {}

  /** The last value read successfully, or undefined before the first success. */
  current(): T | undefined {
    return this.value;
  }

  /** Seconds since the last successful read; Infinity before the first, so staleness alerts fire. */
  ageSeconds(): number {
    return this.readAtMs === undefined ? Infinity : Math.max(0, this.now() - this.readAtMs) / 1000;
  }

  /** Reads that failed since this process started. */
  failures(): number {
    return this.failed;
  }

  /** No read is running and none was started within `everyMs`. */
  due(): boolean {
    if (this.running) return false;
    return this.attemptedAtMs === undefined || this.now() - this.attemptedAtMs >= this.everyMs;
  }

  /**
   * Reads now (or joins the read already running). Resolves true when it succeeded; a failure is
   * counted, handed to `onError`, and leaves the previous value in place.
   */
  refresh(onError: (error: unknown) => void = () => undefined): Promise<boolean> {
    this.running ??= this.readOnce(onError).finally(() => (this.running = null));
    return this.running;
  }

  private async readOnce(onError: (error: unknown) => void): Promise<boolean> {
    const startedAtMs = this.now();
    this.attemptedAtMs = startedAtMs;
    try {
      this.value = await this.read();
      // The value may describe any moment of the read: dating it from the start never understates its age.
      this.readAtMs = startedAtMs;
      return true;
    } catch (error) {
      this.failed += 1;
      onError(error);
      return false;
    }
  }
}
