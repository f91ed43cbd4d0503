import { Inject, Injectable, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import type { Logger } from 'pino';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { LOGGER } from '../common/logger.module';
import { ThrottledWarning } from '../common/throttled-warning';
import { EndpointHealthRepository } from '../endpoints/endpoint-health.repository';

/** How often the open circuits of other processes' endpoints are read. */
const REFRESH_EVERY_MS = 1_000;

/**
 * The open circuits of endpoints another process owns (another worker, another replica), as their
 * owners write them to `endpoint_health` (within 250 ms of a change), read every second by a
 * process with the fan-out role. Its fan-out holds a delivery to such an endpoint at once, as it
 * does for an endpoint it owns, instead of sending it through the deliveries topic only for the
 * owner to hold it: with two workers, about half of a down endpoint's deliveries took that detour
 * (the noisy-neighbour bench: 21,677 turned away by an open circuit beside 18,477 held at the
 * fan-out). The owner releases what is held once its own circuit lets it (HeldRelease), so a stale
 * view costs a delay, never a delivery; an entry lapses when the circuit's open period ends.
 */
@Injectable()
export class RemoteCircuits implements OnApplicationBootstrap, OnModuleDestroy {
  private open = new Map<string, number>();
  private timer?: NodeJS.Timeout;
  private readonly readFailed: ThrottledWarning;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(EndpointHealthRepository)
    private readonly store: Pick<EndpointHealthRepository, 'openCircuits'>,
    @Inject(LOGGER) logger: Logger,
  ) {
    this.readFailed = new ThrottledWarning(
      logger.child({ component: 'remote-circuits' }),
      "could not read other processes' open circuits; keeping the last view",
    );
  }

  onApplicationBootstrap(): void {
    if (!this.config.roles.has('fanout')) return;
    this.timer = setInterval(
      () => void this.refresh().catch((error: unknown) => this.readFailed.warn(error)),
      REFRESH_EVERY_MS,
    );
    this.timer.unref();
  }

  onModuleDestroy(): void {
    clearInterval(this.timer);
  }

  async refresh(): Promise<void> {
    this.open = await this.store.openCircuits(this.config.delivery.circuitOpenMs);
  }

  /** Whether the endpoint's owner had its circuit open, and the open period has not ended by `nowMs`. */
  isOpen(endpointId: string, nowMs: number): boolean {
    const until = this.open.get(endpointId);
    return until !== undefined && nowMs < until;
  }
}
