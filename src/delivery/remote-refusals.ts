import { Inject, Injectable, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import type { Logger } from 'pino';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { CLOCK } from '../common/clock.module';
import { LOGGER } from '../common/logger.module';
import { ThrottledWarning } from '../common/throttled-warning';
import type { Clock } from '../domain/clock';
import { EndpointHealthRepository } from '../endpoints/endpoint-health.repository';
import { LaneHangsRepository } from './lane-hangs.repository';

/** How often the open circuits and hanging lanes of other processes' endpoints are read. */
const REFRESH_EVERY_MS = 1_000;

/**
 * The endpoints another process owns (another worker, another replica) that refuse deliveries now,
 * as their owners write them: open circuits to `endpoint_health` (EndpointHealth) and hanging lanes
 * to `endpoint_lane_hangs` (HangingLanes, README decision 84), each within 250 ms of a change, read
 * every second by a process with the fan-out role. Its fan-out holds a delivery to such an endpoint
 * at once, as it does for an endpoint it owns, instead of sending it through the deliveries topic
 * only for the owner to hold it: with two workers, about half of a down endpoint's deliveries took
 * that detour (the noisy-neighbour bench: 21,677 turned away by an open circuit beside 18,477 held
 * at the fan-out), and every delivery to a hanging endpoint owned by the other worker (the
 * isolation bench: 5,000 a round shed by the owner). The owner releases what is held once its own
 * circuit and lane let it (HeldRelease), so a stale view costs a delay, never a delivery; an entry
 * lapses when the circuit's open period ends or the owner stops vouching for the hang.
 */
@Injectable()
export class RemoteRefusals implements OnApplicationBootstrap, OnModuleDestroy {
  /** Endpoint id -> until when (this process's clock) it refuses. */
  private refusing = new Map<string, number>();
  private timer?: NodeJS.Timeout;
  private readonly readFailed: ThrottledWarning;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(EndpointHealthRepository)
    private readonly circuits: Pick<EndpointHealthRepository, 'openCircuits'>,
    @Inject(LaneHangsRepository) private readonly hangs: Pick<LaneHangsRepository, 'hanging'>,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(LOGGER) logger: Logger,
  ) {
    this.readFailed = new ThrottledWarning(
      logger.child({ component: 'remote-refusals' }),
      "could not read other processes' open circuits and hanging lanes; keeping the last view",
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
    const [open, hanging] = await Promise.all([
      this.circuits.openCircuits(this.config.delivery.circuitOpenMs),
      this.hangs.hanging(),
    ]);
    const nowMs = this.clock.now();
    const refusing = new Map(open);
    for (const [endpointId, leftMs] of hanging) {
      refusing.set(endpointId, Math.max(refusing.get(endpointId) ?? 0, nowMs + leftMs));
    }
    this.refusing = refusing;
  }

  /** Whether the endpoint's owner had its circuit open or its lane hanging, and still does at `nowMs`. */
  refuses(endpointId: string, nowMs: number): boolean {
    const until = this.refusing.get(endpointId);
    return until !== undefined && nowMs < until;
  }
}
