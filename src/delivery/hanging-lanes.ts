import { Inject, Injectable, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { Gauge, type Registry } from 'prom-client';
import type { Logger } from 'pino';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { CLOCK } from '../common/clock.module';
import { LOGGER } from '../common/logger.module';
import { METRICS_REGISTRY } from '../common/metrics.registry';
import { ThrottledWarning } from '../common/throttled-warning';
import type { Clock } from '../domain/clock';
import { ConsumerRunner } from '../kafka/consumer-runner';
import { DeliveryEngine } from './delivery-engine';
import { LaneHangsRepository } from './lane-hangs.repository';

/** How often this process's hanging lanes are compared with what it last wrote. */
const CHECK_EVERY_MS = 250;
/** How long a written row vouches for a hang: its owner renews it well before, or it lapses. */
export const LANE_HANG_VOUCH_MS = 3_000;
/** A row still hanging is renewed once it is this old. */
const RENEW_AFTER_MS = 1_000;

/**
 * Tells the other processes (workers and replicas) which of this process's endpoints have a
 * hanging lane, through `endpoint_lane_hangs` (README decision 84), as EndpointHealth tells them of
 * open circuits: their fan-outs then hold such an endpoint's deliveries at once (RemoteRefusals,
 * DeliveryGate) instead of sending each through the deliveries topic for this process to shed.
 * A hanging endpoint opens its circuit only after HOOKSTREAM_CIRCUIT_FAILURE_THRESHOLD timeouts,
 * minutes at one slot and a 30 s timeout; until then this is what spares the detour.
 *
 * Within {@link CHECK_EVERY_MS} a new hang is written and a recovered one deleted; a row is
 * renewed every {@link RENEW_AFTER_MS} and lapses {@link LANE_HANG_VOUCH_MS} after its last
 * renewal, so a process that dies leaves no hang behind for long. Only endpoints this process owns
 * are reported: a lane left over from a partition handed away says nothing of its new owner's.
 * A stale row costs a delay, never a delivery: the owner releases what is held by its own lane.
 */
@Injectable()
export class HangingLanes implements OnApplicationBootstrap, OnModuleDestroy {
  /** What the table says of this process's endpoints: endpoint id -> when it was last written. */
  private readonly written = new Map<string, number>();
  private writing: Promise<void> | null = null;
  private timer?: NodeJS.Timeout;
  private readonly writeFailed: ThrottledWarning;
  private readonly hangingNow: Gauge;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(DeliveryEngine) private readonly engine: Pick<DeliveryEngine, 'hangingEndpoints'>,
    @Inject(ConsumerRunner) private readonly consumers: Pick<ConsumerRunner, 'ownsEndpoint'>,
    @Inject(LaneHangsRepository) private readonly store: Pick<LaneHangsRepository, 'save'>,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(METRICS_REGISTRY) registry: Registry,
    @Inject(LOGGER) logger: Logger,
  ) {
    this.writeFailed = new ThrottledWarning(
      logger.child({ component: 'hanging-lanes' }),
      'could not write the hanging lanes; retrying',
    );
    this.hangingNow = new Gauge({
      name: 'hookstream_lanes_hanging',
      help: "Lanes of this process's endpoints that have started nothing for HOOKSTREAM_LANE_STALL_AFTER with every slot busy; every fan-out holds their deliveries",
      registers: [registry],
    });
  }

  onApplicationBootstrap(): void {
    if (!this.config.roles.has('delivery')) return;
    this.timer = setInterval(
      () => void this.write().catch((error: unknown) => this.writeFailed.warn(error)),
      CHECK_EVERY_MS,
    );
    this.timer.unref();
  }

  onModuleDestroy(): void {
    clearInterval(this.timer);
  }

  /**
   * Writes the hangs that began or are due for renewal and deletes the ones that ended; one write at
   * a time. A failed write changes nothing here, so the next check writes it again.
   */
  write(): Promise<void> {
    if (this.writing) return this.writing;
    const nowMs = this.clock.now();
    const hanging = new Set(this.engine.hangingEndpoints().filter((id) => this.consumers.ownsEndpoint(id)));
    this.hangingNow.set(hanging.size);
    const renew = [...hanging].filter((id) => nowMs - (this.written.get(id) ?? -Infinity) >= RENEW_AFTER_MS);
    const ended = [...this.written.keys()].filter((id) => !hanging.has(id));
    if (renew.length === 0 && ended.length === 0) return Promise.resolve();
    this.writing = this.store
      .save(renew, LANE_HANG_VOUCH_MS, ended)
      .then(() => {
        for (const id of renew) this.written.set(id, nowMs);
        for (const id of ended) this.written.delete(id);
      })
      .finally(() => (this.writing = null));
    return this.writing;
  }
}
