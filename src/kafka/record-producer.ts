import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { CompressionTypes, type IHeaders, type Kafka, type Producer, type TopicMessages } from 'kafkajs';
import { KAFKA } from './kafka.constants';

export interface OutgoingRecord {
  key: Buffer | string | null;
  value: Buffer | string | null;
  headers?: IHeaders;
}

interface PendingSend {
  topic: string;
  records: OutgoingRecord[];
  bytes: number;
  resolve: () => void;
  reject: (error: unknown) => void;
}

/** Produce requests in flight at once; sends made meanwhile wait and go out together in the next. */
const MAX_REQUESTS_IN_FLIGHT = 3;
/** Below the broker's default message.max.bytes (1 MiB), which bounds one partition's record batch. */
const MAX_REQUEST_BYTES = 512 * 1024;

/**
 * The shared idempotent producer (acks from all in-sync replicas) for records whose write must be
 * confirmed before we acknowledge anything: ingested events, retry-tier records, dead letters.
 *
 * kafkajs sends one request per `send()`. Retries, shed deliveries and dead letters come one record
 * at a time from many lanes at once, so sends made while requests are in flight are gathered into
 * the next request (group commit): an idle producer sends at once, a busy one sends fewer, larger
 * requests. Each caller's promise settles with the request its records went out in.
 */
@Injectable()
export class RecordProducer implements OnApplicationShutdown {
  private producer?: Promise<Producer>;
  private readonly queue: PendingSend[] = [];
  private inFlight = 0;

  constructor(@Inject(KAFKA) private readonly kafka: Kafka) {}

  send(topic: string, records: OutgoingRecord[]): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ topic, records, bytes: recordsBytes(records), resolve, reject });
      this.pump();
    });
  }

  private pump(): void {
    while (this.inFlight < MAX_REQUESTS_IN_FLIGHT && this.queue.length > 0) {
      const batch = takeBatch(this.queue, MAX_REQUEST_BYTES);
      this.inFlight += 1;
      void this.sendBatch(batch).finally(() => {
        this.inFlight -= 1;
        this.pump();
      });
    }
  }

  private async sendBatch(batch: PendingSend[]): Promise<void> {
    try {
      const producer = await this.connected();
      await producer.sendBatch({
        acks: -1,
        compression: CompressionTypes.None,
        topicMessages: toTopicMessages(batch),
      });
      for (const send of batch) send.resolve();
    } catch (error) {
      for (const send of batch) send.reject(error);
    }
  }

  private connected(): Promise<Producer> {
    this.producer ??= (async () => {
      const producer = this.kafka.producer({
        idempotent: true,
        maxInFlightRequests: 5,
        allowAutoTopicCreation: false,
      });
      try {
        await producer.connect();
      } catch (error) {
        this.producer = undefined;
        throw error;
      }
      return producer;
    })();
    return this.producer;
  }

  async onApplicationShutdown(): Promise<void> {
    const producer = await this.producer?.catch(() => undefined);
    await producer?.disconnect();
  }
}

/** Removes and returns the oldest sends up to `maxBytes` together (always at least one). */
export function takeBatch<T extends { bytes: number }>(queue: T[], maxBytes: number): T[] {
  let count = 1;
  let bytes = queue[0].bytes;
  while (count < queue.length && bytes + queue[count].bytes <= maxBytes) {
    bytes += queue[count].bytes;
    count += 1;
  }
  return queue.splice(0, count);
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
