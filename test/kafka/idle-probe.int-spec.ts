import pino from 'pino';
import { WatermarkConsumer } from '../../src/kafka/watermark-consumer';
import { brokerPerTest } from '../support/kafka';
import { waitFor } from '../support/wait';

/**
 * The idle probe (decision 67), on the real broker: partitions of a rarely written topic with
 * nothing unread are left out of fetches, and one written to is read again within a few probes.
 */
describe('WatermarkConsumer idle probe', () => {
  const logger = pino({ level: 'silent' });
  const broker = brokerPerTest('idle', { busy: 2, tier: 3 });

  it('holds out the idle partitions of probed topics only, and reads a record written to one of them', async () => {
    const { producer } = broker;
    const busy = broker.topic('busy');
    const tier = broker.topic('tier');
    const handled: string[] = [];
    // A record written before the consumer ever ran: read from the log's start, never held out unread.
    await producer.send({ topic: tier, messages: [{ key: 'early', value: 'early', partition: 2 }] });
    const consumer = new WatermarkConsumer(
      broker.kafka,
      {
        name: 'idle-test',
        groupId: `${broker.namespace}.group`,
        topics: [busy, tier],
        partitionWindow: 100,
        idleProbe: { topics: [tier], intervalMs: 50 },
        handle: async (record) => {
          handled.push(`${record.topic === tier ? 'tier' : 'busy'}:${String(record.value)}`);
        },
      },
      logger,
    );
    await broker.track(consumer).start();
    const allTier = [0, 1, 2].map((partition) => `${tier}:${partition}`);
    await waitFor(() => handled.includes('tier:early'), { what: 'the record written before the start' });
    await waitFor(() => consumer.idlePartitions().length === 3, {
      timeoutMs: 10_000,
      what: () => `every tier partition held out (now: ${consumer.idlePartitions().join(', ')})`,
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
    await waitFor(() => consumer.idlePartitions().length === 3, {
      timeoutMs: 10_000,
      what: 'every tier partition held out again',
    });
  });
});
