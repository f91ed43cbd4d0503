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
