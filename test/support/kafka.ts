import { randomBytes } from 'node:crypto';
import { Kafka, logLevel, type Admin, type Consumer, type IHeaders, type Producer } from 'kafkajs';

export const TEST_BROKERS = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');

/** A unique topic namespace per test, so tests never see each other's topics or groups. */
export function uniqueNamespace(label: string): string {
  return `t-${label}-${randomBytes(4).toString('hex')}`;
}

export function testKafka(clientId = 'hookstream-test'): Kafka {
  return new Kafka({ clientId, brokers: TEST_BROKERS, logLevel: logLevel.NOTHING });
}

export interface ReceivedMessage {
  topic: string;
  partition: number;
  offset: string;
  key: string | null;
  value: string | null;
  headers: Record<string, string>;
}

/** Reads every message of `topic` from the beginning into an array that fills as they arrive. */
export async function collectTopic(
  kafka: Kafka,
  topic: string,
): Promise<{ messages: ReceivedMessage[]; stop: () => Promise<void> }> {
  const consumer: Consumer = kafka.consumer({ groupId: `collector-${randomBytes(4).toString('hex')}` });
  const messages: ReceivedMessage[] = [];
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ topic: t, partition, message }) => {
      messages.push({
        topic: t,
        partition,
        offset: message.offset,
        key: message.key?.toString() ?? null,
        value: message.value?.toString() ?? null,
        headers: headersToStrings(message.headers),
      });
    },
  });
  return { messages, stop: () => consumer.disconnect() };
}

export function headersToStrings(headers: IHeaders | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers ?? {})) {
    if (value === undefined) continue;
    out[name] = Array.isArray(value) ? value.map(String).join(',') : value.toString();
  }
  return out;
}

export async function connectedProducer(kafka: Kafka): Promise<Producer> {
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  return producer;
}

export async function connectedAdmin(kafka: Kafka): Promise<Admin> {
  const admin = kafka.admin();
  await admin.connect();
  return admin;
}

/** Deletes every topic of a namespace (best effort: a test's leftovers must not fill the broker). */
export async function deleteNamespaceTopics(
  admin: Admin,
  namespace: string,
  extra: string[] = [],
): Promise<void> {
  const topics = (await admin.listTopics()).filter((t) => t.startsWith(`${namespace}.`) || extra.includes(t));
  if (topics.length) await admin.deleteTopics({ topics, timeout: 10_000 }).catch(() => undefined);
}
