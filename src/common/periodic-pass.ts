import type { ThrottledWarning } from './throttled-warning';

/**
 * Runs `pass` every `everyMs`, never two at once (a tick that finds one running is skipped); a
 * failed pass is warned through `failed` and the next tick retries. `stop` waits for a running one.
 */
export class PeriodicPass {
  private timer?: NodeJS.Timeout;
  private running: Promise<void> | null = null;

  constructor(
    private readonly pass: () => Promise<unknown>,
    private readonly failed: ThrottledWarning,
  ) {}

  start(everyMs: number): void {
    this.timer = setInterval(() => {
      if (this.running) return;
      this.running = this.pass()
        .then(() => undefined)
        .catch((error: unknown) => this.failed.warn(error))
        .finally(() => (this.running = null));
    }, everyMs);
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }
}
