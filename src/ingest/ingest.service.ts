import { Inject, Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { CLOCK } from '../common/clock.module';
import { DomainError } from '../common/domain-error';
import { QuotaMetrics } from '../common/quota-metrics';
import type { Clock } from '../domain/clock';
import { ATTRIBUTE_RULES } from '../domain/event-contract';
import { TokenBuckets } from '../domain/token-bucket';
import { RecordProducer } from '../kafka/record-producer';
import { parseRfc3339, toStructuredCloudEvent, type PlatformEvent } from '../domain/cloud-event';

export interface EventToPublish {
  type: string;
  data: unknown;
  id?: string;
  source?: string;
  subject?: string;
  time?: string;
}

/**
 * Events published over HTTP take the same path as those produced to Kafka directly. Each tenant
 * publishes at most HOOKSTREAM_TENANT_INGEST_RATE events a second on this instance (a burst of
 * HOOKSTREAM_TENANT_INGEST_BURST first): beyond it, 429 with Retry-After.
 */
@Injectable()
export class IngestService {
  private readonly rates: TokenBuckets;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(RecordProducer) private readonly producer: Pick<RecordProducer, 'send'>,
    private readonly quotas: QuotaMetrics,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {
    this.rates = new TokenBuckets({
      ratePerSec: config.limits.tenantIngestRatePerSec,
      burst: config.limits.tenantIngestBurst,
    });
  }

  /** Resolves only once every in-sync replica has the event (acks=all). */
  async publish(tenantId: string, input: EventToPublish): Promise<string> {
    const timeMs = eventTimeMs(input.time) ?? this.clock.now();
    const allowed = this.rates.take(tenantId, 1, this.clock.now());
    if (!allowed.ok) {
      this.quotas.rejected('ingest_rate');
      throw DomainError.rateLimited(
        `tenant publishes more than ${this.config.limits.tenantIngestRatePerSec} events a second (HOOKSTREAM_TENANT_INGEST_RATE)`,
        Math.max(1, Math.ceil(allowed.retryAfterMs / 1000)),
      );
    }
    const event: PlatformEvent = {
      specversion: '1.0',
      id: input.id ?? randomUUID(),
      type: input.type,
      source: input.source ?? '/hookstream/api',
      ...(input.subject === undefined ? {} : { subject: input.subject }),
      time: new Date(timeMs).toISOString(),
      tenantId,
      data: input.data,
    };
    const value = toStructuredCloudEvent(event);
    const size = Buffer.byteLength(value);
    if (size > this.config.delivery.maxEventBytes) {
      throw new DomainError(
        'payload_too_large',
        `event is ${size} bytes, over the limit of ${this.config.delivery.maxEventBytes}`,
      );
    }
    try {
      await this.producer.send(this.config.kafka.inputTopics[0], [
        { key: tenantId, value, headers: { 'content-type': 'application/cloudevents+json' } },
      ]);
    } catch (error) {
      throw new DomainError(
        'unavailable',
        `event not accepted: Kafka did not confirm the write (${(error as Error).message})`,
      );
    }
    return event.id;
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
