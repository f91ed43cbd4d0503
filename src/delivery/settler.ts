import { Inject, Injectable } from '@nestjs/common';
import type { Logger } from 'pino';
import { CLOCK } from '../common/clock.module';
import { LOGGER } from '../common/logger.module';
import { ThrottledWarning } from '../common/throttled-warning';
import type { Clock } from '../domain/clock';
import { deadLetterOfRecord, deadLetterOfTask, type DeadLetterReason } from '../domain/dead-letter';
import {
  HEADER,
  HELD_ORIGIN,
  type AttemptState,
  type DeliveryTask,
  type HeldOrigin,
} from '../domain/delivery-task';
import { RecordWithdrawn, type ConsumedRecord } from '../domain/records';
import { retryUntilDone } from '../domain/retry-loop';
import { sleepUnlessWithdrawn, unlessWithdrawn } from '../domain/withdrawal';
import type { Settlement } from '../domain/settlement';
import { deadlineIn, type QueryDeadline } from '../database/query-deadline';
import { HeldDeliveries, type HeldDelivery, type HoldRequest } from '../retry/held-deliveries';
import { RetryTopics } from '../retry/retry-topics';
import { StrictParking, type ParkResult } from '../retry/strict-parking';
import { AttemptLog, type AttemptRecord } from './attempt-log';
import { DeliveryMetrics } from './delivery-metrics';
import { Notifier } from './notifications/notifier';
import { EndpointHealth } from './endpoint-health';

/**
 * A delivery of a strict endpoint: one not yet blocking it (it blocks the endpoint if it has to
 * retry), the one blocking it (its parked followers are released when it finishes), or a retry
 * that does not block it (it failed before the endpoint became strict).
 */
export type StrictRole = 'first' | 'blocker' | 'bystander';

/** The delivery a settlement is about. */
export interface Settling {
  task: DeliveryTask;
  /** The state it arrived in (before any attempt made now). */
  state: AttemptState;
  /**
   * The task's bytes as read and verified, MAC and all (src/domain/task-seal.ts): what is written
   * wherever the delivery goes on to wait, so the engine can verify it again when it comes back.
   */
  encoded: Buffer;
  /** Set for deliveries of strict endpoints. */
  strict?: StrictRole;
  /**
   * Strict endpoints: the order key this delivery blocks and parks behind (ordering-key.ts; '' is
   * the whole endpoint stream, as before keys).
   */
  blockKey?: string;
  /**
   * Strict endpoints: whether `blockKey` is the whole stream because the endpoint runs one delivery
   * at a time (a block it makes then holds keyed deliveries too, decision 74).
   */
  wholeStream?: boolean;
  /** The HTTP attempt made now, if one was. */
  attempt?: AttemptRecord;
}

/**
 * Longest one try of a strict park waits for PostgreSQL: its connection is destroyed then, so a park
 * given up as withdrawn cannot commit later, after the next owner of the record handled it.
 */
const PARK_TRY_MS = 5_000;

/**
 * The one place a delivery's outcome is applied (README: one settlement point). Whatever decided it
 * (src/domain/settlement.ts), the settler makes it durable before the record that carried the
 * delivery may be committed: the retry tier or dead-letter write, the held row, the strict
 * block and release, the endpoint disabled; and it records the attempt (log, circuit, metrics).
 * A rejection means the outcome is not durable: the consumer hands the record back.
 */
@Injectable()
export class Settler {
  private readonly logger: Logger;
  private readonly holdFailed: ThrottledWarning;

  constructor(
    @Inject(RetryTopics)
    private readonly topics: Pick<RetryTopics, 'schedule' | 'deadLetter' | 'releaseHeld' | 'releaseParked'>,
    @Inject(HeldDeliveries) private readonly held: Pick<HeldDeliveries, 'hold'>,
    @Inject(StrictParking)
    private readonly parking: Pick<
      StrictParking,
      'park' | 'block' | 'isBlocking' | 'nextParked' | 'unreleased' | 'unpark' | 'parkedOfUnordered'
    >,
    @Inject(EndpointHealth)
    private readonly health: Pick<
      EndpointHealth,
      'recordSuccess' | 'recordFailure' | 'disable' | 'failingTooLongReason' | 'openStreak'
    >,
    @Inject(AttemptLog) private readonly attempts: Pick<AttemptLog, 'append'>,
    private readonly metrics: DeliveryMetrics,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(LOGGER) logger: Logger,
    @Inject(Notifier)
    private readonly notifier: Pick<
      Notifier,
      'endpointDisabled' | 'disableAlreadyReported' | 'endpointFailing' | 'deadLettered'
    >,
  ) {
    this.logger = logger.child({ component: 'settler' });
    this.holdFailed = new ThrottledWarning(
      this.logger,
      'could not hold deliveries in PostgreSQL; they wait in the retry tiers instead',
    );
  }

  /**
   * Attempts logged and counted whose outcome could not be written: DeliveryEngine settles them
   * again with the same attempt, which must not be logged or counted against the circuit twice.
   * Only failures are kept, so a delivery that settles at once costs no entry.
   */
  private readonly recordedUnwritten = new WeakSet<AttemptRecord>();

  async settle(settling: Settling, settlement: Settlement): Promise<void> {
    const { attempt } = settling;
    if (attempt && !this.recordedUnwritten.has(attempt)) this.recordAttempt(settling, settlement);
    try {
      await this.writeOutcome(settling, settlement);
    } catch (error) {
      if (attempt) this.recordedUnwritten.add(attempt);
      throw error;
    }
  }

  /** What the settlement makes durable (tier, hold, dead letter, disable), then counts and hands on. */
  private async writeOutcome(settling: Settling, settlement: Settlement): Promise<void> {
    switch (settlement.kind) {
      case 'delivered':
        this.metrics.delivered(this.clock.now() - settling.task.publishedAtMs);
        break;
      case 'retry':
        if (settling.strict === 'first' || settling.strict === 'blocker') await this.block(settling);
        await this.topics.schedule(settlement.tier, settling.task, settlement.state, settling.encoded);
        break;
      case 'hold':
        if (!(await this.tryHold(settling, settlement.state))) {
          const state = { ...settlement.state, dueAtMs: settlement.orRetryAtMs };
          await this.topics.schedule(settlement.orTier, settling.task, state, settling.encoded);
        }
        break;
      case 'dead-letter':
        await this.deadLetter(settling, settlement.state, settlement.reason, settlement.detail);
        break;
      case 'disable':
        await this.disable(settling.task.endpointId, settlement.reason);
        await this.deadLetter(settling, settlement.state, 'endpoint_disabled', settlement.detail);
        break;
      case 'drop':
        this.logger.info(bindings(settling.task), 'endpoint no longer exists; delivery dropped');
        break;
    }
    this.count(settlement);
    if (!settling.attempt) this.countHeldTurnedAway(settling, settlement);
    const finished = settlement.kind !== 'retry' && settlement.kind !== 'hold';
    if (finished && settling.strict === 'blocker') await this.releaseNextParked(settling.task);
  }

  /**
   * A record of the deliveries or a retry topic that does not decode, or a task without a valid MAC
   * (`task_unauthenticated`): dead-lettered as it is, never attempted.
   */
  async settlePoison(
    record: ConsumedRecord,
    detail: string,
    reason: 'invalid_delivery_record' | 'task_unauthenticated' = 'invalid_delivery_record',
  ): Promise<void> {
    await this.topics.deadLetter(deadLetterOfRecord(record, reason, detail));
    if (reason === 'task_unauthenticated') this.metrics.outcome(reason);
    this.logger.warn(
      { topic: record.topic, partition: record.partition, offset: record.offset, reason, detail },
      reason === 'task_unauthenticated'
        ? 'delivery task without a valid MAC dead-lettered, not sent'
        : 'undecodable delivery record dead-lettered',
    );
  }

  /**
   * Strict ordering, before a first attempt: parks it behind the delivery blocking its endpoint, if
   * any. Waits for PostgreSQL until `withdrawn()` (the record's partition moved, or its consumer
   * stops), then rejects with RecordWithdrawn: at once between tries, or when the try in flight
   * ends, within PARK_TRY_MS. A park is not left while it may still commit: committed after the
   * next owner had delivered the record, it would park it again behind a later delivery of its key.
   */
  admitStrict(
    { task, encoded, blockKey, wholeStream }: Pick<Settling, 'task' | 'encoded' | 'blockKey' | 'wholeStream'>,
    withdrawn?: () => boolean,
  ): Promise<ParkResult> {
    return this.untilDone(
      'park',
      () => this.parking.park(task, blockKey ?? '', encoded, wholeStream ?? false, deadlineIn(PARK_TRY_MS)),
      withdrawn,
      'await',
    ).then((result) => {
      if (result === 'parked') this.metrics.outcome('parked');
      return result;
    });
  }

  /**
   * Strict ordering, before a retry: whether this delivery is the one blocking a key of its endpoint
   * (looked up by delivery, so a block made under another key rule is still found). Gives up with
   * RecordWithdrawn within WITHDRAWAL_POLL_MS of `withdrawn()`, even while the read hangs: it writes
   * nothing, so leaving it is safe. Each try has PARK_TRY_MS: a PostgreSQL that hangs rather than
   * refuses gives its connection back then, and the read is tried again.
   */
  isBlocker(task: DeliveryTask, withdrawn?: () => boolean): Promise<boolean> {
    return this.untilDone(
      'read block',
      () => this.parking.isBlocking(task.endpointId, task.deliveryId, deadlineIn(PARK_TRY_MS)),
      withdrawn,
    );
  }

  /**
   * Strict ordering: a delivery its consumer dead-lettered as `handler_failed` (its own outcome could
   * not be written, the same way each time: a retry record the broker refuses as too large) hands
   * its key on if it blocks one, as a dead-lettered blocker does. Whatever the endpoint's ordering is
   * now: the block names a delivery that will never come back, so nothing else would lift it.
   */
  async releaseAfterIsolation(task: DeliveryTask): Promise<void> {
    if (!(await this.isBlocker(task))) return;
    await this.releaseNextParked(task);
    this.logger.warn(
      bindings(task),
      'strict ordering: a blocker dead-lettered as handler_failed; its key handed on',
    );
  }

  /**
   * Strict ordering: blockers promoted from the parking lot whose hand-on never happened (the
   * process died between `nextParked` and the release, so no tier record of them exists) are handed
   * on now, `graceMs` after their promotion. A release that was only slow, not lost, is sent twice:
   * a duplicate, never a lane stuck behind a delivery nobody will send. Returns how many.
   */
  async releaseUnreleased(graceMs: number, limit: number): Promise<number> {
    const stuck = await this.parking.unreleased(graceMs, limit);
    for (const next of stuck) {
      await this.topics.releaseParked(next.task, next.encoded, this.clock.now());
      await this.parking.unpark(next.id);
      this.logger.warn(
        bindings(next.task),
        'strict ordering: a blocker promoted from the parking lot was never handed on; handed on now',
      );
    }
    return stuck.length;
  }

  /**
   * Hands on, as ordinary deliveries, up to `limit` deliveries parked behind endpoints no longer
   * `strict` (StrictParking.parkedOfUnordered), those of endpoints this replica owns (`owns`), so
   * two replicas do not both send them; returns how many.
   */
  async releaseParkedOfUnordered(limit: number, owns: (endpointId: string) => boolean): Promise<number> {
    let released = 0;
    for (const parked of await this.parking.parkedOfUnordered(limit)) {
      if (!owns(parked.task.endpointId)) continue;
      await this.topics.releaseParked(parked.task, parked.encoded, this.clock.now());
      await this.parking.unpark(parked.id);
      released += 1;
    }
    if (released > 0)
      this.logger.info({ released }, 'deliveries parked behind endpoints no longer strict handed on');
    return released;
  }

  /**
   * A task the fan-out holds at once (its endpoint cannot take it now); rejects if not written.
   * `deadline`: when the fan-out stops waiting for the write.
   */
  async holdAtFanout(request: HoldRequest, deadline: QueryDeadline): Promise<void> {
    await this.held.hold(request, deadline);
    this.metrics.outcome('held_at_fanout');
  }

  /** Held deliveries go back through the shortest tier, due now. */
  releaseHeld(rows: HeldDelivery[], origin: HeldOrigin): Promise<void> {
    return this.topics.releaseHeld(rows, this.clock.now(), origin);
  }

  private recordAttempt(settling: Settling, settlement: Settlement): void {
    const attempt = settling.attempt!;
    const endpointId = settling.task.endpointId;
    this.attempts.append(attempt);
    this.metrics.attempt(attempt.outcome === 'delivered' ? 'delivered' : 'failed', attempt.latencyMs);
    const nowMs = this.clock.now();
    if (settlement.kind === 'delivered') {
      this.health.recordSuccess(endpointId, nowMs);
      this.logger.debug({ ...bindings(settling.task), status: attempt.statusCode }, 'delivered');
      return;
    }
    this.logger.info(
      {
        ...bindings(settling.task),
        attempt: attempt.attempt,
        status: attempt.statusCode,
        error: attempt.error,
      },
      'attempt failed',
    );
    if (this.health.recordFailure(endpointId, nowMs)) {
      // Not awaited: the delivery's own outcome does not depend on it, and the next failure tries again.
      void this.disable(endpointId, this.health.failingTooLongReason()).catch((error: unknown) =>
        this.logger.warn({ err: error, endpointId }, 'could not disable failing endpoint'),
      );
      return;
    }
    const streak = this.health.openStreak(endpointId, nowMs);
    if (streak !== null) {
      this.notifier.endpointFailing(endpointId, settling.task.tenantId, {
        atMs: nowMs,
        ...streak,
        lastStatus: attempt.statusCode,
        lastError: attempt.error,
      });
    }
  }

  /** Disables the endpoint; the replica whose disable changed it tells the tenant (once). */
  private async disable(endpointId: string, reason: string): Promise<void> {
    if (!(await this.health.disable(endpointId, reason))) {
      this.notifier.disableAlreadyReported();
      return;
    }
    // Not awaited: the delivery is settled whether or not the notification gets out now.
    void this.notifier.endpointDisabled(endpointId, reason, this.clock.now());
  }

  private async deadLetter(
    settling: Settling,
    state: AttemptState,
    reason: DeadLetterReason,
    detail: string,
  ): Promise<void> {
    const record = deadLetterOfTask(settling.task, state, reason, detail, settling.encoded);
    await this.topics.deadLetter(record);
    const { task } = settling;
    this.notifier.deadLettered(task.endpointId, task.tenantId, task.eventType, {
      atMs: this.clock.now(),
      eventId: task.eventId,
      reason,
    });
    this.logger.warn(
      { ...bindings(settling.task), attempts: Number(record.headers?.[HEADER.attempt]), reason },
      'delivery dead-lettered',
    );
  }

  private async tryHold(settling: Settling, state: AttemptState): Promise<boolean> {
    const { task, encoded } = settling;
    try {
      await this.held.hold({
        endpointId: task.endpointId,
        deliveryId: task.deliveryId,
        publishedAtMs: task.publishedAtMs,
        task: encoded,
        state,
      });
      return true;
    } catch (error) {
      this.holdFailed.warn(error);
      return false;
    }
  }

  /** Strict ordering: this delivery blocks its key of the endpoint; later ones of that key park behind it. */
  private block({ task, blockKey, wholeStream }: Settling): Promise<void> {
    return this.untilDone('block', () =>
      this.parking.block(task.endpointId, blockKey ?? '', task.deliveryId, wholeStream ?? false),
    );
  }

  /** Hands the oldest parked delivery on as the new blocker (through the shortest tier, due now). */
  private async releaseNextParked(task: DeliveryTask): Promise<void> {
    const next = await this.untilDone('unblock', () =>
      this.parking.nextParked(task.endpointId, task.deliveryId),
    );
    if (!next) return;
    await this.untilDone('release', () =>
      this.topics.releaseParked(next.task, next.encoded, this.clock.now()),
    );
    await this.untilDone('unpark', () => this.parking.unpark(next.id));
  }

  /**
   * Strict-ordering state must be written before the key moves on: retry here, holding only this
   * key. With `withdrawn`, gives up once it is true, rejecting with RecordWithdrawn: the record is
   * not this replica's to deliver any more (or its consumer stops). It leaves a try in flight
   * (`tryInFlight` 'abandon': the try goes on unawaited) or waits for it to end ('await').
   */
  private async untilDone<T>(
    what: string,
    work: () => Promise<T>,
    withdrawn?: () => boolean,
    tryInFlight: 'abandon' | 'await' = 'abandon',
  ): Promise<T> {
    const done = retryUntilDone(work, {
      baseDelayMs: 200,
      maxDelayMs: 5_000,
      stopped: () => withdrawn?.() === true,
      sleep: withdrawn && ((ms) => sleepUnlessWithdrawn(ms, withdrawn)),
      onRetry: (error, waitMs) =>
        this.logger.warn(
          { err: error, step: what },
          `strict ordering: ${what} failed; retrying in ${waitMs} ms`,
        ),
    });
    try {
      return await (withdrawn && tryInFlight === 'abandon' ? unlessWithdrawn(done, withdrawn) : done);
    } catch (error) {
      if (withdrawn?.() === true) throw new RecordWithdrawn();
      throw error;
    }
  }

  /**
   * A held delivery released as a probe or in a batch and turned away again without an attempt has
   * cycled PostgreSQL → Kafka → PostgreSQL: its releaser misjudged the endpoint (README decision 36).
   */
  private countHeldTurnedAway(settling: Settling, settlement: Settlement): void {
    const origin = settling.state.origin;
    if (origin !== HELD_ORIGIN.probe && origin !== HELD_ORIGIN.batch) return;
    if (settlement.occasion !== 'circuit_open' && settlement.occasion !== 'lane_stalled') return;
    this.metrics.heldTurnedAway(origin === HELD_ORIGIN.probe ? 'probe' : 'batch');
    // A probe is expected to be turned away while the endpoint is down; a batch never should be.
    // The counter cannot say which endpoint, or why: a full chaos:cluster run counted 10 once.
    if (origin === HELD_ORIGIN.batch) {
      this.logger.warn(
        { ...bindings(settling.task), occasion: settlement.occasion },
        'a held delivery released in a batch was turned away again',
      );
    }
  }

  private count(settlement: Settlement): void {
    const label = outcomeLabel(settlement);
    // Delivered is counted with its latency, above.
    if (label !== null && label !== 'delivered') this.metrics.outcome(label);
  }
}

/** `hookstream_deliveries_total{outcome}` for a settlement (none for a record not yet due). */
function outcomeLabel(settlement: Settlement): string | null {
  switch (settlement.occasion) {
    case 'attempted':
      if (settlement.kind === 'delivered') return 'delivered';
      return settlement.kind === 'retry' ? 'retried' : 'dead_lettered';
    case 'circuit_open':
      // Turned away past HOOKSTREAM_MAX_ATTEMPT_AGE: a dead letter, as the alert and the DLQ count it.
      return settlement.kind === 'dead-letter' ? 'dead_lettered' : 'circuit_open';
    case 'lane_stalled':
      return settlement.kind === 'dead-letter' ? 'dead_lettered' : 'shed';
    case 'endpoint_gone':
      return 'endpoint_deleted';
    case 'endpoint_disabled':
    case 'endpoint_unreadable':
      return 'dead_lettered';
    case 'not_due':
      return null;
  }
}

function bindings(task: DeliveryTask) {
  return {
    deliveryId: task.deliveryId,
    eventId: task.eventId,
    endpointId: task.endpointId,
    tenantId: task.tenantId,
  };
}
