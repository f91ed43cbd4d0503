import {
  Inject,
  Injectable,
  type BeforeApplicationShutdown,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { createHash } from 'node:crypto';
import type { Consumer, EachBatchPayload, Kafka, KafkaMessage, Message, Producer } from 'kafkajs';
import type { Logger } from 'pino';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { LOGGER } from '../common/logger.module';
import { KAFKA } from '../kafka/kafka.constants';
import { headersToRecord } from '../kafka/headers';
import { encodeTask, HEADER, type DeliveryTask } from '../delivery/delivery-task';
import { parseCloudEvent, type PlatformEvent } from '../ingest/cloud-event';
import { EndpointCache } from './endpoint-cache';
import { RecentEventIds } from './recent-event-ids';
import { exitOnFatalCrash } from '../kafka/consumer-crash';

/** Well under the broker's default message.max.bytes (1 MiB) per produce request. */
const MAX_REQUEST_BYTES = 512 * 1024;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Consumes platform events and produces one delivery task per matching endpoint, in a Kafka
 * transaction together with the consumed offsets: a crash neither loses nor duplicates tasks.
 * Bad input goes to the DLQ inside the same transaction, so it never stalls the partition.
 */
@Injectable()
export class FanoutService
  implements OnApplicationBootstrap, BeforeApplicationShutdown, OnApplicationShutdown
{
  private consumer?: Consumer;
  /** One transactional producer per input partition: a zombie owner of the partition is fenced. */
  private readonly producers = new Map<string, Promise<Producer>>();
  private readonly recent = new RecentEventIds(200_000);
  private readonly logger: Logger;

  constructor(
    @Inject(KAFKA) private readonly kafka: Kafka,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly cache: EndpointCache,
    @Inject(LOGGER) logger: Logger,
  ) {
    this.logger = logger.child({ component: 'fanout' });
  }

  async onApplicationBootstrap(): Promise<void> {
    if (!this.config.roles.has('fanout')) return;
    const consumer = this.kafka.consumer({
      groupId: this.config.kafka.fanoutGroupId,
      maxWaitTimeInMs: 50,
      // A killed member's partitions move after this long (Kafka's minimum is 6 s).
      sessionTimeout: 10_000,
      heartbeatInterval: 2_000,
      // Bounds one transaction: a batch of events times their fan-out is produced in one go.
      maxBytesPerPartition: 256 * 1024,
      allowAutoTopicCreation: false,
      readUncommitted: false,
    });
    this.consumer = consumer;
    exitOnFatalCrash(consumer, this.logger, 'fan-out');
    await consumer.connect();
    await consumer.subscribe({ topics: this.config.kafka.inputTopics, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      partitionsConsumedConcurrently: this.config.kafka.inputPartitions,
      eachBatch: (payload) => this.onBatch(payload),
    });
    this.logger.info({ topics: this.config.kafka.inputTopics }, 'fan-out consuming');
  }

  private async onBatch({ batch, isRunning, isStale, heartbeat }: EachBatchPayload): Promise<void> {
    if (batch.messages.length === 0 || !isRunning() || isStale()) return;
    const deliveries: Message[] = [];
    const deadLetters: Message[] = [];
    for (const message of batch.messages) {
      const routed = await this.route(batch.topic, batch.partition, message);
      if (routed.kind === 'dead-letter') deadLetters.push(routed.record);
      else deliveries.push(...routed.records);
    }
    const nextOffset = (BigInt(batch.lastOffset()) + 1n).toString();
    const producer = await this.producerFor(batch.topic, batch.partition);
    const transaction = await producer.transaction();
    try {
      // Several requests inside one transaction: kafkajs puts a partition's messages of one request
      // into one record batch, and a batch over the broker's message.max.bytes is refused for good.
      for (const chunk of chunksBySize(deliveries, MAX_REQUEST_BYTES)) {
        await transaction.send({ topic: this.config.kafka.deliveriesTopic, messages: chunk, acks: -1 });
      }
      for (const chunk of chunksBySize(deadLetters, MAX_REQUEST_BYTES)) {
        await transaction.send({ topic: this.config.kafka.dlqTopic, messages: chunk, acks: -1 });
      }
      await transaction.sendOffsets({
        consumerGroupId: this.config.kafka.fanoutGroupId,
        topics: [{ topic: batch.topic, partitions: [{ partition: batch.partition, offset: nextOffset }] }],
      });
      await transaction.commit();
    } catch (error) {
      await transaction.abort().catch(() => undefined);
      // kafkajs re-fetches from the last committed offset: the whole batch is fanned out again.
      this.producers.delete(`${batch.topic}:${batch.partition}`);
      throw error;
    }
    await heartbeat();
  }

  private async route(
    topic: string,
    partition: number,
    message: KafkaMessage,
  ): Promise<{ kind: 'dead-letter'; record: Message } | { kind: 'deliveries'; records: Message[] }> {
    const headers = headersToRecord(message.headers);
    const timestampMs = Number(message.timestamp);
    const origin = `${topic}/${partition}/${message.offset}`;
    const parsed = parseCloudEvent(
      message.value,
      headers,
      this.config.delivery.maxEventBytes,
      new Date(timestampMs).toISOString(),
    );
    if (!parsed.ok)
      return { kind: 'dead-letter', record: this.deadLetter(message, origin, parsed.reason, parsed.detail) };
    const event = parsed.event;
    if (!(await this.isKnownTenant(event.tenantId))) {
      return {
        kind: 'dead-letter',
        record: this.deadLetter(message, origin, 'unknown_tenant', `tenant ${event.tenantId} does not exist`),
      };
    }
    if (this.recent.seen(`${event.tenantId}:${event.id}`, origin)) {
      this.logger.debug(
        { eventId: event.id, tenantId: event.tenantId },
        'repeated event id; fanned out once already',
      );
      return { kind: 'deliveries', records: [] };
    }
    const records = this.cache.match(event.tenantId, event.type).map((endpoint) => ({
      key: endpoint.id,
      value: encodeTask(this.taskFor(event, endpoint.id, timestampMs)),
    }));
    return { kind: 'deliveries', records };
  }

  private async isKnownTenant(tenantId: string): Promise<boolean> {
    if (!UUID.test(tenantId)) return false;
    try {
      return await this.cache.isKnownTenant(tenantId);
    } catch {
      return false;
    }
  }

  private taskFor(event: PlatformEvent, endpointId: string, publishedAtMs: number): DeliveryTask {
    return {
      deliveryId: deliveryIdFor(event.tenantId, event.id, endpointId),
      eventId: event.id,
      endpointId,
      tenantId: event.tenantId,
      eventType: event.type,
      eventTime: event.time,
      data: event.data,
      publishedAtMs,
    };
  }

  private deadLetter(message: KafkaMessage, origin: string, reason: string, detail: string): Message {
    this.logger.warn({ origin, reason, detail }, 'invalid event dead-lettered');
    return {
      key: message.key,
      value: message.value,
      headers: {
        ...message.headers,
        [HEADER.reason]: reason,
        [HEADER.reasonDetail]: detail.slice(0, 500),
        [HEADER.origin]: origin,
      },
    };
  }

  private producerFor(topic: string, partition: number): Promise<Producer> {
    const key = `${topic}:${partition}`;
    let producer = this.producers.get(key);
    if (!producer) {
      producer = (async () => {
        const created = this.kafka.producer({
          transactionalId: `${this.config.kafka.fanoutGroupId}-${topic}-${partition}`,
          idempotent: true,
          maxInFlightRequests: 1,
          allowAutoTopicCreation: false,
          // Kafka 4 answers CONCURRENT_TRANSACTIONS for a few ms after each commit: retry quickly.
          retry: { initialRetryTime: 5, maxRetryTime: 2_000, retries: 12 },
        });
        await created.connect();
        return created;
      })();
      producer.catch(() => this.producers.delete(key));
      this.producers.set(key, producer);
    }
    return producer;
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.consumer?.disconnect();
  }

  async onApplicationShutdown(): Promise<void> {
    const producers = await Promise.allSettled([...this.producers.values()]);
    await Promise.allSettled(
      producers.map((result) =>
        result.status === 'fulfilled' ? result.value.disconnect() : Promise.resolve(),
      ),
    );
  }
}

/** Splits messages into runs of at most `maxBytes` (a single larger message gets a run of its own). */
export function chunksBySize<T extends Message>(messages: T[], maxBytes: number): T[][] {
  const chunks: T[][] = [];
  let current: T[] = [];
  let size = 0;
  for (const message of messages) {
    const messageSize = byteLength(message.value) + byteLength(message.key) + 64;
    if (current.length > 0 && size + messageSize > maxBytes) {
      chunks.push(current);
      current = [];
      size = 0;
    }
    current.push(message);
    size += messageSize;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}

function byteLength(value: Message['value'] | Message['key']): number {
  if (value === null || value === undefined) return 0;
  return typeof value === 'string' ? Buffer.byteLength(value) : value.length;
}

/** Stable per (tenant, event, endpoint): a re-fan-out of the same event yields the same delivery id. */
export function deliveryIdFor(tenantId: string, eventId: string, endpointId: string): string {
  const hex = createHash('sha256').update(`${tenantId}\u0000${eventId}\u0000${endpointId}`).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}
