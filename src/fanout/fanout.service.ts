import {
  Inject,
  Injectable,
  type BeforeApplicationShutdown,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import { createHash } from 'node:crypto';
import type { Consumer, EachBatchPayload, Kafka, KafkaMessage } from 'kafkajs';
import type { Logger } from 'pino';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { LOGGER } from '../common/logger.module';
import { KAFKA } from '../kafka/kafka.constants';
import { RecordProducer, type OutgoingRecord } from '../kafka/record-producer';
import { headersToRecord } from '../kafka/headers';
import { encodeTask, HEADER, type AttemptState, type DeliveryTask } from '../domain/delivery-task';
import type { HoldRequest } from '../retry/held-deliveries';
import { parseCloudEvent, type PlatformEvent } from '../domain/cloud-event';
import { DELIVERY_GATE, type DeliveryGate } from './delivery-gate';
import { EndpointCache } from '../endpoints/endpoint-cache';
import { RecentEventIds } from './recent-event-ids';
import { exitOnFatalCrash } from '../kafka/consumer-crash';

interface CommitPosition {
  topic: string;
  partition: number;
  offset: string;
}

/**
 * The attempt state of a task held straight from the fan-out: no attempt made yet; its age counts
 * from now, as for a delivery the engine turns away (HOOKSTREAM_MAX_ATTEMPT_AGE).
 */
const heldAtFanout = (nowMs: number): AttemptState => ({
  attempt: 1,
  firstAttemptAtMs: nowMs,
  dueAtMs: null,
  lastError: 'endpoint unavailable when fanned out (circuit open or lane hanging)',
  lastStatus: null,
  origin: null,
});

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Consumes platform events and produces one delivery task per matching endpoint, then commits the
 * consumed offsets: at least once, so a crash between the two fans a batch out again (the tasks
 * keep their delivery ids; receivers deduplicate by webhook-id). Bad input goes to the DLQ the
 * same way, so it never stalls the partition. README decision 7 says why not a Kafka transaction.
 */
@Injectable()
export class FanoutService implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private consumer?: Consumer;
  private readonly recent = new RecentEventIds(200_000);
  private readonly logger: Logger;
  private readonly uncommitted = new Map<string, CommitPosition>();
  private committing: Promise<void> | null = null;

  constructor(
    @Inject(KAFKA) private readonly kafka: Kafka,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly cache: EndpointCache,
    private readonly producer: RecordProducer,
    @Inject(DELIVERY_GATE) private readonly gate: DeliveryGate,
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
      // Bounds one batch: a batch of events times their fan-out is produced before the next fetch.
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
    const deliveries: OutgoingRecord[] = [];
    const held: HoldRequest[] = [];
    const deadLetters: OutgoingRecord[] = [];
    for (const message of batch.messages) {
      const routed = await this.route(batch.topic, batch.partition, message);
      if (routed.kind === 'dead-letter') {
        deadLetters.push(routed.record);
      } else {
        deliveries.push(...routed.records);
        held.push(...routed.held);
      }
    }
    // Acknowledged by all in-sync replicas (or committed to PostgreSQL) before the offsets move: a
    // crash in between fans the batch out again (duplicates, never a gap). The producer splits a
    // large batch in order.
    await Promise.all([
      this.producer.send(this.config.kafka.deliveriesTopic, deliveries),
      this.holdAll(held),
    ]);
    await this.producer.send(this.config.kafka.dlqTopic, deadLetters);
    const offset = (BigInt(batch.lastOffset()) + 1n).toString();
    this.commitSoon({ topic: batch.topic, partition: batch.partition, offset });
    await heartbeat();
  }

  /** Holds tasks for unavailable endpoints; any the database refuses go to the deliveries topic. */
  private async holdAll(held: HoldRequest[]): Promise<void> {
    if (held.length === 0) return;
    const outcomes = await Promise.allSettled(held.map((request) => this.gate.hold(request)));
    const refused = held.filter((_, index) => outcomes[index].status === 'rejected');
    if (refused.length === 0) return;
    await this.producer.send(
      this.config.kafka.deliveriesTopic,
      refused.map((request) => ({ key: request.endpointId, value: request.task })),
    );
  }

  /**
   * Commits in the background, so the next fetch does not wait a commit round trip (it was most of
   * the fan-out's tail latency at 1,000 events/s). Only offsets whose tasks are acknowledged get
   * here; while one commit is out, later offsets gather and go in the next one.
   */
  private commitSoon(position: CommitPosition): void {
    this.uncommitted.set(`${position.topic}:${position.partition}`, position);
    if (!this.committing && this.consumer) this.committing = this.commitPending(this.consumer);
  }

  private async commitPending(consumer: Consumer): Promise<void> {
    try {
      while (this.uncommitted.size > 0) {
        const offsets = [...this.uncommitted.values()];
        this.uncommitted.clear();
        try {
          await consumer.commitOffsets(offsets);
        } catch (error) {
          // Lost to a rebalance: the next owner fans these records out again (duplicates, not loss).
          this.logger.warn({ err: error, offsets }, 'offset commit failed');
        }
      }
    } finally {
      // In the same tick as the last emptiness check: no offset can slip in between unseen.
      this.committing = null;
    }
  }

  private async route(
    topic: string,
    partition: number,
    message: KafkaMessage,
  ): Promise<
    | { kind: 'dead-letter'; record: OutgoingRecord }
    | { kind: 'deliveries'; records: OutgoingRecord[]; held: HoldRequest[] }
  > {
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
      return { kind: 'deliveries', records: [], held: [] };
    }
    const records: OutgoingRecord[] = [];
    const held: HoldRequest[] = [];
    const nowMs = Date.now();
    for (const endpoint of this.cache.match(event.tenantId, event.type)) {
      const task = encodeTask(this.taskFor(event, endpoint.id, timestampMs));
      // Strict endpoints keep their own parking; the rest skip a pass through Kafka while down.
      if (endpoint.ordering !== 'strict' && this.gate.unavailable(endpoint.id, nowMs)) {
        held.push({ endpointId: endpoint.id, publishedAtMs: timestampMs, task, state: heldAtFanout(nowMs) });
      } else {
        records.push({ key: endpoint.id, value: task });
      }
    }
    return { kind: 'deliveries', records, held };
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

  private deadLetter(message: KafkaMessage, origin: string, reason: string, detail: string): OutgoingRecord {
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

  async beforeApplicationShutdown(): Promise<void> {
    // Stop fetching and let the running batches finish, then commit what they produced.
    await this.consumer?.stop();
    await this.committing;
    await this.consumer?.disconnect();
  }
}

/** Stable per (tenant, event, endpoint): a re-fan-out of the same event yields the same delivery id. */
export function deliveryIdFor(tenantId: string, eventId: string, endpointId: string): string {
  const hex = createHash('sha256').update(`${tenantId}\u0000${eventId}\u0000${endpointId}`).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}
