import type { ITopicConfig } from 'kafkajs';
import type { KafkaConfig } from '../config/config';

const DAY_MS = 86_400_000;

/** Every topic Hookstream needs, with partition counts and retention. A retry tier keeps its records
 *  for at least 7 days past its delay; the DLQ for 28 days (and PostgreSQL mirrors it). */
export function requiredTopics(config: KafkaConfig): ITopicConfig[] {
  const replicationFactor = config.replicationFactor;
  const minInsync = String(Math.min(2, replicationFactor));
  const topic = (name: string, numPartitions: number, retentionMs: number): ITopicConfig => ({
    topic: name,
    numPartitions,
    replicationFactor,
    configEntries: [
      { name: 'retention.ms', value: String(retentionMs) },
      { name: 'min.insync.replicas', value: minInsync },
    ],
  });
  return [
    ...config.inputTopics.map((name) => topic(name, config.inputPartitions, 7 * DAY_MS)),
    topic(config.deliveriesTopic, config.deliveryPartitions, 7 * DAY_MS),
    ...config.retryTiers.map((tier) =>
      topic(tier.topic, config.deliveryPartitions, tier.delayMs + 7 * DAY_MS),
    ),
    topic(config.dlqTopic, config.deliveryPartitions, 28 * DAY_MS),
  ];
}

/**
 * Most bytes a delivery record carries besides its event's data: a bound, not a measure. The task
 * around the data (three uuids; the event's id, type, time and ordering key, each at most
 * MAX_ATTRIBUTE_LENGTH characters of up to 6 bytes as JSON; the MAC) is under 7 KiB; the hs-*
 * headers of a retry or a dead letter (two texts of MAX_HEADER_TEXT UTF-16 units, up to 3 bytes
 * each, and a few numbers) under 4 KiB; Kafka's record and batch framing adds under 100 bytes.
 */
export const DELIVERY_RECORD_OVERHEAD_BYTES = 16 * 1024;

/**
 * The topics a delivery's records are written to (deliveries, retry tiers, DLQ) whose
 * `max.message.bytes` cannot take the largest record HOOKSTREAM_MAX_EVENT_BYTES lets in. Such a
 * record is refused for good (MESSAGE_TOO_LARGE): its delivery ends as a `handler_failed` dead
 * letter, whose copy keeps only the first 256 KiB of the task and so cannot be replayed.
 */
export function topicsTooSmallForDeliveries(
  maxEventBytes: number,
  maxMessageBytes: ReadonlyMap<string, number>,
): string[] {
  const needed = maxEventBytes + DELIVERY_RECORD_OVERHEAD_BYTES;
  return [...maxMessageBytes].filter(([, limit]) => limit < needed).map(([topic]) => topic);
}
