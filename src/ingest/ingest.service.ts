import { Inject, Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { Counter, Gauge, type Registry } from 'prom-client';
import { METRICS_REGISTRY } from '../common/metrics.registry';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { CLOCK } from '../common/clock.module';
import { DomainError } from '../common/domain-error';
import { withTimeout } from '../common/with-timeout';
import type { Clock } from '../domain/clock';
import { ATTRIBUTE_RULES } from '../domain/event-contract';
import { isHookstreamType } from '../domain/notifications';
import { idempotencyKeyOf, requestFingerprint, type PublishedFields } from '../domain/idempotency';
import { RecordProducer } from '../kafka/record-producer';
import { EventCatalogue } from '../catalogue/event-catalogue';
import { parseRfc3339, toStructuredCloudEvent, type PlatformEvent } from '../domain/cloud-event';
import { IngestIdempotency, type KeyedPublish } from './ingest-idempotency';
import { IngestRate } from './ingest-rate';

/** What a client publishes: the same fields the idempotency fingerprint covers. */
export type EventToPublish = PublishedFields;

/** The event id a POST is answered with; `replayed` when an earlier request with its key published it. */
export interface PublishAnswer {
  id: string;
  replayed: boolean;
}

/**
 * Events published over HTTP take the same path as those produced to Kafka directly. Each tenant
 * publishes at most HOOKSTREAM_TENANT_INGEST_RATE events a second on this instance (a burst of
 * HOOKSTREAM_TENANT_INGEST_BURST first): beyond it, 429 with Retry-After. A request with an
 * `Idempotency-Key` or an event id is published once per key and tenant within
 * HOOKSTREAM_IDEMPOTENCY_WINDOW (IngestIdempotency); one with neither always publishes a new event.
 *
 * While Kafka is slow or down, what waits for it is bounded: at most HOOKSTREAM_INGEST_BUFFER bytes
 * of events per process (past it, 503 at once, without queueing), each for at most
 * HOOKSTREAM_INGEST_TIMEOUT (then 503; the write may still land, and a keyed event stays claimed
 * by it until it ends, so a retry waits for it rather than publishing a copy).
 */
@Injectable()
export class IngestService {
  /** Bytes of event values sent to Kafka and not yet acknowledged or failed. */
  private waitingBytes = 0;
  private readonly refusals: Counter<'reason'>;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(RecordProducer) private readonly producer: Pick<RecordProducer, 'send'>,
    @Inject(IngestRate) private readonly rate: Pick<IngestRate, 'take'>,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(IngestIdempotency) private readonly idempotency: Pick<IngestIdempotency, 'claim' | 'settle'>,
    @Inject(EventCatalogue) private readonly catalogue: Pick<EventCatalogue, 'check'>,
    @Inject(METRICS_REGISTRY) registry: Registry,
  ) {
    this.refusals = new Counter({
      name: 'hookstream_ingest_unavailable_total',
      help:
        'Published events answered 503 because Kafka did not take them: buffer_full (HOOKSTREAM_INGEST_BUFFER ' +
        'of events already wait), timeout (no acknowledgement within HOOKSTREAM_INGEST_TIMEOUT), failed',
      labelNames: ['reason'],
      registers: [registry],
    });
    const waiting: Gauge = new Gauge({
      name: 'hookstream_ingest_waiting_bytes',
      help: 'Bytes of published events waiting for Kafka to acknowledge them (HOOKSTREAM_INGEST_BUFFER)',
      registers: [registry],
      collect: () => waiting.set(this.waitingBytes),
    });
  }

  /** Resolves only once every in-sync replica has the event (acks=all), or with the earlier answer. */
  async publish(tenantId: string, input: EventToPublish, idempotencyKey?: string): Promise<PublishAnswer> {
    if (isHookstreamType(input.type)) {
      // Hookstream's own notifications: a tenant publishing one could pass it off as Hookstream's.
      throw DomainError.invalid('type: hookstream.* event types are published by Hookstream only');
    }
    const timeMs = eventTimeMs(input.time) ?? this.clock.now();
    await this.rate.take(tenantId, this.clock.now());
    // Before the idempotency claim: a refused body claims no key, so a corrected retry goes through.
    const rejection = this.catalogue.check(input.type, input.data);
    if (rejection !== null) throw DomainError.invalid(rejection.detail);
    const event: PlatformEvent = {
      specversion: '1.0',
      id: input.id ?? randomUUID(),
      type: input.type,
      source: input.source ?? '/hookstream/api',
      ...(input.subject === undefined ? {} : { subject: input.subject }),
      ...(input.partitionkey === undefined ? {} : { partitionKey: input.partitionkey }),
      time: new Date(timeMs).toISOString(),
      tenantId,
      data: input.data,
    };
    const value = toStructuredCloudEvent(event);
    this.checkSize(value);
    const key = idempotencyKeyOf(idempotencyKey, input.id);
    if (key === null) {
      await this.withinDeadline(this.write(event, value));
      return { id: event.id, replayed: false };
    }

    const keyed: KeyedPublish = { tenantId, key, eventId: event.id, bodyHash: requestFingerprint(input) };
    const claim = await this.idempotency.claim(keyed);
    if (claim.kind === 'replay') return { id: claim.eventId, replayed: true };
    // A failed or abandoned claim taken over keeps the id it was first given (same webhook-id).
    const claimed = claim.eventId === event.id ? event : { ...event, id: claim.eventId };
    // Settled when the write really ends, even after this request was answered 503 for the deadline.
    const settled = this.write(claimed, claimed === event ? value : toStructuredCloudEvent(claimed)).then(
      () => this.idempotency.settle(keyed, claim, 'published'),
      async (error: unknown) => {
        await this.idempotency.settle(keyed, claim, 'failed');
        throw error;
      },
    );
    await this.withinDeadline(settled);
    return { id: claimed.id, replayed: false };
  }

  private checkSize(value: string): void {
    const size = Buffer.byteLength(value);
    if (size > this.config.delivery.maxEventBytes) {
      throw new DomainError(
        'payload_too_large',
        `event is ${size} bytes, over the limit of ${this.config.delivery.maxEventBytes}`,
      );
    }
  }

  /** Sends the event to the input topic; rejects with 503 (`unavailable`) when Kafka does not take it. */
  private async write(event: PlatformEvent, value: string): Promise<void> {
    const bytes = Buffer.byteLength(value);
    const limit = this.config.limits.ingestBufferBytes;
    // One event always goes, so an event near the size limit is not refused by a small buffer.
    if (this.waitingBytes > 0 && this.waitingBytes + bytes > limit) {
      this.refusals.inc({ reason: 'buffer_full' });
      throw new DomainError(
        'unavailable',
        `event not accepted: ${this.waitingBytes} bytes of events already wait for Kafka here ` +
          `(HOOKSTREAM_INGEST_BUFFER ${limit})`,
      );
    }
    this.waitingBytes += bytes;
    try {
      await this.producer.send(this.config.kafka.inputTopics[0], [
        { key: event.tenantId, value, headers: { 'content-type': 'application/cloudevents+json' } },
      ]);
    } catch (error) {
      this.refusals.inc({ reason: 'failed' });
      throw new DomainError(
        'unavailable',
        `event not accepted: Kafka did not confirm the write (${(error as Error).message})`,
      );
    } finally {
      this.waitingBytes -= bytes;
    }
  }

  /** `work`'s outcome, or 503 once HOOKSTREAM_INGEST_TIMEOUT has passed (`work` goes on regardless). */
  private async withinDeadline(work: Promise<unknown>): Promise<void> {
    const ms = this.config.limits.ingestTimeoutMs;
    await withTimeout(work, ms, () => {
      this.refusals.inc({ reason: 'timeout' });
      return new DomainError(
        'unavailable',
        `event not confirmed by Kafka within ${ms} ms; it may still be written: retry with the same ` +
          'id or Idempotency-Key to publish it once',
      );
    });
  }
}

/**
 * The event time as epoch ms, by the input topic's rule (the DTO has checked it): `Date` cannot
 * parse a leap second or a lower-case `t`, and would read a time without an offset as local time.
 */
function eventTimeMs(time: string | undefined): number | null {
  if (time === undefined) return null;
  const ms = parseRfc3339(time);
  if (ms === null) throw DomainError.invalid(`time ${ATTRIBUTE_RULES.time}`);
  return ms;
}
