import { Inject, Injectable } from '@nestjs/common';
import type { Logger } from 'pino';
import { Counter, type Registry } from 'prom-client';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { CLOCK } from '../common/clock.module';
import { LOGGER } from '../common/logger.module';
import { METRICS_REGISTRY } from '../common/metrics.registry';
import { withTimeout } from '../common/with-timeout';
import { deadlineIn, type QueryDeadline } from '../database/query-deadline';
import type { Clock } from '../domain/clock';
import {
  claimedTenantOfDeadLetter,
  deadLetterOfRecord,
  type DeadLetterReason,
  type UnattributedReason,
} from '../domain/dead-letter';
import { deliveryTaskFor, FIRST_ATTEMPT, HEADER, type AttemptState } from '../domain/delivery-task';
import {
  acceptTenantEvent,
  keyNamesTenant,
  parseRecordEvent,
  type AcceptanceRules,
} from '../domain/event-acceptance';
import { readEndpointChangeMarker, type MarkerRead } from '../domain/endpoint-change-marker';
import { NotificationMark } from '../domain/notification-mark';
import { TaskSeal } from '../domain/task-seal';
import { tenantAllowedOnTopic } from '../domain/topic-tenants';
import type { EndpointSnapshot } from '../domain/endpoint-snapshot';
import { isAboutEndpoint } from '../domain/notifications';
import { positionOf, type ConsumedBatch, type ConsumedRecord, type OutgoingRecord } from '../domain/records';
import { TransientError } from '../domain/transient';
import { DeliveryGate } from '../delivery/delivery-gate';
import { EventCatalogue } from '../catalogue/event-catalogue';
import { EndpointCache } from '../endpoints/endpoint-cache';
import { EventLog } from '../event-log/event-log';
import { RecordProducer } from '../kafka/record-producer';
import type { HoldRequest } from '../retry/held-deliveries';
import { RecentEventIds, type BatchEventIds } from './recent-event-ids';

/**
 * The attempt state of a task held straight from the fan-out: no attempt made yet; its age counts
 * from now, as for a delivery the engine turns away (HOOKSTREAM_MAX_ATTEMPT_AGE).
 */
const heldAtFanout = (nowMs: number): AttemptState => ({
  ...FIRST_ATTEMPT,
  firstAttemptAtMs: nowMs,
  lastError: 'endpoint unavailable when fanned out (circuit open or lane hanging)',
});

/**
 * A tenant id as the endpoint cache keys it: a lower-case UUID. PostgreSQL would confirm an
 * upper-case one too, but no endpoint would match it and the event would vanish without a trace.
 */
const CANONICAL_UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** The PostgreSQL calls on a partition's path, each bounded by HOOKSTREAM_FANOUT_DB_TIMEOUT. */
type DatabaseCall = 'marker_refresh' | 'hold' | 'tenant_lookup';

type Routed =
  | { kind: 'dead-letter'; record: OutgoingRecord }
  | { kind: 'deliveries'; records: OutgoingRecord[]; held: HoldRequest[] };

/**
 * Turns a batch of platform events into one delivery task per matching endpoint. The batch's
 * tasks are acknowledged (or held in PostgreSQL) before it resolves, and the runner commits the
 * consumed offsets only after that: at least once, so a crash in between fans a batch out again
 * (the tasks keep their delivery ids; receivers deduplicate by webhook-id). Bad input goes to the
 * DLQ the same way, so it never stalls the partition. README decision 7 says why not a Kafka
 * transaction.
 */
@Injectable()
export class FanoutService {
  private readonly recent = new RecentEventIds(200_000);
  private readonly logger: Logger;
  private readonly timeouts: Counter<'call'>;
  private readonly rules: AcceptanceRules;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(EndpointCache)
    private readonly endpoints: Pick<EndpointCache, 'match' | 'isKnownTenant' | 'refreshEndpoints'>,
    @Inject(RecordProducer) private readonly producer: Pick<RecordProducer, 'send'>,
    @Inject(DeliveryGate) private readonly gate: Pick<DeliveryGate, 'room' | 'hold'>,
    @Inject(EventLog) private readonly eventLog: Pick<EventLog, 'append'>,
    @Inject(EventCatalogue) private readonly catalogue: Pick<EventCatalogue, 'check'>,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(LOGGER) logger: Logger,
    @Inject(TaskSeal) private readonly seal: Pick<TaskSeal, 'seal'>,
    @Inject(NotificationMark) private readonly marks: Pick<NotificationMark, 'check'>,
    @Inject(METRICS_REGISTRY) registry: Registry,
  ) {
    this.logger = logger.child({ component: 'fanout' });
    this.rules = {
      maxEventBytes: config.delivery.maxEventBytes,
      inputTopicTenants: config.kafka.inputTopicTenants,
      checkSchema: (type, data) => this.catalogue.check(type, data),
    };
    this.timeouts = new Counter({
      name: 'hookstream_fanout_database_timeouts_total',
      help:
        'PostgreSQL calls of the fan-out past HOOKSTREAM_FANOUT_DB_TIMEOUT, by call: marker_refresh (went on; ' +
        'NOTIFY or the reload refreshes), hold (sent to the deliveries topic), tenant_lookup (batch retried)',
      labelNames: ['call'],
      registers: [registry],
    });
    for (const call of ['marker_refresh', 'hold', 'tenant_lookup']) this.timeouts.inc({ call }, 0);
  }

  async fanOut(batch: ConsumedBatch): Promise<void> {
    const deliveries: OutgoingRecord[] = [];
    const held: HoldRequest[] = [];
    const deadLetters: OutgoingRecord[] = [];
    const room = new Map<string, number>();
    const ids = this.recent.forBatch();
    /** The endpoints named by the run of markers read last, refreshed in one query before what follows. */
    const changed = new Set<string>();
    for (const record of batch.records) {
      const marker = readEndpointChangeMarker(record);
      if (marker.kind === 'marker') {
        changed.add(marker.endpointId);
        continue;
      }
      await this.refreshBeforeLaterEvents(changed);
      const routed = await this.route(record, marker, room, ids);
      if (routed.kind === 'dead-letter') {
        deadLetters.push(routed.record);
      } else {
        deliveries.push(...routed.records);
        held.push(...routed.held);
      }
    }
    // Markers at the end of the batch too: the next batch's events come after them.
    await this.refreshBeforeLaterEvents(changed);
    // Acknowledged by all in-sync replicas (or committed to PostgreSQL) before the offsets move: a
    // crash in between fans the batch out again (duplicates, never a gap). The producer splits a
    // large batch in order.
    batch.assertOwned?.(); // Not once another member may have taken the partition over (decision 99).
    await Promise.all([
      this.producer.send(this.config.kafka.deliveriesTopic, deliveries),
      this.holdAll(held),
    ]);
    // Only now: a record isolated after a failed send must not have its republished copy skipped.
    ids.remember();
    batch.assertOwned?.();
    await this.producer.send(this.config.kafka.dlqTopic, deadLetters);
  }

  /**
   * Holds tasks for unavailable endpoints; any the database refuses, or does not answer in time, go
   * to the deliveries topic. A hold past its deadline may still commit later: the task is then both
   * held and sent, delivered twice under one webhook-id, which receivers deduplicate (at least once).
   */
  private async holdAll(held: HoldRequest[]): Promise<void> {
    if (held.length === 0) return;
    const outcomes = await Promise.allSettled(
      held.map((request) => this.withDeadline('hold', (deadline) => this.gate.hold(request, deadline))),
    );
    const refused = held.filter((_, index) => outcomes[index].status === 'rejected');
    if (refused.length === 0) return;
    const firstRefusal = outcomes.find((outcome) => outcome.status === 'rejected');
    this.logger.warn(
      { err: firstRefusal?.reason as unknown, refused: refused.length, held: held.length },
      'tasks not held; sent to the deliveries topic instead',
    );
    await this.producer.send(
      this.config.kafka.deliveriesTopic,
      refused.map((request) => ({ key: request.endpointId, value: request.task })),
    );
  }

  /**
   * `room`: what each endpoint may still be sent in this batch (see {@link holdsHere}); `ids`: the
   * event ids fanned out already, remembered once the batch is durable.
   */
  private async route(
    record: ConsumedRecord,
    marker: Exclude<MarkerRead, { kind: 'marker' }>,
    room: Map<string, number>,
    ids: BatchEventIds,
  ): Promise<Routed> {
    const origin = positionOf(record);
    if (marker.kind === 'invalid') {
      return this.deadLetterUnchecked(record, 'invalid_attribute', marker.detail);
    }
    const parsed = parseRecordEvent(record, this.config.delivery.maxEventBytes);
    if (!parsed.ok) return this.deadLetterUnchecked(record, parsed.reason, parsed.detail);
    const event = parsed.event;
    // Only Hookstream publishes hookstream.* types, marked with a MAC; REST refuses the prefix, and
    // here any producer allowed on an input topic is refused it (docs/security.md).
    const mark = this.marks.check(event, record.headers[HEADER.notificationMark]);
    if (mark.kind === 'refused') return this.deadLetter(record, 'reserved_type', mark.detail);
    if (mark.kind === 'unmarked-accepted') {
      this.logger.warn(
        { eventId: event.id, tenantId: event.tenantId, type: event.type },
        'notification without a mark taken (HOOKSTREAM_ACCEPT_UNMARKED_NOTIFICATIONS)',
      );
    }
    if (!(await this.isKnownTenant(event.tenantId))) {
      return this.deadLetter(record, 'unknown_tenant', `tenant ${event.tenantId} does not exist`);
    }
    // Refused before it is remembered as seen or logged in the feed: it was never accepted. The same
    // rules decide what a window replay delivers again (domain/event-acceptance.ts).
    const accepted = acceptTenantEvent(record, event, mark, this.rules);
    if (!accepted.ok) return this.deadLetter(record, accepted.reason, accepted.detail);
    if (ids.seen(`${event.tenantId}:${event.id}`, origin)) {
      this.logger.debug(
        { eventId: event.id, tenantId: event.tenantId },
        'repeated event id; fanned out once already',
      );
      return { kind: 'deliveries', records: [], held: [] };
    }
    const nowMs = this.clock.now();
    // Every accepted event, matched or not: the feed is what the platform published (decision 40).
    this.eventLog.append({
      tenantId: event.tenantId,
      eventId: event.id,
      type: event.type,
      source: event.source,
      subject: event.subject ?? null,
      time: event.time,
      receivedAt: new Date(nowMs),
      // The same text every delivery of it carries (the task's encoding stringifies the same value).
      data: accepted.data,
    });
    const records: OutgoingRecord[] = [];
    const held: HoldRequest[] = [];
    for (const endpoint of this.endpoints.match(event.tenantId, event.type)) {
      // A notification about an endpoint never goes to that endpoint (it is failing or disabled).
      if (isAboutEndpoint(event, endpoint.id)) continue;
      const delivery = deliveryTaskFor(event, endpoint.id, record.timestampMs);
      const task = this.seal.seal(delivery);
      if (this.holdsHere(endpoint, room)) {
        held.push({
          endpointId: endpoint.id,
          deliveryId: delivery.deliveryId,
          publishedAtMs: record.timestampMs,
          task,
          state: heldAtFanout(nowMs),
        });
      } else {
        records.push({ key: endpoint.id, value: task });
      }
    }
    return { kind: 'deliveries', records, held };
  }

  /**
   * Endpoints changed through the API: this replica's cache learns of them before the events after
   * their markers, a run of markers in one query (a tenant changing an endpoint in a loop costs the
   * partition one round trip, not one per change). If PostgreSQL cannot answer, or not in time,
   * LISTEN/NOTIFY and the periodic reload still will; the marker only makes it sooner, so it does
   * not hold the partition up. Empties `changed`.
   */
  private async refreshBeforeLaterEvents(changed: Set<string>): Promise<void> {
    if (changed.size === 0) return;
    const endpointIds = [...changed];
    changed.clear();
    await this.withDeadline('marker_refresh', (deadline) =>
      this.endpoints.refreshEndpoints(endpointIds, deadline),
    ).catch((error: unknown) =>
      this.logger.warn(
        { err: error, endpointIds },
        'could not refresh changed endpoints; NOTIFY or the reload will',
      ),
    );
  }

  /**
   * Strict endpoints keep their own parking; the rest skip a pass through Kafka while down, and a
   * slow endpoint is sent only what its lane keeps at its pace, counted across the batch (`room`):
   * the rest would only be read back and held by the engine, on the thread every tenant shares.
   */
  private holdsHere(endpoint: EndpointSnapshot, room: Map<string, number>): boolean {
    if (endpoint.ordering === 'strict') return false;
    const left = room.get(endpoint.id) ?? this.gate.room(endpoint.id);
    if (left < 1) return true;
    room.set(endpoint.id, left - 1);
    return false;
  }

  /**
   * Throws (a TransientError) while PostgreSQL cannot confirm it, or does not answer in time: the
   * runner retries the batch with its backoff.
   */
  private async isKnownTenant(tenantId: string): Promise<boolean> {
    if (!CANONICAL_UUID.test(tenantId)) return false;
    return this.withDeadline('tenant_lookup', (deadline) => this.endpoints.isKnownTenant(tenantId, deadline));
  }

  /**
   * What `ask` answers, or a TransientError once HOOKSTREAM_FANOUT_DB_TIMEOUT has passed without it:
   * a PostgreSQL that hangs (a failover, dropped packets) rather than refuses must not stall the
   * partition. `ask` is given the same deadline for its queries, whose connections are destroyed
   * once it passes: abandoned, they would keep their pool slots until TCP keepalive found them dead.
   */
  private withDeadline<T>(call: DatabaseCall, ask: (deadline: QueryDeadline) => Promise<T>): Promise<T> {
    const ms = this.config.fanoutDatabaseTimeoutMs;
    return withTimeout(ask(deadlineIn(ms)), ms, () => {
      this.timeouts.inc({ call });
      return new TransientError(
        `${call}: no answer from PostgreSQL within ${ms} ms (HOOKSTREAM_FANOUT_DB_TIMEOUT)`,
      );
    });
  }

  /**
   * Bad input refused before its tenant was checked. Its row goes to the tenant its raw attributes
   * name only if the record key names that tenant and the topic may carry it, as for an event that
   * parses; else it is the operator's, so a principal cannot put rows in the dead-letter list and
   * event view of a tenant it may not speak for (decision 95). The reason stays the parse problem.
   */
  private deadLetterUnchecked(record: ConsumedRecord, reason: DeadLetterReason, detail: string): Routed {
    const claimed = claimedTenantOfDeadLetter(record)?.toLowerCase();
    if (claimed === undefined) return this.deadLetter(record, reason, detail);
    const unattributed: UnattributedReason | null = !keyNamesTenant(record.key, claimed)
      ? 'tenant_key_mismatch'
      : !tenantAllowedOnTopic(this.config.kafka.inputTopicTenants, record.topic, claimed)
        ? 'tenant_not_allowed_on_topic'
        : null;
    if (unattributed === null) return this.deadLetter(record, reason, detail);
    return this.deadLetter(
      record,
      reason,
      `${detail} (not filed under tenant ${claimed}: ${unattributed})`,
      unattributed,
    );
  }

  private deadLetter(
    record: ConsumedRecord,
    reason: DeadLetterReason,
    detail: string,
    unattributed?: UnattributedReason,
  ): Routed {
    this.logger.warn({ origin: positionOf(record), reason, detail }, 'invalid event dead-lettered');
    return { kind: 'dead-letter', record: deadLetterOfRecord(record, reason, detail, unattributed) };
  }
}
