import pino from 'pino';
import type { ConsumedRecord } from '../../src/domain/records';
import { WatermarkConsumer } from '../../src/kafka/watermark-consumer';
import { brokerPerTest } from '../support/kafka';
import { waitFor } from '../support/wait';

/**
 * kafkajs restarts a consumer after a retriable crash (a broker restart can cause one) with a new
 * consumer group object, whose partitions are all unpaused. A partition this member had paused for
 * its window resumed later through the closure kafkajs' eachBatch `pause()` returned, bound to the
 * old group: a no-op. When the idle probe had paused that partition in the new group meanwhile and
 * left its resumption to the window, nothing resumed it, and the partition stalled for good: the
 * full `npm run chaos:cluster` of decision 93 left 1,869 retries of one endpoint unread (README
 * decision 94).
 */
describe('WatermarkConsumer: a partition paused across a kafkajs restart', () => {
  const broker = brokerPerTest('pause-restart', { work: 2 });
  const gates = new Map<string, () => void>();
  afterEach(() => [...gates.values()].forEach((open) => open()));

  it('resumes the partition its window paused, on the consumer group reading after the restart', async () => {
    const messages: string[] = [];
    const logger = pino(
      { level: 'info' },
      { write: (line: string) => void messages.push(JSON.parse(line).msg) },
    );
    const handled: string[] = [];
    let crashes = 0;
    const topic = broker.topic('work');
    const consumer = broker.track(
      new WatermarkConsumer(
        broker.kafka,
        {
          name: 'pause-restart-test',
          groupId: `${broker.namespace}.group`,
          topics: [topic],
          partitionWindow: 4,
          commitIntervalMs: 50,
          idleProbe: { topics: [topic], intervalMs: 50 },
          // The crash a broker restart caused in the chaos run, made on demand.
          dueAtMs: (record: ConsumedRecord) => {
            if (record.key === 'crash' && crashes++ === 0) {
              throw Object.assign(new Error('injected'), {
                name: 'KafkaJSNoBrokerAvailableError',
                retriable: true,
              });
            }
            return null;
          },
          handle: async (record: ConsumedRecord) => {
            const key = record.key ?? '';
            handled.push(key);
            if (key.startsWith('h')) await new Promise<void>((resolve) => gates.set(key, resolve));
          },
        },
        logger,
      ),
    );
    await consumer.start();
    const assignments = () => messages.filter((msg) => msg === 'partitions assigned').length;
    await waitFor(() => assignments() === 1, { what: 'the first assignment' });
    const send = (partition: number, keys: string[]) =>
      broker.producer.send({ topic, messages: keys.map((key) => ({ key, value: key, partition })) });
    const sawP0Idle = () => consumer.idlePartitions().includes(`${topic}:0`);

    // Four records fill the window; the fifth pauses the partition.
    await send(0, ['h1', 'h2', 'h3', 'h4', 'h5']);
    await waitFor(() => handled.length === 4, { what: 'four records in hand' });
    gates.get('h1')!();

    // The crash, and kafkajs' restart with a new consumer group object.
    await send(1, ['crash']);
    await waitFor(() => assignments() === 2 && handled.includes('crash'), {
      what: 'the restart after the crash',
    });
    // The new group reads h5 (three in flight now), reaches the end, and the probe pauses it as idle.
    await waitFor(() => handled.includes('h5'), { what: 'h5 read after the restart' });
    await waitFor(sawP0Idle, { what: 'the probe pausing partition 0 as idle' });

    // Written to again: the probe leaves the resumption to the window, which still holds it.
    await send(0, ['after']);
    await waitFor(() => !sawP0Idle(), { what: 'the probe letting partition 0 go' });
    for (const key of ['h2', 'h3', 'h4', 'h5']) gates.get(key)!();

    await waitFor(() => handled.includes('after'), { timeoutMs: 15_000, what: 'the record written after' });
    expect(messages).toContain('consumer crashed; kafkajs restarts it');
  });
});
