import type { Logger } from 'pino';
import { ThrottledWarning } from '../common/throttled-warning';
import type { LeaseAnswer, LeaseChannel } from '../domain/token-lease';
import { isMessage, type RateBucket, type RateLeaseAnswer, type RateLeaseRequest } from './worker-protocol';

/** A lease the supervisor has not answered within this is given up (the worker falls back). */
const LEASE_TIMEOUT_MS = 1_000;

/** The worker's end of the IPC channel: `process` in a cluster worker. */
export interface IpcPort {
  readonly connected?: boolean;
  send?(
    message: unknown,
    sendHandle: undefined,
    options: undefined,
    callback: (error: Error | null) => void,
  ): boolean;
  on(event: 'message', listener: (message: unknown) => void): unknown;
}

interface Waiting {
  resolve: (answer: LeaseAnswer) => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout;
}

/**
 * A worker's lease requests of one rate's tokens to the supervisor (src/cluster/workers.ts), over
 * the cluster's IPC channel. A request not answered (or not sent) is refused, and said so in a
 * warning at most every 10 s: the caller then decides by its own share of the rate.
 */
export class IpcLeaseChannel implements LeaseChannel {
  private nextId = 0;
  private readonly waiting = new Map<number, Waiting>();
  private readonly failed: ThrottledWarning;

  constructor(
    logger: Pick<Logger, 'warn'>,
    private readonly bucket: RateBucket,
    private readonly timeoutMs = LEASE_TIMEOUT_MS,
    private readonly port: IpcPort = process,
  ) {
    this.failed = new ThrottledWarning(
      logger,
      `could not lease ${bucket} tokens from the supervisor; this worker keeps 1/N of the rate meanwhile`,
    );
    port.on('message', this.onMessage);
  }

  lease(key: string, want: number): Promise<LeaseAnswer> {
    if (!this.port.send || !this.port.connected) {
      const error = new Error(`no supervisor to lease ${this.bucket} tokens from`);
      this.failed.warn(error);
      return Promise.reject(error);
    }
    const id = this.nextId++;
    return new Promise<LeaseAnswer>((resolve, reject) => {
      const timer = setTimeout(
        () => this.fail(id, new Error(`the supervisor did not answer a lease within ${this.timeoutMs} ms`)),
        this.timeoutMs,
      );
      this.waiting.set(id, { resolve, reject, timer });
      const request: RateLeaseRequest = {
        type: 'hookstream:rate-lease',
        id,
        bucket: this.bucket,
        tenantId: key,
        want,
      };
      this.port.send!(request, undefined, undefined, (error: Error | null) => {
        if (error) this.fail(id, error);
      });
    });
  }

  /** Refuses the lease `id` is waiting for (if it still is), with a throttled warning. */
  private fail(id: number, error: Error): void {
    const waiting = this.settle(id);
    if (waiting === undefined) return;
    this.failed.warn(error);
    waiting.reject(error);
  }

  private readonly onMessage = (message: unknown): void => {
    if (!isMessage<RateLeaseAnswer>(message, 'hookstream:rate-leased')) return;
    this.settle(message.id)?.resolve({ granted: message.granted, retryAfterMs: message.retryAfterMs });
  };

  private settle(id: number): Waiting | undefined {
    const waiting = this.waiting.get(id);
    if (waiting === undefined) return undefined;
    this.waiting.delete(id);
    clearTimeout(waiting.timer);
    return waiting;
  }
}
