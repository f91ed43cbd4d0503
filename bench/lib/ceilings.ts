/**
 * The machine's ceilings that `npm run bench` (bench/bench.ts) measures Hookstream against: undici
 * POSTs to the receiver at the service's concurrency, and a bare kafkajs consumer.
 */
import type { Message } from 'kafkajs';
import { Pool } from 'undici';
import { CONFIG, kafka, SERVICE_CONCURRENCY } from './config';
import { connectedProducer, withAdmin } from './kafka';
import type { Receiver } from './receiver';
import { until } from './service';

/** undici POSTs of a delivery-sized body to the receiver at the service's concurrency. */
export async function httpCeiling(receiver: Receiver): Promise<number> {
  receiver.setHandler(() => undefined);
  const pool = new Pool(`http://127.0.0.1:${receiver.port}`, { connections: SERVICE_CONCURRENCY });
  const body = JSON.stringify({
    type: 'x',
    timestamp: new Date().toISOString(),
    data: { pad: 'x'.repeat(300) },
  });
  const headers = { 'content-type': 'application/json', 'webhook-id': 'ceiling' };
  const warmupEnd = Date.now() + 500;
  const end = warmupEnd + CONFIG.httpCeilingSeconds * 1000;
  let counted = 0;
  let countStart = 0;
  const worker = async (): Promise<void> => {
    while (Date.now() < end) {
      const response = await pool.request({ path: '/ceiling', method: 'POST', headers, body });
      await response.body.dump();
      if (response.statusCode >= 300) throw new Error(`receiver answered ${response.statusCode}`);
      const now = Date.now();
      if (now >= warmupEnd) {
        if (!countStart) countStart = now;
        counted++;
      }
    }
  };
  await Promise.all(Array.from({ length: SERVICE_CONCURRENCY }, worker));
  const elapsed = Date.now() - countStart;
  await pool.close();
  return (counted / elapsed) * 1000;
}

/** A bare kafkajs consumer (eachBatch, nothing else) reading a pre-filled topic of ~400-byte values. */
export async function kafkaConsumeCeiling(topic: string): Promise<number> {
  const total = CONFIG.kafkaCeilingMessages;
  await withAdmin(kafka, (admin) =>
    admin.createTopics({
      topics: [{ topic, numPartitions: CONFIG.deliveryPartitions }],
      waitForLeaders: true,
    }),
  );
  const producer = await connectedProducer(kafka);
  const value = Buffer.alloc(CONFIG.valueBytes, 'x');
  const batch = 1000;
  const inFlight: Array<Promise<unknown>> = [];
  for (let sent = 0; sent < total; sent += batch) {
    const count = Math.min(batch, total - sent);
    const messages: Message[] = Array.from({ length: count }, (_, i) => ({
      key: `k${(sent + i) % 997}`,
      value,
    }));
    inFlight.push(producer.send({ topic, acks: 1, messages }));
    if (inFlight.length >= 8) await inFlight.shift();
  }
  await Promise.all(inFlight);
  await producer.disconnect();

  const consumer = kafka.consumer({ groupId: `${topic}-ceiling`, maxWaitTimeInMs: 100 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  let consumed = 0;
  let first = 0;
  let last = 0;
  // Timed from the group join (the first fetch follows it) to the last batch.
  consumer.on(consumer.events.GROUP_JOIN, () => {
    first ||= Date.now();
  });
  await consumer.run({
    partitionsConsumedConcurrently: CONFIG.deliveryPartitions,
    eachBatch: async ({ batch: b }) => {
      consumed += b.messages.length;
      last = Date.now();
    },
  });
  const done = await until(() => consumed >= total, 120_000, 10);
  await consumer.disconnect();
  if (!done) throw new Error(`kafka ceiling: consumed ${consumed} of ${total} within 120 s`);
  return (consumed / Math.max(1, last - first)) * 1000;
}
