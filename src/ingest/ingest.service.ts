import { Inject, Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { DomainError } from '../common/domain-error';
import { RecordProducer } from '../kafka/record-producer';
import { toStructuredCloudEvent, type PlatformEvent } from '../domain/cloud-event';

export interface EventToPublish {
  type: string;
  data: unknown;
  id?: string;
  source?: string;
  subject?: string;
  time?: string;
}

/** Events published over HTTP take the same path as those produced to Kafka directly. */
@Injectable()
export class IngestService {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly producer: RecordProducer,
  ) {}

  /** Resolves only once every in-sync replica has the event (acks=all). */
  async publish(tenantId: string, input: EventToPublish): Promise<string> {
    const event: PlatformEvent = {
      specversion: '1.0',
      id: input.id ?? randomUUID(),
      type: input.type,
      source: input.source ?? '/hookstream/api',
      ...(input.subject === undefined ? {} : { subject: input.subject }),
      time: new Date(input.time ?? Date.now()).toISOString(),
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
