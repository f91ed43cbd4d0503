import type { Logger } from 'pino';

/**
 * A recurring failure (PostgreSQL down, say) logged at most once per `everyMs`, with how many times
 * it happened since the previous line, instead of once per occurrence.
 */
export class ThrottledWarning {
  private failures = 0;
  private loggedAtMs = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly logger: Pick<Logger, 'warn'>,
    private readonly message: string,
    private readonly everyMs = 10_000,
  ) {}

  warn(error: unknown, nowMs = Date.now()): void {
    this.failures += 1;
    if (nowMs - this.loggedAtMs < this.everyMs) return;
    this.logger.warn({ err: error, failures: this.failures }, this.message);
    this.loggedAtMs = nowMs;
    this.failures = 0;
  }
}
