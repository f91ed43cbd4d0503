import { randomBytes, randomUUID } from 'node:crypto';
import { Kafka, logLevel, type Admin, type Message, type Producer } from 'kafkajs';

export const BROKERS = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');

export function benchKafka(clientId = 'hookstream-bench'): Kafka {
  return new Kafka({
    clientId,
    brokers: BROKERS,
    logLevel: logLevel.NOTHING,
    retry: { initialRetryTime: 100, maxRetryTime: 2_000, retries: 5 },
  });
}

export function uniqueNamespace(label: string): string {
  return `bench-${label}-${randomBytes(4).toString('hex')}`;
}

/** Filler that brings a structured CloudEvent to about `targetBytes` (a typical delivery-sized event). */
const PAD = 'x'.repeat(1024);

export interface EventSpec {
  tenantId: string;
  type: string;
  seq: number;
  /** Bytes the JSON value should roughly have (default ~400). */
  targetBytes?: number;
  id?: string;
  /** The CloudEvents `partitionkey`: the delivery's ordering key. */
  partitionKey?: string;
}

/** A structured-mode CloudEvent keyed by tenant id, carrying its publish time in `data.sentAt`. */
export function cloudEvent({
  tenantId,
  type,
  seq,
  targetBytes = 400,
  id = randomUUID(),
  partitionKey,
}: EventSpec): Message {
  const sentAt = Date.now();
  const base = {
    specversion: '1.0',
    id,
    source: '/bench',
    type,
    time: new Date(sentAt).toISOString(),
    tenantid: tenantId,
    ...(partitionKey === undefined ? {} : { partitionkey: partitionKey }),
    data: { seq, sentAt, pad: '' },
  };
  const size = JSON.stringify(base).length;
  base.data.pad = PAD.slice(0, Math.max(0, targetBytes - size));
  return { key: tenantId, value: JSON.stringify(base) };
}

export async function connectedProducer(kafka: Kafka, idempotent = false): Promise<Producer> {
  const producer = kafka.producer({
    allowAutoTopicCreation: false,
    idempotent,
    maxInFlightRequests: idempotent ? 1 : undefined,
  });
  await producer.connect();
  return producer;
}

export async function withAdmin<T>(kafka: Kafka, work: (admin: Admin) => Promise<T>): Promise<T> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    return await work(admin);
  } finally {
    await admin.disconnect();
  }
}

/** Deletes every topic of a namespace (best effort, so bench leftovers do not fill the broker). */
export async function deleteNamespaceTopics(
  kafka: Kafka,
  namespace: string,
  extra: string[] = [],
): Promise<void> {
  await withAdmin(kafka, async (admin) => {
    const topics = (await admin.listTopics()).filter(
      (t) => t.startsWith(`${namespace}.`) || extra.includes(t),
    );
    if (topics.length) await admin.deleteTopics({ topics, timeout: 15_000 });
  }).catch(() => undefined);
}

/** A record read back from a topic: its key and headers (values are not kept). */
export interface ReadRecord {
  key: Buffer | null;
  headers: Record<string, string>;
}

/**
 * Every record a topic holds now, read from the earliest offset up to the high watermarks taken at
 * the start (a throwaway consumer group); only keys and headers are kept, as text.
 */
export async function readTopic(kafka: Kafka, topic: string, timeoutMs = 60_000): Promise<ReadRecord[]> {
  const ends = await withAdmin(kafka, (admin) => admin.fetchTopicOffsets(topic));
  const left = new Map(
    ends.filter((p) => Number(p.high) > Number(p.low)).map((p) => [p.partition, Number(p.high)]),
  );
  const records: ReadRecord[] = [];
  if (left.size === 0) return records;
  const consumer = kafka.consumer({ groupId: `bench-read-${randomBytes(4).toString('hex')}` });
  await consumer.connect();
  try {
    let done!: () => void;
    const finished = new Promise<void>((resolve) => (done = resolve));
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ partition, message }) => {
        const end = left.get(partition);
        if (end === undefined) return;
        const headers: Record<string, string> = {};
        for (const [name, value] of Object.entries(message.headers ?? {})) {
          headers[name] = Array.isArray(value) ? String(value[0]) : String(value ?? '');
        }
        records.push({ key: message.key, headers });
        if (Number(message.offset) + 1 >= end) left.delete(partition);
        if (left.size === 0) done();
      },
    });
    const timeout = new Promise<void>((_, reject) =>
      setTimeout(() => reject(new Error(`reading ${topic} took over ${timeoutMs} ms`)), timeoutMs).unref(),
    );
    await Promise.race([finished, timeout]);
    return records;
  } finally {
    await consumer.disconnect();
  }
}
