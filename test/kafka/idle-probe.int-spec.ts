import pino from 'pino';
import type { Admin, Kafka, Producer } from 'kafkajs';
import { WatermarkConsumer } from '../../src/kafka/watermark-consumer';
import {
  connectedAdmin,
  connectedProducer,
  deleteNamespaceTopics,
  testKafka,
  uniqueNamespace,
} from '../support/kafka';
import { waitFor } from '../support/wait';

/**
 * The idle probe (decision 67), on the real broker: partitions of a rarely written topic with
 * nothing unread are left out of fetches, and one written to is read again within a few probes.
 */
describe('WatermarkConsumer idle probe', () => {
  const logger = pino({ level: 'silent' });
  let kafka: Kafka;
  let admin: Admin;
  let producer: Producer;
  let namespace: string;
  let busy: string;
  let tier: string;
  let consumer: WatermarkConsumer | undefined;

  beforeEach(async () => {
    kafka = testKafka();
    admin = await connectedAdmin(kafka);
    producer = await connectedProducer(kafka);
    namespace = uniqueNamespace('idle');
    busy = `${namespace}.busy`;
    tier = `${namespace}.tier`;
    await admin.createTopics({
      topics: [
        { topic: busy, numPartitions: 2 },
        { topic: tier, numPartitions: 3 },
      ],
      waitForLeaders: true,
    });
  });

  afterEach(async () => {
    await consumer?.stop(1_000);
    await producer.disconnect();
    await deleteNamespaceTopics(admin, namespace);
    await admin.disconnect();
  });

  it('holds out the idle partitions of probed topics only, and reads a record written to one of them', async () => {
    const handled: string[] = [];
    // A record written before the consumer ever ran: read from the log's start, never held out unread.
    await producer.send({ topic: tier, messages: [{ key: 'early', value: 'early', partition: 2 }] });
    consumer = new WatermarkConsumer(
      kafka,
      {
        name: 'idle-test',
        groupId: `${namespace}.group`,
        topics: [busy, tier],
        partitionWindow: 100,
        idleProbe: { topics: [tier], intervalMs: 50 },
        handle: async (record) => {
          handled.push(`${record.topic === tier ? 'tier' : 'busy'}:${String(record.value)}`);
        },
      },
      logger,
    );
    await consumer.start();
    const allTier = [0, 1, 2].map((partition) => `${tier}:${partition}`);
    await waitFor(() => handled.includes('tier:early'), { what: 'the record written before the start' });
    await waitFor(() => consumer!.idlePartitions().length === 3, {
      timeoutMs: 10_000,
      what: () => `every tier partition held out (now: ${consumer!.idlePartitions().join(', ')})`,
    });
    expect(consumer.idlePartitions()).toEqual(allTier);

    // The busy topic is never probed; a tier partition written to is read again.
    await producer.send({ topic: busy, messages: [{ value: 'b1', partition: 0 }] });
    await producer.send({ topic: tier, messages: [{ key: 'late', value: 'late', partition: 1 }] });
    await waitFor(() => handled.includes('busy:b1') && handled.includes('tier:late'), {
      timeoutMs: 10_000,
      what: () => `both new records handled (handled: ${handled.join(', ')})`,
    });
    expect(handled.filter((entry) => entry === 'tier:late')).toHaveLength(1);
    // And held out again once read.
    await waitFor(() => consumer!.idlePartitions().length === 3, {
      timeoutMs: 10_000,
      what: 'every tier partition held out again',
    });
  });
});
