import {
  Inject,
  Injectable,
  type BeforeApplicationShutdown,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import { Counter, type Registry } from 'prom-client';
import type { Logger } from 'pino';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { CLOCK } from '../common/clock.module';
import { LOGGER } from '../common/logger.module';
import { METRICS_REGISTRY } from '../common/metrics.registry';
import { ThrottledWarning } from '../common/throttled-warning';
import type { Clock } from '../domain/clock';
import { HELD_ORIGIN } from '../domain/delivery-task';
import type { EndpointSnapshot } from '../domain/endpoint-snapshot';
import { HELD_RELEASE_BATCH, heldReleaseQuota } from '../domain/settlement';
import { ConsumerRunner } from '../kafka/consumer-runner';
import { HeldDeliveries } from '../retry/held-deliveries';
import { EndpointCache } from '../endpoints/endpoint-cache';
import { DeliveryEngine } from './delivery-engine';
import { DeliveryMetrics } from './delivery-metrics';
import { EndpointHealth } from './endpoint-health';
import { Settler } from './settler';

const TICK_MS = 500;
/** Rows handed on per expiry pass (each then dead-lettered by the engine for its age). */
const EXPIRED_BATCH = 1_000;
/** Batches one endpoint may release per tick: bounds how fast a recovered endpoint's backlog returns. */
const BATCHES_PER_TICK = 4;

/**
 * Hands held deliveries back (through the shortest retry tier, due now) once their endpoint can
 * take them: one probe while it is failing, then batches. Only the replica that owns an endpoint
 * releases its rows, judging by the circuit and lane that decide its deliveries, so a batch is
 * never handed to a tier whose owner holds it again (README decision 36); the circuit outlives
 * restarts and handovers (decision 37). Rows past their maximum age go back from any replica.
 */
@Injectable()
export class HeldRelease implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger: Logger;
  private readonly released: Counter;
  private timer?: NodeJS.Timeout;
  private running: Promise<void> | null = null;
  private stopped = false;
  private readonly releaseFailed: ThrottledWarning;
  private expiredCheckedAtMs = 0;
  private readonly expireEveryMs: number;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(HeldDeliveries)
    private readonly held: Pick<HeldDeliveries, 'endpoints' | 'release' | 'releaseExpired' | 'discard'>,
    @Inject(DeliveryEngine)
    private readonly engine: Pick<DeliveryEngine, 'unavailable' | 'laneIdle' | 'laneHeadroom'>,
    @Inject(EndpointHealth) private readonly health: Pick<EndpointHealth, 'failingSinceMs'>,
    @Inject(Settler) private readonly settler: Pick<Settler, 'releaseHeld'>,
    @Inject(ConsumerRunner) private readonly consumers: Pick<ConsumerRunner, 'ownsEndpoint'>,
    @Inject(EndpointCache) private readonly endpointCache: Pick<EndpointCache, 'lookup'>,
    @Inject(DeliveryMetrics) private readonly metrics: Pick<DeliveryMetrics, 'outcome'>,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(METRICS_REGISTRY) registry: Registry,
    @Inject(LOGGER) logger: Logger,
  ) {
    this.logger = logger.child({ component: 'held-release' });
    this.releaseFailed = new ThrottledWarning(
      this.logger,
      'releasing held deliveries failed; retrying every 500 ms',
    );
    // Often enough that a delivery outlives HOOKSTREAM_MAX_ATTEMPT_AGE by at most a quarter of it.
    this.expireEveryMs = Math.max(TICK_MS, Math.min(60_000, config.delivery.maxAttemptAgeMs / 4));
    this.released = new Counter({
      name: 'hookstream_held_released_total',
      help: 'Held deliveries handed back to a retry tier once their endpoint could take them',
      registers: [registry],
    });
  }

  onApplicationBootstrap(): void {
    const { roles } = this.config;
    if (!roles.has('delivery')) return;
    this.schedule();
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.releasePass()
        .then(() => undefined)
        .catch((error: unknown) => this.releaseFailed.warn(error))
        .finally(() => {
          this.running = null;
          this.schedule();
        });
    }, TICK_MS);
  }

  /** One pass over every endpoint with held deliveries (and, now and then, over expired rows). */
  async releasePass(): Promise<number> {
    let total = await this.releaseExpired();
    for (const endpointId of await this.held.endpoints()) {
      if (!this.consumers.ownsEndpoint(endpointId)) continue;
      const endpoint = await this.endpointCache.lookup(endpointId);
      if (endpoint === undefined) {
        await this.discardDeleted(endpointId);
        continue;
      }
      for (let batch = 0; batch < BATCHES_PER_TICK && !this.stopped; batch++) {
        // Checked before each batch: a rebalance may move the endpoint away meanwhile.
        if (!this.consumers.ownsEndpoint(endpointId)) break;
        const limit = this.releasable(endpoint);
        if (limit === 0) break;
        const probe = limit === 1 && this.health.failingSinceMs(endpointId) !== null;
        const origin = probe ? HELD_ORIGIN.probe : HELD_ORIGIN.batch;
        const released = await this.held.release(endpointId, limit, (rows) =>
          this.settler.releaseHeld(rows, origin),
        );
        total += released;
        this.released.inc(released);
        // A slow lane's headroom is spent until what was released reaches it through the tier.
        if (released < limit || limit < HELD_RELEASE_BATCH) break;
      }
    }
    if (total > 0) this.logger.debug({ released: total }, 'held deliveries released');
    return total;
  }

  /**
   * An endpoint PostgreSQL confirms deleted (not merely missing from this process's cache) has its
   * held deliveries dropped where they lie, counted as `endpoint_deleted` as the engine would count
   * each: handed back, each cost a tier record written and read and a lookup before the same drop
   * (the noisy-neighbour bench: 4,000-12,000 a round, on the thread the other tenants share).
   */
  private async discardDeleted(endpointId: string): Promise<void> {
    const dropped = await this.held.discard(endpointId);
    this.metrics.outcome('endpoint_deleted', dropped);
    if (dropped > 0)
      this.logger.info({ endpointId, dropped }, 'held deliveries of a deleted endpoint dropped');
  }

  /**
   * A delivery held past HOOKSTREAM_MAX_ATTEMPT_AGE goes back even while its endpoint is down: the
   * engine turns it away again and, for its age, dead-letters it instead of holding it.
   */
  private async releaseExpired(): Promise<number> {
    const nowMs = this.clock.now();
    if (nowMs - this.expiredCheckedAtMs < this.expireEveryMs) return 0;
    this.expiredCheckedAtMs = nowMs;
    const cutoffMs = nowMs - this.config.delivery.maxAttemptAgeMs;
    const released = await this.held.releaseExpired(cutoffMs, EXPIRED_BATCH, (rows) =>
      this.settler.releaseHeld(rows, HELD_ORIGIN.expired),
    );
    this.released.inc(released);
    if (released > 0) this.logger.info({ released }, 'held deliveries past the maximum age handed back');
    return released;
  }

  /** As the endpoint's owner sees it (its circuit and its lane); see {@link heldReleaseQuota}. */
  private releasable(endpoint: EndpointSnapshot): number {
    // Disabled (or unusable): each row goes to the DLQ without an attempt, so its circuit, still
    // open from before, never closes and must not pace them (a row per 500 ms: 14 h for 100,000).
    if (!endpoint.enabled || endpoint.problem !== null) return HELD_RELEASE_BATCH;
    const endpointId = endpoint.id;
    return heldReleaseQuota({
      unavailable: this.engine.unavailable(endpointId, this.clock.now()),
      failing: this.health.failingSinceMs(endpointId) !== null,
      laneIdle: this.engine.laneIdle(endpointId),
      laneHeadroom: this.engine.laneHeadroom(endpointId),
    });
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }
}
