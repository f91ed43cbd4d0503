import { Inject, Injectable, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { CLOCK, RANDOM } from '../common/clock.module';
import { classifyError, classifyResponse, type AttemptOutcome } from '../domain/attempt-outcome';
import { shedWaitMs } from '../domain/backoff';
import type { Clock, Random } from '../domain/clock';
import { attemptStateFromHeaders, type AttemptState, type DeliveryTask } from '../domain/delivery-task';
import type { EndpointSnapshot } from '../domain/endpoint-snapshot';
import { KeyedLimit, KeyedLine } from '../domain/keyed-line';
import { LaneScheduler } from '../domain/lane-scheduler';
import { laneOrderKey } from '../domain/ordering-key';
import { RecordWithdrawn, type ConsumedRecord } from '../domain/records';
import { afterAttempt, onArrival, turnedAway, type RetryPolicy, type Settlement } from '../domain/settlement';
import { buildWebhookHeaders } from '../domain/standard-webhooks';
import { TaskSeal, UnauthenticatedTask, type OpenedTask } from '../domain/task-seal';
import { EndpointCache } from '../endpoints/endpoint-cache';
import { ConsumerRunner } from '../kafka/consumer-runner';
import type { AttemptRecord } from './attempts.repository';
import { DeliveryMetrics } from './delivery-metrics';
import { EndpointHealth } from './endpoint-health';
import { EndpointLookups } from './endpoint-lookups';
import { HttpSender } from './http-sender';
import { Settler, type Settling, type StrictRole } from './settler';

export const HTTP_SENDER = Symbol('HTTP_SENDER');

/** What the engine needs of the HTTP client (HttpSender): POST and report status, headers, body. */
export type WebhookPoster = Pick<HttpSender, 'post'>;

/**
 * Handles one delivery record, a first attempt or a retry tier's: decides on arrival (src/domain/
 * settlement.ts) whether to attempt, makes the attempt in the endpoint's lane, and hands the outcome
 * to the settler, which makes it durable before this returns. Shared by the deliveries consumer and
 * every retry tier consumer. Never decides what a failure leads to: the policy does.
 */
@Injectable()
export class DeliveryEngine implements OnModuleInit, OnModuleDestroy {
  private readonly lanes: LaneScheduler;
  /**
   * Deliveries of strict endpoints, one line per order key of an endpoint: each waits here for the
   * one before it of its key to finish, and for its admission (PostgreSQL), before it takes a slot in
   * the lanes. A key waiting out a PostgreSQL outage then holds its key, not a global or tenant slot
   * that the endpoints of other tenants, or the non-strict ones of its own, would have (decision 100).
   */
  private readonly strictLines = new KeyedLine();
  /**
   * Strict admissions and dead-letter drains running at once: per endpoint at most its
   * maxConcurrency, per tenant HOOKSTREAM_TENANT_MAX_IN_FLIGHT, in all HOOKSTREAM_MAX_IN_FLIGHT, the
   * bounds the lanes gave them when they ran in a slot, so a burst of keys (of one endpoint, or of a
   * tenant's many strict endpoints) does not queue a PostgreSQL transaction per key on the pool.
   */
  private readonly admissions = {
    endpoint: new KeyedLimit(),
    tenant: new KeyedLimit(),
    all: new KeyedLimit(),
  };
  private readonly lookups: EndpointLookups;
  /**
   * Attempts made whose outcome could not be written (the broker refused past the producer's
   * retries, a tier topic missing, PostgreSQL down for a `disable`), by the record they came from:
   * the consumer runs the record again, and it then writes that outcome again instead of making
   * the attempt again (which ignored the tier delay and Retry-After, and logged another attempt).
   */
  private readonly unwritten = new WeakMap<
    ConsumedRecord,
    { attempt: AttemptRecord; settlement: Settlement }
  >();
  private readonly policy: RetryPolicy;
  private sweeper?: NodeJS.Timeout;
  /** The consumers' withdrawal count at the last sweep that looked for withdrawn deliveries. */
  private withdrawalsSeen = 0;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(HTTP_SENDER) private readonly sender: WebhookPoster,
    @Inject(EndpointCache) private readonly endpoints: Pick<EndpointCache, 'get' | 'lookup'>,
    @Inject(EndpointHealth)
    private readonly health: Pick<
      EndpointHealth,
      'isShut' | 'nextChanceAtMs' | 'canAttempt' | 'failingSinceMs'
    >,
    @Inject(Settler)
    private readonly settler: Pick<
      Settler,
      'settle' | 'settlePoison' | 'admitStrict' | 'isBlocker' | 'releaseAfterIsolation'
    >,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(RANDOM) private readonly random: Random,
    @Inject(TaskSeal) private readonly seal: Pick<TaskSeal, 'open' | 'seal'>,
    @Inject(DeliveryMetrics) private readonly metrics: Pick<DeliveryMetrics, 'unsealedAccepted'>,
    @Inject(ConsumerRunner) private readonly consumers: Pick<ConsumerRunner, 'withdrawals'>,
  ) {
    this.lanes = new LaneScheduler(config.delivery.maxInFlight, {
      stallAfterMs: config.delivery.laneStallAfterMs,
      groupLimit: config.limits.tenantMaxInFlight,
      now: () => clock.now(),
    });
    this.lookups = new EndpointLookups((endpointId) => endpoints.lookup(endpointId));
    this.policy = {
      tierDelaysMs: config.kafka.retryTiers.map((tier) => tier.delayMs),
      maxAttemptAgeMs: config.delivery.maxAttemptAgeMs,
      retryAfterCapMs: config.delivery.retryAfterCapMs,
    };
  }

  /** Looks for stalled lanes a few times per stall period, so a hanging endpoint's queue is held soon. */
  onModuleInit(): void {
    const sweepEveryMs = Math.max(50, Math.min(250, this.config.delivery.laneStallAfterMs / 4));
    this.sweeper = setInterval(() => this.shedStalledLanes(), sweepEveryMs);
    this.sweeper.unref();
  }

  onModuleDestroy(): void {
    clearInterval(this.sweeper);
  }

  /**
   * Skips queued deliveries whose partition moved to another replica (it reads them again once this
   * one has released the partition), then holds the queued deliveries of every stalled lane but its
   * head; returns how many were held. The queues, thousands of deliveries when an endpoint is
   * behind, are read for withdrawn ones only after a consumer lost partitions or began to stop:
   * asking each on every sweep was 3 % of the service's CPU at full load (README decision 85).
   */
  shedStalledLanes(): number {
    const withdrawals = this.consumers.withdrawals();
    if (withdrawals !== this.withdrawalsSeen) {
      this.withdrawalsSeen = withdrawals;
      this.lanes.dropWithdrawn();
    }
    return this.lanes.shedStalled();
  }

  inFlight(): number {
    return this.lanes.inFlight();
  }

  /** `source` says whether the record is a first attempt (deliveries topic) or came from a retry tier. */
  async handle(record: ConsumedRecord, source: 'first' | 'retry'): Promise<void> {
    // Verified before anything else: a task Hookstream did not write is never signed and sent.
    let opened: OpenedTask;
    try {
      opened = this.seal.open(record.value);
    } catch (error) {
      const reason =
        error instanceof UnauthenticatedTask ? 'task_unauthenticated' : 'invalid_delivery_record';
      await this.settler.settlePoison(record, (error as Error).message, reason);
      return;
    }
    const { task } = opened;
    if (!opened.sealed) this.metrics.unsealedAccepted();
    // The record's partition moved to another replica before its turn: not attempted here.
    const moved = () => record.stillOwned?.() === false;
    const settling: Settling = {
      task,
      state: attemptStateFromHeaders(record.headers),
      // A task taken without a MAC during an upgrade waits on, if it must, with one.
      encoded: opened.sealed ? record.value! : this.seal.seal(task),
    };
    // Not in this process's cache: PostgreSQL decides; only an endpoint it says is gone is dropped.
    // Deliveries that wait for it keep their order (EndpointLookups), and later ones queue behind them.
    const endpoint =
      (!this.lookups.waiting(task.endpointId) && this.endpoints.get(task.endpointId)) ||
      (await this.lookups.endpoint(task.endpointId, moved));
    const nowMs = this.clock.now();
    const arrival = onArrival({
      source,
      state: settling.state,
      nowMs,
      endpoint,
      circuit: {
        shut: this.health.isShut(task.endpointId, nowMs),
        nextChanceAtMs: this.health.nextChanceAtMs(task.endpointId, nowMs),
      },
      policy: this.policy,
      random: this.random,
    });
    if (arrival.kind === 'settle') {
      // A strict endpoint that is disabled drains its parked deliveries into the DLQ too, in order.
      if (
        endpoint?.ordering === 'strict' &&
        source === 'retry' &&
        arrival.settlement.kind === 'dead-letter'
      ) {
        const draining: Settling = { ...settling, strict: 'blocker' };
        // Nothing is sent: its key's line is all it needs, not a slot in the lanes.
        await this.strictLines.run(strictLine(endpoint.id, laneOrderKey(endpoint, task.orderingKey)), () =>
          this.admitted(endpoint, () => {
            if (moved()) throw new RecordWithdrawn();
            return this.settler.settle(draining, arrival.settlement);
          }),
        );
        return;
      }
      await this.settler.settle(settling, arrival.settlement);
      return;
    }
    const target = endpoint!;
    // Same key, one at a time and in order; other keys beside it up to maxConcurrency (ordering-key.ts).
    const orderKey = laneOrderKey(target, task.orderingKey);
    if (arrival.kind === 'attempt-strict') {
      const strictSettling: Settling = {
        ...settling,
        blockKey: orderKey ?? '',
        wholeStream: target.maxConcurrency <= 1,
      };
      await this.strictLines.run(strictLine(target.id, orderKey), () =>
        this.strictTurn(strictSettling, target, source, record, moved),
      );
      return;
    }
    await this.lanes.run(
      target.id,
      target.maxConcurrency,
      () => this.turn(settling, target, record),
      (stalledForMs) => this.shed(settling, stalledForMs),
      task.tenantId,
      moved,
      orderKey,
    );
  }

  /**
   * A record the consumer dead-lettered as `handler_failed` after `handle` failed on it the same way
   * three times (CONSUMER.deliveryIsolated): a strict blocker among them hands its key on. A record
   * that is not a task blocks nothing.
   */
  async afterIsolation(record: ConsumedRecord): Promise<void> {
    let opened: OpenedTask;
    try {
      opened = this.seal.open(record.value);
    } catch {
      return;
    }
    await this.settler.releaseAfterIsolation(opened.task);
  }

  /**
   * The endpoint cannot take a delivery now: its circuit refuses attempts, or its lane hangs or is
   * overloaded (a new delivery would be shed).
   */
  unavailable(endpointId: string, nowMs: number): boolean {
    return this.health.isShut(endpointId, nowMs) || this.lanes.isSaturated(endpointId);
  }

  /**
   * New deliveries the endpoint takes now before one would be turned away: none while its circuit
   * refuses attempts; otherwise its lane's room (LaneScheduler.room).
   */
  room(endpointId: string, nowMs: number): number {
    return this.health.isShut(endpointId, nowMs) ? 0 : this.lanes.room(endpointId);
  }

  /** The endpoints whose lane hangs now (LaneScheduler.isHanging): what other processes are told. */
  hangingEndpoints(): string[] {
    return this.lanes.hangingKeys();
  }

  /** Deliveries the endpoint's lane can take now without shedding any (see LaneScheduler.headroom). */
  laneHeadroom(endpointId: string): number {
    return this.lanes.headroom(endpointId);
  }

  /** Nothing of the endpoint is queued or running in its lane. */
  laneIdle(endpointId: string): boolean {
    return this.lanes.laneDepth(endpointId) === 0;
  }

  /**
   * Strict ordering, once the delivery before it of its key has finished: a first attempt parks
   * behind the delivery blocking its endpoint, if any; a retry blocks it only if it is that delivery
   * (README decision 10). Admitted, it takes its turn in the endpoint's lane. The admission waits for
   * PostgreSQL outside the lane's slots, and gives up with RecordWithdrawn once the record's
   * partition moved or its consumer stops: the lane does not start it then either, so two replicas
   * never attempt one delivery (decision 100).
   */
  private async strictTurn(
    settling: Settling,
    endpoint: EndpointSnapshot,
    source: 'first' | 'retry',
    record: ConsumedRecord,
    moved: () => boolean,
  ): Promise<void> {
    const strict = await this.admitted(endpoint, () => this.admit(settling, source, moved));
    if (strict === null) return;
    await this.lanes.run(
      endpoint.id,
      endpoint.maxConcurrency,
      () => this.turn({ ...settling, strict }, endpoint, record),
      undefined,
      settling.task.tenantId,
      moved,
      settling.blockKey,
    );
  }

  /**
   * `work` (a strict endpoint's PostgreSQL step outside the lanes) once the endpoint, its tenant and
   * the process each have room: taken in that order, so nothing waits in a circle.
   */
  private admitted<T>(endpoint: EndpointSnapshot, work: () => Promise<T>): Promise<T> {
    const { maxInFlight } = this.config.delivery;
    return this.admissions.endpoint.run(endpoint.id, endpoint.maxConcurrency, () =>
      this.admissions.tenant.run(endpoint.tenantId, this.config.limits.tenantMaxInFlight, () =>
        this.admissions.all.run('', maxInFlight, work),
      ),
    );
  }

  /** A strict delivery's role, or null once it is parked. */
  private async admit(
    settling: Settling,
    source: 'first' | 'retry',
    moved: () => boolean,
  ): Promise<StrictRole | null> {
    if (moved()) throw new RecordWithdrawn();
    if (source === 'retry') {
      return (await this.settler.isBlocker(settling.task, moved)) ? 'blocker' : 'bystander';
    }
    const admission = await this.settler.admitStrict(settling, moved);
    if (admission === 'parked') return null;
    return admission === 'is-blocker' ? 'blocker' : 'first';
  }

  /**
   * The delivery's turn in its lane: one attempt, unless the circuit turns it away, or unless this
   * record's attempt was made already and only its outcome is left to write.
   */
  private async turn(settling: Settling, endpoint: EndpointSnapshot, record: ConsumedRecord): Promise<void> {
    const made = this.unwritten.get(record);
    if (made !== undefined) {
      await this.settler.settle({ ...settling, attempt: made.attempt }, made.settlement);
      this.unwritten.delete(record);
      return;
    }
    const nowMs = this.clock.now();
    const state: AttemptState = {
      ...settling.state,
      firstAttemptAtMs: settling.state.firstAttemptAtMs ?? nowMs,
    };
    if (!this.health.canAttempt(endpoint.id, nowMs)) {
      const settlement = turnedAway({
        occasion: 'circuit_open',
        why: 'circuit open',
        state: settling.state,
        nowMs,
        notBeforeMs: this.health.nextChanceAtMs(endpoint.id, nowMs),
        canHold: endpoint.ordering !== 'strict',
        policy: this.policy,
        random: this.random,
      });
      await this.settler.settle(settling, settlement);
      return;
    }
    const { outcome, record: attempt } = await this.send(settling.task, state, endpoint);
    const settlement: Settlement = afterAttempt({
      outcome,
      state,
      nowMs: this.clock.now(),
      policy: this.policy,
      random: this.random,
    });
    try {
      await this.settler.settle({ ...settling, attempt }, settlement);
    } catch (error) {
      this.unwritten.set(record, { attempt, settlement });
      throw error;
    }
  }

  /**
   * The endpoint's lane is stalled (it hangs, or is far slower than its traffic): rather than wait in
   * memory and hold its partition's window, the delivery is held until the lane moves. No attempt
   * is counted; order was never promised (ordering `none`).
   */
  private async shed(settling: Settling, stalledForMs: number): Promise<void> {
    const nowMs = this.clock.now();
    const failingSince = this.health.failingSinceMs(settling.task.endpointId);
    const waitMs = shedWaitMs({
      stalledForMs,
      attemptTimeoutMs: this.config.delivery.timeoutMs,
      failingForMs: failingSince === null ? null : nowMs - failingSince,
      circuitOpenMs: this.config.delivery.circuitOpenMs,
    });
    const settlement = turnedAway({
      occasion: 'lane_stalled',
      why: `endpoint lane stalled for ${stalledForMs} ms`,
      state: settling.state,
      nowMs,
      notBeforeMs: nowMs + waitMs,
      canHold: true,
      policy: this.policy,
      random: this.random,
    });
    await this.settler.settle(settling, settlement);
  }

  private async send(
    task: DeliveryTask,
    state: AttemptState,
    endpoint: EndpointSnapshot,
  ): Promise<{ outcome: AttemptOutcome; record: AttemptRecord }> {
    const body = JSON.stringify({
      id: task.eventId,
      type: task.eventType,
      timestamp: task.eventTime,
      data: task.data,
    });
    const timestampSeconds = Math.floor(this.clock.now() / 1000);
    const headers = buildWebhookHeaders(
      { id: task.eventId, timestampSeconds, body, secrets: endpoint.secrets },
      endpoint.headers,
    );
    const attemptedAt = new Date(this.clock.now());
    let outcome: AttemptOutcome;
    let latencyMs: number;
    let responseBody: string | null = null;
    const started = performance.now();
    try {
      const response = await this.sender.post(endpoint.url, headers, body);
      latencyMs = response.latencyMs;
      responseBody = response.body;
      outcome = classifyResponse({
        status: response.status,
        headers: response.headers,
        nowMs: this.clock.now(),
      });
    } catch (error) {
      latencyMs = Math.round(performance.now() - started);
      outcome = classifyError(error);
    }
    const record: AttemptRecord = {
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
      // Kept so the tenant can see the request as sent (the portal); the body is in the events feed.
      webhookTimestamp: timestampSeconds,
      webhookSignature: headers['webhook-signature'],
    };
    return { outcome, record };
  }
}

/** The line of a strict endpoint's order key (ordering-key.ts; strict keys are never null). */
function strictLine(endpointId: string, orderKey: string | null): string {
  return `${endpointId}\u0000${orderKey ?? ''}`;
}

/** PostgreSQL text cannot hold NUL characters; a receiver may send them. */
function stripNul(text: string): string {
  return text.includes('\u0000') ? text.split('\u0000').join('') : text;
}
