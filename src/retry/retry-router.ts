import { Inject, Injectable } from '@nestjs/common';
import type { Logger } from 'pino';
import type { AppConfig, RetryTier } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { LOGGER } from '../common/logger.module';
import { ThrottledWarning } from '../common/throttled-warning';
import { RecordProducer } from '../kafka/record-producer';
import type { ConsumedRecord } from '../kafka/watermark-consumer';
import {
  attemptStateToHeaders,
  encodeTask,
  HEADER,
  type AttemptState,
  type DeliveryTask,
} from '../domain/delivery-task';
import type { AttemptOutcome } from '../domain/attempt-outcome';
import { jitteredDelayMs, planNextAttempt } from '../domain/backoff';
import { HeldDeliveries, type HeldDelivery } from './held-deliveries';

/** `held`: waiting in PostgreSQL until the endpoint can take it (README decision 22). */
export type RouteResult = 'retrying' | 'held' | 'dead-lettered';

export type DeadLetterReason =
  'attempts_exhausted' | 'max_age_exceeded' | 'endpoint_disabled' | 'invalid_delivery_record';

/**
 * Decides what happens after a failed attempt, and makes it durable before the caller's offset may
 * be committed: the next retry tier (with its due time in headers) or the dead-letter topic.
 * The only place that knows the retry schedule.
 */
@Injectable()
export class RetryRouter {
  private readonly logger: Logger;
  private readonly holdFailed: ThrottledWarning;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly producer: RecordProducer,
    private readonly held: HeldDeliveries,
    @Inject(LOGGER) logger: Logger,
  ) {
    this.logger = logger.child({ component: 'retry' });
    this.holdFailed = new ThrottledWarning(
      this.logger,
      'could not hold deliveries in PostgreSQL; they wait in the retry tiers instead',
    );
  }

  /** `beforeRetry` runs before the retry record is written (strict ordering blocks the endpoint there). */
  async afterFailure(
    task: DeliveryTask,
    state: AttemptState,
    outcome: AttemptOutcome & { kind: 'failed' },
    beforeRetry?: () => Promise<void>,
  ): Promise<RouteResult> {
    const failed: AttemptState = { ...state, lastError: outcome.error, lastStatus: outcome.status };
    if (outcome.disableEndpoint) {
      await this.deadLetter(task, failed, 'endpoint_disabled', outcome.error);
      return 'dead-lettered';
    }
    const nowMs = Date.now();
    const plan = planNextAttempt({
      attempt: state.attempt,
      delaysMs: this.config.kafka.retryTiers.map((tier) => tier.delayMs),
      firstAttemptAtMs: state.firstAttemptAtMs ?? nowMs,
      nowMs,
      maxAgeMs: this.config.delivery.maxAttemptAgeMs,
      retryAfterMs: outcome.retryAfterMs,
      retryAfterCapMs: this.config.delivery.retryAfterCapMs,
      random: Math.random,
    });
    if (plan.kind === 'dead-letter') {
      await this.deadLetter(task, failed, plan.reason, outcome.error);
      return 'dead-lettered';
    }
    await beforeRetry?.();
    await this.toTier(this.config.kafka.retryTiers[plan.tierIndex], task, {
      ...failed,
      attempt: state.attempt + 1,
      dueAtMs: plan.dueAtMs,
    });
    return 'retrying';
  }

  /** Strict ordering: the next parked delivery goes through the first tier, due at once. */
  async release(task: DeliveryTask): Promise<void> {
    await this.toTier(this.tierFor(0), task, {
      attempt: 1,
      firstAttemptAtMs: null,
      dueAtMs: Date.now(),
      lastError: null,
      lastStatus: null,
      origin: 'strict-release',
    });
  }

  /**
   * Not attempted now (the circuit is open, or the endpoint's lane is stalled); no attempt is counted.
   * With `hold` the delivery waits in PostgreSQL until its endpoint can take it ({@link HeldDeliveries});
   * otherwise, or if that write fails, in a tier until `notBeforeMs`. `why` stands in as the last
   * error when there is none yet.
   */
  async postpone(
    task: DeliveryTask,
    state: AttemptState,
    notBeforeMs: number,
    why: string,
    options: { beforeRetry?: () => Promise<void>; hold?: boolean; encoded?: Buffer } = {},
  ): Promise<RouteResult> {
    const nowMs = Date.now();
    if (nowMs - (state.firstAttemptAtMs ?? nowMs) > this.config.delivery.maxAttemptAgeMs) {
      await this.deadLetter(task, state, 'max_age_exceeded', state.lastError ?? why);
      return 'dead-lettered';
    }
    // The age clock starts when a delivery is first turned away, if no attempt started it.
    const waiting: AttemptState = {
      ...state,
      firstAttemptAtMs: state.firstAttemptAtMs ?? nowMs,
      lastError: state.lastError ?? why,
    };
    if (options.hold && (await this.tryHold(task, waiting, options.encoded))) return 'held';
    const tier = this.tierFor(Math.max(0, notBeforeMs - nowMs));
    const dueAtMs = Math.max(notBeforeMs, nowMs + jitteredDelayMs(tier.delayMs, Math.random));
    await options.beforeRetry?.();
    await this.toTier(tier, task, { ...waiting, dueAtMs });
    return 'retrying';
  }

  private async tryHold(task: DeliveryTask, state: AttemptState, encoded?: Buffer): Promise<boolean> {
    try {
      await this.held.hold({
        endpointId: task.endpointId,
        publishedAtMs: task.publishedAtMs,
        task: encoded ?? encodeTask(task),
        state: { ...state, dueAtMs: null },
      });
      return true;
    } catch (error) {
      this.holdFailed.warn(error);
      return false;
    }
  }

  /** Held deliveries go back through the shortest tier, due now, in the order they were held. */
  async releaseHeld(held: HeldDelivery[]): Promise<void> {
    const tier = this.tierFor(0);
    const dueAtMs = Date.now();
    await this.producer.send(
      tier.topic,
      held.map(({ endpointId, task, state }) => ({
        key: endpointId,
        value: task,
        headers: attemptStateToHeaders({ ...state, dueAtMs }),
      })),
    );
  }

  /** A record read from a tier before its own due time (a long Retry-After): move it along. */
  async hop(task: DeliveryTask, state: AttemptState): Promise<void> {
    const waitMs = Math.max(0, (state.dueAtMs ?? 0) - Date.now());
    await this.toTier(this.tierFor(waitMs), task, state);
  }

  /** The tier with the longest delay not past `waitMs` (the shortest tier when none fits). */
  tierFor(waitMs: number): RetryTier {
    const tiers = [...this.config.kafka.retryTiers].sort((a, b) => a.delayMs - b.delayMs);
    return tiers.filter((tier) => tier.delayMs <= waitMs).pop() ?? tiers[0];
  }

  async deadLetter(
    task: DeliveryTask,
    state: AttemptState,
    reason: DeadLetterReason,
    detail: string,
  ): Promise<void> {
    const attempts =
      reason === 'endpoint_disabled' && state.lastError === null ? state.attempt - 1 : state.attempt;
    await this.producer.send(this.config.kafka.dlqTopic, [
      {
        key: task.endpointId,
        value: encodeTask(task),
        headers: {
          ...attemptStateToHeaders({ ...state, attempt: attempts }),
          [HEADER.reason]: reason,
          [HEADER.reasonDetail]: detail.slice(0, 500),
        },
      },
    ]);
    this.logger.warn(
      {
        deliveryId: task.deliveryId,
        eventId: task.eventId,
        endpointId: task.endpointId,
        tenantId: task.tenantId,
        attempts,
        reason,
      },
      'delivery dead-lettered',
    );
  }

  async deadLetterPoison(record: ConsumedRecord, detail: string): Promise<void> {
    await this.producer.send(this.config.kafka.dlqTopic, [
      {
        key: record.key,
        value: record.value,
        headers: {
          ...record.headers,
          [HEADER.reason]: 'invalid_delivery_record',
          [HEADER.reasonDetail]: detail.slice(0, 500),
          [HEADER.origin]: `${record.topic}/${record.partition}/${record.offset}`,
        },
      },
    ]);
    // No ids to bind: the record could not be decoded. Its position identifies it instead.
    this.logger.warn(
      {
        topic: record.topic,
        partition: record.partition,
        offset: record.offset,
        reason: 'invalid_delivery_record',
        detail,
      },
      'undecodable delivery record dead-lettered',
    );
  }

  private async toTier(tier: RetryTier, task: DeliveryTask, state: AttemptState): Promise<void> {
    await this.producer.send(tier.topic, [
      { key: task.endpointId, value: encodeTask(task), headers: attemptStateToHeaders(state) },
    ]);
  }
}
