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
   * Validates every event first (one bad event sends none), then sends them in one request, in
   * the given order per tenant.
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

/** Sends with acks=all; a broker that does not acknowledge becomes a retriable PublishError. */
export async function sendRecords(producer: Producer, topic: string, records: EventRecord[]): Promise<void> {
  if (records.length === 0) return;
  try {
    await producer.send({ topic, acks: -1, messages: records });
  } catch (error) {
    throw new PublishError(
      'not_acknowledged',
      `the broker did not acknowledge ${records.length} event(s) on ${topic}: ${error instanceof Error ? error.message : String(error)}`,
      true,
      { cause: error },
    );
  }
}
