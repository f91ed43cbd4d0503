import type { EndpointSnapshot } from '../domain/endpoint-snapshot';
import { RecordWithdrawn } from '../domain/records';
import { retryUntilDone } from '../domain/retry-loop';
import { isTransientError } from '../domain/transient';
import { unlessWithdrawn } from '../domain/withdrawal';

interface Waiter {
  withdrawn: () => boolean;
  resolve: (endpoint: EndpointSnapshot | undefined) => void;
  reject: (error: unknown) => void;
}

/**
 * Deliveries for an endpoint this process has not cached wait here, in the order they came, for one
 * lookup of it, retried while PostgreSQL cannot answer; when it answers they go on in that order. Each
 * retried its own lookup on its own backoff before (handleUntilDurable), so a later delivery could
 * reach the endpoint's lane first when PostgreSQL came back (README decision 100). A waiter whose
 * record is withdrawn leaves with RecordWithdrawn within WITHDRAWAL_POLL_MS, even while PostgreSQL
 * hangs rather than refuses (the partition's handover waits for it); the lookup goes on for the others.
 */
export class EndpointLookups {
  private readonly lines = new Map<string, Waiter[]>();

  constructor(
    private readonly lookup: (endpointId: string) => Promise<EndpointSnapshot | undefined>,
    private readonly sleep?: (ms: number) => Promise<void>,
  ) {}

  /** Deliveries wait for this endpoint now: a later one waits behind them even if it is cached since. */
  waiting(endpointId: string): boolean {
    return this.lines.has(endpointId);
  }

  /** The endpoint once PostgreSQL has answered, or undefined when it says there is none. */
  endpoint(endpointId: string, withdrawn: () => boolean): Promise<EndpointSnapshot | undefined> {
    // The withdrawn waiter stays in the line until the lookup's next failure or answer, which it ignores.
    return unlessWithdrawn(this.inLine(endpointId, withdrawn), withdrawn);
  }

  private inLine(endpointId: string, withdrawn: () => boolean): Promise<EndpointSnapshot | undefined> {
    return new Promise((resolve, reject) => {
      const waiter = { withdrawn, resolve, reject };
      const line = this.lines.get(endpointId);
      if (line) {
        line.push(waiter);
        return;
      }
      const started = [waiter];
      this.lines.set(endpointId, started);
      void this.lookUp(endpointId, started);
    });
  }

  private async lookUp(endpointId: string, line: Waiter[]): Promise<void> {
    let answer: EndpointSnapshot | undefined;
    try {
      answer = await retryUntilDone(() => this.lookup(endpointId), {
        baseDelayMs: 100,
        maxDelayMs: 5_000,
        sleep: this.sleep,
        // A failure that is not PostgreSQL's absence goes to the consumer, which isolates it if it stays.
        stopped: (error) => !isTransientError(error) || this.dropWithdrawn(line) === 0,
        onRetry: () => undefined,
      });
    } catch (error) {
      this.lines.delete(endpointId);
      for (const waiter of line) waiter.reject(error);
      return;
    }
    // In one step, so a delivery that comes after these finds the endpoint cached and no line.
    this.lines.delete(endpointId);
    for (const waiter of line) waiter.resolve(answer);
  }

  /** Rejects the withdrawn waiters with RecordWithdrawn and takes them out; returns how many are left. */
  private dropWithdrawn(line: Waiter[]): number {
    let kept = 0;
    for (const waiter of line) {
      if (waiter.withdrawn()) waiter.reject(new RecordWithdrawn());
      else line[kept++] = waiter;
    }
    line.length = kept;
    return kept;
  }
}
