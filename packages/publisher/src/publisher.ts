import { Kafka, logLevel, Partitioners, type Producer } from 'kafkajs';
import { buildCloudEvent, type BuildOptions, type EventRecord } from './cloud-event-builder';
import type { PlatformEvent } from './contract';
import { PublishError } from './errors';
import type { EventInput, EventMap } from './event-types';

export interface PublisherOptions extends BuildOptions {
  /** Hookstream's input topic (`platform.events` by default). */
  topic?: string;
  /** Brokers, when the publisher makes its own client; or pass `kafka`. */
  brokers?: string[];
  kafka?: Kafka;
  clientId?: string;
}

/**
 * Publishes typed CloudEvents straight to Hookstream's input topic. The producer is idempotent
 * with acks=all and one request in flight, so the broker's own retries neither duplicate nor
 * reorder a tenant's events. Use the outbox instead when the event must follow a database commit.
 */
export class EventPublisher<M extends EventMap> {
  readonly topic: string;
  private readonly producer: Producer;
  private connected = false;

  constructor(private readonly options: PublisherOptions) {
    this.topic = options.topic ?? 'platform.events';
    const kafka =
      options.kafka ??
      new Kafka({
        clientId: options.clientId ?? 'hookstream-publisher',
        brokers: options.brokers ?? ['127.0.0.1:9092'],
        logLevel: logLevel.WARN,
      });
    this.producer = createIdempotentProducer(kafka);
  }

  async connect(): Promise<void> {
    await this.producer.connect();
    this.connected = true;
  }

  async disconnect(): Promise<void> {
    await this.producer.disconnect();
    this.connected = false;
  }

  /** Validates, then sends; resolves once every in-sync replica has the event. */
  async publish(input: EventInput<M>): Promise<PlatformEvent> {
    const [event] = await this.publishAll([input]);
    return event;
  }

  /**
   * Validates every event first (one bad event sends none), then sends them in the given order per
   * tenant, in requests of at most 512 KiB (see `sendRecords`).
   */
  async publishAll(inputs: ReadonlyArray<EventInput<M>>): Promise<PlatformEvent[]> {
    const built = inputs.map((input) => buildCloudEvent(input, this.options));
    await sendRecords(
      this.producer,
      this.topic,
      built.map(({ record }) => record),
    );
    return built.map(({ event }) => event);
  }

  /** Whether connect() has completed and disconnect() has not been called. */
  isConnected(): boolean {
    return this.connected;
  }
}

/**
 * kafkajs' idempotent producer needs one request in flight to keep order across its retries. The
 * default partitioner is Java's (murmur2), so a tenant lands on the partition any client picks.
 */
export function createIdempotentProducer(kafka: Kafka): Producer {
  return kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    allowAutoTopicCreation: false,
    createPartitioner: Partitioners.DefaultPartitioner,
  });
}

/**
 * Bytes of records in one produce request. A tenant's records share a key, hence a partition, and
 * kafkajs puts one partition's records of a request into one record batch, which the broker refuses
 * for good past its message.max.bytes (1 MiB by default): a relay that fell behind would retry that
 * claim forever. Half of it leaves room for the batch's framing and headers.
 */
export const MAX_REQUEST_BYTES = 512 * 1024;

/**
 * Sends with acks=all, in order, in requests of at most MAX_REQUEST_BYTES (a record larger than that
 * goes alone), each acknowledged before the next goes. A broker that does not acknowledge becomes a
 * retriable PublishError; the requests before it stay written, so a retry writes them again (at
 * least once, with the same event ids).
 */
export async function sendRecords(producer: Producer, topic: string, records: EventRecord[]): Promise<void> {
  for (const piece of piecesOf(records, MAX_REQUEST_BYTES)) {
    try {
      await producer.send({ topic, acks: -1, messages: piece });
    } catch (error) {
      throw new PublishError(
        'not_acknowledged',
        `the broker did not acknowledge ${piece.length} event(s) on ${topic}: ${error instanceof Error ? error.message : String(error)}`,
        true,
        { cause: error },
      );
    }
  }
}

/** Consecutive runs of `records` of at most `maxBytes` each (a larger record is a run of its own). */
export function piecesOf(records: EventRecord[], maxBytes: number): EventRecord[][] {
  const pieces: EventRecord[][] = [];
  let piece: EventRecord[] = [];
  let bytes = 0;
  for (const record of records) {
    const size = recordBytes(record);
    if (piece.length > 0 && bytes + size > maxBytes) {
      pieces.push(piece);
      piece = [];
      bytes = 0;
    }
    piece.push(record);
    bytes += size;
  }
  if (piece.length > 0) pieces.push(piece);
  return pieces;
}

function recordBytes(record: EventRecord): number {
  let bytes = Buffer.byteLength(record.key) + record.value.length;
  for (const [name, value] of Object.entries(record.headers))
    bytes += Buffer.byteLength(name) + Buffer.byteLength(value);
  return bytes;
}
