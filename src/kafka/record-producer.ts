import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { CompressionTypes, type Kafka, type Producer, type TopicMessages } from 'kafkajs';
import { GroupCommit } from '../domain/group-commit';
import type { OutgoingRecord } from '../domain/records';
import { KAFKA } from './kafka.constants';
import { rememberingPartitioner } from './partitioning';

export type { OutgoingRecord } from '../domain/records';

interface PendingSend {
  topic: string;
  records: OutgoingRecord[];
  bytes: number;
}

/** Produce requests in flight at once; sends made meanwhile wait and go out together in the next. */
const MAX_REQUESTS_IN_FLIGHT = 3;
/** Below the broker's default message.max.bytes (1 MiB), which bounds one partition's record batch. */
const MAX_REQUEST_BYTES = 512 * 1024;
/**
 * Broker answers that mean this producer's idempotence state (producer id, epoch, sequence numbers)
 * is out of step with the broker's. kafkajs treats them as fatal and cannot recover the producer.
 */
const PRODUCER_STATE_ERRORS = new Set([
  'OUT_OF_ORDER_SEQUENCE_NUMBER',
  'DUPLICATE_SEQUENCE_NUMBER',
  'INVALID_PRODUCER_EPOCH',
  'UNKNOWN_PRODUCER_ID',
]);

/**
 * The shared idempotent producer (acks from all in-sync replicas) for records whose write must be
 * confirmed before we acknowledge anything: ingested events, fanned-out and replayed delivery
 * tasks, retry-tier records, dead letters.
 *
 * kafkajs sends one request per `send()`. Retries, shed deliveries and dead letters come one record
 * at a time from many lanes at once, so sends made while requests are in flight are gathered into
 * the next request (group commit): an idle producer sends at the end of the event-loop turn, so the
 * sends of one turn share a request, and a busy one sends fewer, larger requests. Each caller's
 * promise settles with the request its records went out in.
 */
@Injectable()
export class RecordProducer implements OnApplicationShutdown {
  private producer?: Promise<Producer>;
  private current?: Producer;
  /** Producers replaced after losing step with the broker (README decision 24). */
  replaced = 0;
  private readonly requests = new GroupCommit<PendingSend>({
    maxInFlight: MAX_REQUESTS_IN_FLIGHT,
    maxBatchBytes: MAX_REQUEST_BYTES,
    // The fan-out sends once per partition's batch, and one fetch brings several partitions: sent
    // at once, each became a request of its own, and a fetch of the deliveries topic behind it
    // (README decision 83).
    gatherTurn: true,
    sizeOf: (send) => send.bytes,
    write: (batch) => this.sendBatch(batch),
  });

  constructor(@Inject(KAFKA) private readonly kafka: Kafka) {}

  /**
   * Resolves once every record is acknowledged. A request over the broker's message.max.bytes is
   * refused for good (kafkajs does not retry it), so a larger send goes out in pieces of at most
   * 512 KiB, in order, each acknowledged before the next is queued.
   */
  send(topic: string, records: OutgoingRecord[]): Promise<void> {
    if (records.length === 0) return Promise.resolve();
    const bytes = recordsBytes(records);
    if (bytes <= MAX_REQUEST_BYTES) return this.enqueue(topic, records, bytes);
    return this.sendInPieces(topic, records);
  }

  private async sendInPieces(topic: string, records: OutgoingRecord[]): Promise<void> {
    for (const piece of chunksBySize(records, MAX_REQUEST_BYTES)) {
      await this.enqueue(topic, piece, recordsBytes(piece));
    }
  }

  private enqueue(topic: string, records: OutgoingRecord[], bytes: number): Promise<void> {
    return this.requests.submit({ topic, records, bytes });
  }

  private async sendBatch(batch: PendingSend[]): Promise<void> {
    const topicMessages = toTopicMessages(batch);
    const producer = await this.connected();
    try {
      await this.sendWith(producer, topicMessages);
    } catch (error) {
      if (!isProducerStateError(error)) throw error;
      // Seen after a broker restart (kafkajs#598): the producer is unusable from then on. A fresh
      // one (new producer id) sends the batch again; whatever of it the broker already had is
      // written twice, as any at-least-once retry would.
      this.discard(producer);
      await this.sendWith(await this.connected(), topicMessages);
    }
  }

  private async sendWith(producer: Producer, topicMessages: TopicMessages[]): Promise<void> {
    await producer.sendBatch({ acks: -1, compression: CompressionTypes.None, topicMessages });
  }

  /** Drops `producer` if it is still the current one (concurrent batches may fail on it together). */
  private discard(producer: Producer): void {
    if (this.current !== producer) return;
    this.producer = undefined;
    this.current = undefined;
    this.replaced += 1;
    void producer.disconnect().catch(() => undefined);
  }

  private connected(): Promise<Producer> {
    this.producer ??= (async () => {
      const producer = this.kafka.producer({
        idempotent: true,
        maxInFlightRequests: 5,
        allowAutoTopicCreation: false,
        createPartitioner: rememberingPartitioner,
      });
      try {
        await producer.connect();
      } catch (error) {
        this.producer = undefined;
        throw error;
      }
      this.current = producer;
      return producer;
    })();
    return this.producer;
  }

  async onApplicationShutdown(): Promise<void> {
    const producer = await this.producer?.catch(() => undefined);
    await producer?.disconnect();
  }
}

/** Whether a send failed because the producer's idempotence state is out of step with the broker's. */
export function isProducerStateError(error: unknown): boolean {
  for (let e: unknown = error, depth = 0; e instanceof Error && depth < 5; depth++) {
    const type = (e as { type?: unknown }).type;
    if (typeof type === 'string' && PRODUCER_STATE_ERRORS.has(type)) return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}

/** Splits records into runs of at most `maxBytes` (a single larger record gets a run of its own). */
export function chunksBySize<T extends OutgoingRecord>(records: T[], maxBytes: number): T[][] {
  const chunks: T[][] = [];
  let current: T[] = [];
  let size = 0;
  for (const record of records) {
    const recordSize = recordBytes(record);
    if (current.length > 0 && size + recordSize > maxBytes) {
      chunks.push(current);
      current = [];
      size = 0;
    }
    current.push(record);
    size += recordSize;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}

function toTopicMessages(batch: PendingSend[]): TopicMessages[] {
  const byTopic = new Map<string, OutgoingRecord[]>();
  for (const send of batch) {
    const messages = byTopic.get(send.topic);
    if (messages) messages.push(...send.records);
    else byTopic.set(send.topic, [...send.records]);
  }
  return [...byTopic].map(([topic, messages]) => ({ topic, messages }));
}

/** An estimate of the records' size on the wire, headers included; enough to bound a request. */
export function recordsBytes(records: OutgoingRecord[]): number {
  let total = 0;
  for (const record of records) total += recordBytes(record);
  return total;
}

export function recordBytes(record: OutgoingRecord): number {
  let total = 64 + byteLength(record.key) + byteLength(record.value);
  for (const [name, value] of Object.entries(record.headers ?? {})) {
    total +=
      Buffer.byteLength(name) + (typeof value === 'string' || Buffer.isBuffer(value) ? byteLength(value) : 0);
  }
  return total;
}

function byteLength(value: string | Buffer | null | undefined): number {
  if (value === null || value === undefined) return 0;
  return typeof value === 'string' ? Buffer.byteLength(value) : value.length;
}
