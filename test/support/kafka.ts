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

/** A WatermarkConsumer's `committedOffsets`, read through `admin` (README decision 92). */
export function committedOffsetsOf(admin: () => Admin, groupId: () => string) {
  return async (topic: string) => {
    const [committed] = await admin().fetchOffsets({ groupId: groupId(), topics: [topic] });
    return committed.partitions;
  };
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

/** Anything a test starts on the broker and must stop before its topics go. */
interface Stoppable {
  stop(deadlineMs: number): Promise<void>;
}

/** What {@link brokerPerTest} gives each test; read it inside a test or hook, not at describe time. */
export interface BrokerPerTest {
  readonly kafka: Kafka;
  readonly admin: Admin;
  readonly producer: Producer;
  /** This test's own namespace: its topics are `<namespace>.<name>`, its groups may be too. */
  readonly namespace: string;
  /** The full name of one of the topics made for this test. */
  topic(name: string): string;
  /** Stopped (1 s deadline) after the test, before its topics are deleted. */
  track<T extends Stoppable>(consumer: T): T;
  /** For a test that stopped `consumer` itself. */
  untrack(consumer: Stoppable): void;
}

/**
 * Registers the hooks of a describe block on the real broker: before each test a client, an admin,
 * a producer and fresh topics (`partitions`: short name to partition count) with their leaders;
 * after it, the tracked consumers stopped, the topics deleted and the connections closed.
 */
export function brokerPerTest(label: string, partitions: Record<string, number>): BrokerPerTest {
  let current: { kafka: Kafka; admin: Admin; producer: Producer; namespace: string } | undefined;
  const tracked: Stoppable[] = [];
  const now = () => {
    if (!current) throw new Error('brokerPerTest: read outside a test');
    return current;
  };
  beforeEach(async () => {
    const kafka = testKafka();
    const admin = await connectedAdmin(kafka);
    const producer = await connectedProducer(kafka);
    const namespace = uniqueNamespace(label);
    await admin.createTopics({
      topics: Object.entries(partitions).map(([name, numPartitions]) => ({
        topic: `${namespace}.${name}`,
        numPartitions,
      })),
      waitForLeaders: true,
    });
    current = { kafka, admin, producer, namespace };
  });
  afterEach(async () => {
    const { admin, producer, namespace } = now();
    await Promise.all(tracked.splice(0).map((consumer) => consumer.stop(1_000)));
    await producer.disconnect();
    await deleteNamespaceTopics(admin, namespace);
    await admin.disconnect();
    current = undefined;
  });
  return {
    get kafka() {
      return now().kafka;
    },
    get admin() {
      return now().admin;
    },
    get producer() {
      return now().producer;
    },
    get namespace() {
      return now().namespace;
    },
    topic: (name) => `${now().namespace}.${name}`,
    track: (consumer) => {
      tracked.push(consumer);
      return consumer;
    },
    untrack: (consumer) => {
      const index = tracked.indexOf(consumer);
      if (index >= 0) tracked.splice(index, 1);
    },
  };
}
