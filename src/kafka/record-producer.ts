import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { CompressionTypes, type IHeaders, type Kafka, type Producer } from 'kafkajs';
import { KAFKA } from './kafka.constants';

export interface OutgoingRecord {
  key: string | null;
  value: Buffer | string | null;
  headers?: IHeaders;
}

/**
 * The shared idempotent producer (acks from all in-sync replicas) for records whose write must be
 * confirmed before we acknowledge anything: ingested events, retry-tier records, dead letters.
 */
@Injectable()
export class RecordProducer implements OnApplicationShutdown {
  private producer?: Promise<Producer>;

  constructor(@Inject(KAFKA) private readonly kafka: Kafka) {}

  async send(topic: string, records: OutgoingRecord[]): Promise<void> {
    const producer = await this.connected();
    await producer.send({ topic, acks: -1, compression: CompressionTypes.None, messages: records });
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
