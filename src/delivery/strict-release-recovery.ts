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
import { LOGGER } from '../common/logger.module';
import { METRICS_REGISTRY } from '../common/metrics.registry';
import { PeriodicPass } from '../common/periodic-pass';
import { ThrottledWarning } from '../common/throttled-warning';
import { ConsumerRunner } from '../kafka/consumer-runner';
import { Settler } from './settler';

/** How often a replica looks for blockers that were promoted and never handed on. */
const TICK_MS = 10_000;
/**
 * How long after its promotion a blocker may still be in the parking lot before it counts as never
 * handed on. Longer than a hand-on takes through a broker restart (12 s in the chaos run), so a
 * slow one is rarely sent twice.
 */
export const STRICT_RELEASE_GRACE_MS = 60_000;
/** Blocks recovered per tick; more wait for the next. */
const BATCH = 100;

/**
 * The repair half of strict ordering's hand-on (src/retry/strict-parking.ts): finishing a blocker
 * promotes the oldest parked delivery in one transaction and hands it to a retry tier in the next
 * step; a process that dies in between (SIGKILLed while Kafka was down, in the chaos run) leaves a
 * block that nothing would ever lift. Every replica with the delivery role looks for such blocks
 * and hands their blocker on; the claim in PostgreSQL keeps it to one replica per grace period.
 * The same pass hands on the deliveries parked behind an endpoint switched from `strict` to `none`
 * while blocked, each by the replica that owns the endpoint.
 */
@Injectable()
export class StrictReleaseRecovery implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly recovered: Counter;
  private readonly passes: PeriodicPass;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(Settler)
    private readonly settler: Pick<Settler, 'releaseUnreleased' | 'releaseParkedOfUnordered'>,
    @Inject(ConsumerRunner) private readonly consumers: Pick<ConsumerRunner, 'ownsEndpoint'>,
    @Inject(METRICS_REGISTRY) registry: Registry,
    @Inject(LOGGER) logger: Logger,
  ) {
    this.passes = new PeriodicPass(
      () => this.pass(),
      new ThrottledWarning(
        logger.child({ component: 'strict-release-recovery' }),
        'recovering strict hand-ons failed; retrying',
      ),
    );
    this.recovered = new Counter({
      name: 'hookstream_strict_releases_recovered_total',
      help: 'Strict-ordering blockers promoted from the parking lot and never handed on (their releaser died), handed on again',
      registers: [registry],
    });
  }

  onApplicationBootstrap(): void {
    if (!this.config.roles.has('delivery')) return;
    this.passes.start(TICK_MS);
  }

  /**
   * One look for never-handed-on blockers, and for deliveries parked behind endpoints switched from
   * `strict` to `none` (their blocks would never lift); returns how many blockers were handed on.
   */
  async pass(graceMs = STRICT_RELEASE_GRACE_MS): Promise<number> {
    const count = await this.settler.releaseUnreleased(graceMs, BATCH);
    this.recovered.inc(count);
    await this.settler.releaseParkedOfUnordered(BATCH, (endpointId) =>
      this.consumers.ownsEndpoint(endpointId),
    );
    return count;
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.passes.stop();
  }
}
