import type { KafkaMessage } from 'kafkajs';
import type { ConsumedRecord } from '../domain/records';
import { headersToRecord } from './headers';

/** A kafkajs message as the consumers hand it out (ConsumedRecord). */
export function toRecord(topic: string, partition: number, message: KafkaMessage): ConsumedRecord {
  return {
    topic,
    partition,
    offset: message.offset,
    key: message.key?.toString() ?? null,
    rawKey: message.key,
    value: message.value,
    headers: headersToRecord(message.headers),
    rawHeaders: message.headers,
    timestampMs: Number(message.timestamp),
  };
}

/**
 * A record handed to a handler that may keep it a while (in a lane, until due): only its own bytes,
 * not the fetch response its value and key are slices of, which would otherwise stay in memory
 * as long as the record does and make the byte budget a fiction.
 */
export function ownCopy(record: ConsumedRecord): ConsumedRecord {
  return {
    ...record,
    value: record.value && Buffer.from(record.value),
    rawKey: undefined,
    rawHeaders: undefined,
  };
}
