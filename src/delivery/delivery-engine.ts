import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import type { Logger } from 'pino';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { LOGGER } from '../common/logger.module';
import type { EndpointSnapshot } from '../domain/endpoint-snapshot';
import { EndpointCache } from '../endpoints/endpoint-cache';
import { shedWaitMs } from '../domain/backoff';
import { RetryRouter, type RouteResult } from '../retry/retry-router';
import { AttemptLog } from './attempt-log';
import { decodeTask, attemptStateFromHeaders, type AttemptState, type DeliveryTask } from '../domain/delivery-task';
import { EndpointHealth } from './endpoint-health';
import { HttpSender } from './http-sender';
import { LaneScheduler } from '../domain/lane-scheduler';
import { classifyError, classifyResponse, type AttemptOutcome } from '../domain/attempt-outcome';
import { buildWebhookHeaders } from '../domain/standard-webhooks';
import type { ConsumedRecord } from '../kafka/watermark-consumer';
import { DeliveryMetrics } from './delivery-metrics';
import { StrictOrderStore } from './strict-order-store';

type AttemptResult = 'delivered' | RouteResult;

/** Held deliveries handed back at once to an endpoint that is not failing (see {@link DeliveryEngine.releasable}). */
const RELEASE_BATCH = 500;

export const HTTP_SENDER = Symbol('HTTP_SENDER');

/**
 * Makes one delivery attempt for a consumed record (first attempt or a retry tier's), in the
 * endpoint's lane, and makes its outcome durable before returning: delivered, handed to the next
 * retry tier, or dead-lettered. Shared by the deliveries consumer and every retry tier consumer.
 */
@Injectable()
export class DeliveryEngine implements OnModuleDestroy {
  private readonly lanes: LaneScheduler;
  private readonly logger: Logger;
  private readonly sweeper: NodeJS.Timeout;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(HTTP_SENDER) private readonly sender: HttpSender,
    private readonly cache: EndpointCache,
    private readonly attempts: AttemptLog,
    private readonly router: RetryRouter,
    private readonly health: EndpointHealth,
    private readonly metrics: DeliveryMetrics,
    private readonly strict: StrictOrderStore,
    @Inject(LOGGER) logger: Logger,
  ) {
    this.lanes = new LaneScheduler(config.delivery.maxInFlight, {
      stallAfterMs: config.delivery.laneStallAfterMs,
    });
    this.logger = logger.child({ component: 'delivery' });
    const sweepEveryMs = Math.max(50, Math.min(250, config.delivery.laneStallAfterMs / 4));
    this.sweeper = setInterval(() => this.lanes.shedStalled(), sweepEveryMs);
    this.sweeper.unref();
  }

  onModuleDestroy(): void {
    clearInterval(this.sweeper);
  }

  inFlight(): number {
    return this.lanes.inFlight();
  }

  /** `source` says whether the record is a first attempt (deliveries topic) or came from a retry tier. */
  async handle(record: ConsumedRecord, source: 'first' | 'retry' = 'first'): Promise<void> {
    let task: DeliveryTask;
    try {
      task = decodeTask(record.value);
    } catch (error) {
      await this.router.deadLetterPoison(record, (error as Error).message);
      return;
    }
    const state = attemptStateFromHeaders(record.headers);
    const endpoint = this.cache.get(task.endpointId);
    if (!endpoint) {
      this.logger.info(
        {
          deliveryId: task.deliveryId,
          eventId: task.eventId,
          endpointId: task.endpointId,
          tenantId: task.tenantId,
        },
        'endpoint no longer exists; delivery dropped',
      );
      this.metrics.outcome('endpoint_deleted');
      return;
    }
    if (!endpoint.enabled) {
      await this.router.deadLetter(task, state, 'endpoint_disabled', 'endpoint is disabled');
      this.metrics.outcome('dead_lettered');
      // A disabled strict endpoint drains its parked deliveries into the DLQ too, in order.
      if (endpoint.ordering === 'strict' && source === 'retry') {
        await this.lanes.run(endpoint.id, 1, () => this.releaseNext(endpoint.id, task.deliveryId));
      }
      return;
    }
    if (endpoint.ordering === 'strict') {
      await this.lanes.run(endpoint.id, 1, () => this.strictAttempt(task, state, endpoint, source));
      return;
    }
    if (this.health.isShut(endpoint.id, Date.now())) {
      // The circuit is open: no need to queue behind the lane just to be postponed one at a time.
      await this.waitForCircuit(task, state, endpoint, { encoded: record.value ?? undefined });
      return;
    }
    await this.lanes.run(
      endpoint.id,
      endpoint.maxConcurrency,
      () => this.attempt(task, state, endpoint),
      (stalledForMs) => this.shed(task, state, stalledForMs, record.value ?? undefined),
    );
  }

  /** The endpoint cannot take a delivery now: its circuit refuses attempts, or its lane hangs. */
  unavailable(endpointId: string, nowMs: number): boolean {
    return this.health.isShut(endpointId, nowMs) || this.lanes.isHanging(endpointId);
  }

  /**
   * How many of the endpoint's held deliveries may go back now: none while its circuit refuses
   * attempts or its lane hangs; one while it is failing (the probe, once its lane is idle); a batch
   * otherwise. An endpoint this process no longer knows, or that is disabled, gets a batch: the
   * deliveries are then dropped or dead-lettered as any other would be.
   */
  releasable(endpointId: string, nowMs: number): number {
    if (this.unavailable(endpointId, nowMs)) return 0;
    if (this.health.failingSinceMs(endpointId) === null) return RELEASE_BATCH;
    return this.lanes.laneDepth(endpointId) === 0 ? 1 : 0;
  }

  /**
   * The endpoint's lane is stalled (it hangs, or is far slower than its traffic): rather than wait in
   * memory and hold its partition's window, the delivery is held in PostgreSQL until the lane moves
   * (or, if that fails, waits in a retry tier, {@link shedWaitMs}). No attempt is counted; order was
   * never promised (ordering `none`).
   */
  private async shed(
    task: DeliveryTask,
    state: AttemptState,
    stalledForMs: number,
    encoded?: Buffer,
  ): Promise<AttemptResult> {
    const nowMs = Date.now();
    const failingSince = this.health.failingSinceMs(task.endpointId);
    const waitMs = shedWaitMs({
      stalledForMs,
      attemptTimeoutMs: this.config.delivery.timeoutMs,
      failingForMs: failingSince === null ? null : nowMs - failingSince,
      circuitOpenMs: this.config.delivery.circuitOpenMs,
    });
    const result = await this.router.postpone(
      task,
      state,
      nowMs + waitMs,
      `endpoint lane stalled for ${stalledForMs} ms`,
      { hold: true, encoded },
    );
    this.metrics.outcome(result === 'dead-lettered' ? 'dead_lettered' : 'shed');
    this.logger.debug(
      { deliveryId: task.deliveryId, endpointId: task.endpointId, stalledForMs },
      'lane stalled; delivery moved to a retry tier',
    );
    return result;
  }

  /**
   * Strict ordering: while one delivery of the endpoint is in retry, later ones are parked behind it
   * (in PostgreSQL) and released one at a time, in order, once it is delivered or dead-lettered.
   */
  private async strictAttempt(
    task: DeliveryTask,
    state: AttemptState,
    endpoint: EndpointSnapshot,
    source: 'first' | 'retry',
  ): Promise<void> {
    if (source === 'first') {
      const parked = await this.untilDone('park', () => this.strict.park(task));
      if (parked === 'parked') {
        this.metrics.outcome('parked');
        return;
      }
      if (parked === 'not-blocked') {
        await this.attempt(task, state, endpoint, () =>
          this.untilDone('block', () => this.strict.block(endpoint.id, task.deliveryId)),
        );
        return;
      }
      // 'is-blocker': this record blocked the endpoint before a crash; attempt it as the blocker.
    } else if (
      (await this.untilDone('read block', () => this.strict.blocker(endpoint.id))) !== task.deliveryId
    ) {
      // A retry that does not block the endpoint (it failed before the endpoint became strict).
      await this.attempt(task, state, endpoint);
      return;
    }
    const result = await this.attempt(task, state, endpoint, () =>
      this.untilDone('block', () => this.strict.block(endpoint.id, task.deliveryId)),
    );
    if (result === 'delivered' || result === 'dead-lettered')
      await this.releaseNext(endpoint.id, task.deliveryId);
  }

  /** Hands the oldest parked delivery on as the new blocker (through the first retry tier, due now). */
  private async releaseNext(endpointId: string, finishedDeliveryId: string): Promise<void> {
    const next = await this.untilDone('unblock', () =>
      this.strict.nextParked(endpointId, finishedDeliveryId),
    );
    if (!next) return;
    await this.untilDone('release', () => this.router.release(next.task));
    await this.untilDone('unpark', () => this.strict.unpark(next.id));
  }

  /** Strict-ordering state must be written before the lane moves on: retry here, holding only this lane. */
  private async untilDone<T>(what: string, work: () => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await work();
      } catch (error) {
        const waitMs = Math.min(5_000, 200 * 2 ** attempt);
        this.logger.warn(
          { err: error, step: what },
          `strict ordering: ${what} failed; retrying in ${waitMs} ms`,
        );
        await new Promise((resolve) => setTimeout(resolve, waitMs));
      }
    }
  }

  private async attempt(
    task: DeliveryTask,
    state: AttemptState,
    endpoint: EndpointSnapshot,
    beforeRetry?: () => Promise<void>,
  ): Promise<AttemptResult> {
    const firstAttemptAtMs = state.firstAttemptAtMs ?? Date.now();
    if (!this.health.canAttempt(endpoint.id, Date.now())) {
      return this.waitForCircuit(task, state, endpoint, { beforeRetry });
    }
    const outcome = await this.send(task, state, endpoint);
    const bindings = {
      deliveryId: task.deliveryId,
      eventId: task.eventId,
      endpointId: endpoint.id,
      tenantId: task.tenantId,
      attempt: state.attempt,
    };
    if (outcome.kind === 'delivered') {
      this.health.recordSuccess(endpoint.id, Date.now());
      this.metrics.delivered(Date.now() - task.publishedAtMs);
      this.logger.debug({ ...bindings, status: outcome.status }, 'delivered');
      return 'delivered';
    }
    this.health.recordFailure(endpoint.id, Date.now());
    this.logger.info({ ...bindings, status: outcome.status, error: outcome.error }, 'attempt failed');
    if (outcome.disableEndpoint) {
      await this.health.disable(endpoint.id, `endpoint answered ${outcome.error}; disabled`);
    }
    const result = await this.router.afterFailure(task, { ...state, firstAttemptAtMs }, outcome, beforeRetry);
    this.metrics.outcome(result === 'retrying' ? 'retried' : 'dead_lettered');
    return result;
  }

  /**
   * The circuit is open: wait instead of hammering the endpoint; held in PostgreSQL unless the
   * endpoint is strict (strict ordering parks its own deliveries and waits in the tiers).
   */
  private async waitForCircuit(
    task: DeliveryTask,
    state: AttemptState,
    endpoint: EndpointSnapshot,
    { beforeRetry, encoded }: { beforeRetry?: () => Promise<void>; encoded?: Buffer } = {},
  ): Promise<AttemptResult> {
    this.metrics.outcome('circuit_open');
    return this.router.postpone(
      task,
      { ...state, firstAttemptAtMs: state.firstAttemptAtMs ?? Date.now() },
      this.health.nextChanceAtMs(endpoint.id, Date.now()),
      'circuit open',
      { beforeRetry, hold: endpoint.ordering !== 'strict', encoded },
    );
  }

  private async send(
    task: DeliveryTask,
    state: AttemptState,
    endpoint: EndpointSnapshot,
  ): Promise<AttemptOutcome> {
    const body = JSON.stringify({
      id: task.eventId,
      type: task.eventType,
      timestamp: task.eventTime,
      data: task.data,
    });
    const headers = {
      ...endpoint.headers,
      ...buildWebhookHeaders({
        id: task.eventId,
        timestampSeconds: Math.floor(Date.now() / 1000),
        body,
        secrets: endpoint.secrets,
      }),
    };
    const attemptedAt = new Date();
    let outcome: AttemptOutcome;
    let latencyMs: number;
    let responseBody: string | null = null;
    const started = performance.now();
    try {
      const response = await this.sender.post(endpoint.url, headers, body);
      latencyMs = response.latencyMs;
      responseBody = response.body;
      outcome = classifyResponse({ status: response.status, headers: response.headers, nowMs: Date.now() });
    } catch (error) {
      latencyMs = Math.round(performance.now() - started);
      outcome = classifyError(error);
    }
    this.metrics.attempt(outcome.kind, latencyMs);
    this.attempts.append({
      endpointId: endpoint.id,
      tenantId: task.tenantId,
      eventId: task.eventId,
      deliveryId: task.deliveryId,
      attempt: state.attempt,
      statusCode: outcome.status,
      error: outcome.kind === 'failed' ? outcome.error : null,
      outcome: outcome.kind,
      latencyMs,
      responseBody: responseBody === null ? null : stripNul(responseBody),
      attemptedAt,
    });
    return outcome;
  }
}

/** PostgreSQL text cannot hold NUL characters; a receiver may send them. */
function stripNul(text: string): string {
  return text.includes('\u0000') ? text.split('\u0000').join('') : text;
}
