import pino from 'pino';
import { WatermarkConsumer, type ConsumedRecord } from '../../src/kafka/watermark-consumer';
import { brokerPerTest, committedOffsetsOf } from '../support/kafka';
import { waitFor } from '../support/wait';

/**
 * The runner under the retry tiers, on the real broker: records fetched before their due time wait
 * in memory and are handled at their own due time, not behind the partition's head.
 */
describe('WatermarkConsumer with due times (retry tiers)', () => {
  const logger = pino({ level: 'silent' });
  const broker = brokerPerTest('wm', { tier: 1 });
  const topic = (): string => broker.topic('tier');
  const groupId = (): string => `${broker.namespace}.group`;

  async function start(
    handled: Array<{ key: string | null; atMs: number; dueAtMs: number }>,
    dueAtMs: (record: ConsumedRecord) => number | null = (record) => Number(record.headers.due) || null,
    deferLimit?: number,
  ): Promise<WatermarkConsumer> {
    const consumer = new WatermarkConsumer(
      broker.kafka,
      {
        name: 'tier-test',
        groupId: groupId(),
        topics: [topic()],
        partitionWindow: 100,
        dueAtMs,
        deferLimit,
        committedOffsets: committedOffsetsOf(() => broker.admin, groupId),
        handle: async (record) => {
          handled.push({ key: record.key, atMs: Date.now(), dueAtMs: Number(record.headers.due) || 0 });
        },
      },
      logger,
    );
    await consumer.start();
    return broker.track(consumer);
  }

  async function committedOffset(): Promise<number> {
    const [partition] = (await broker.admin.fetchOffsets({ groupId: groupId(), topics: [topic()] }))[0]
      .partitions;
    return Number(partition.offset);
  }

  it('handles a record due sooner before an earlier one due later, and none before its time', async () => {
    const handled: Array<{ key: string | null; atMs: number; dueAtMs: number }> = [];
    await start(handled);
    const now = Date.now();
    await broker.producer.send({
      topic: topic(),
      messages: [
        { key: 'late', value: 'x', headers: { due: String(now + 3_000) } },
        { key: 'soon', value: 'x', headers: { due: String(now + 500) } },
        { key: 'now', value: 'x' },
      ],
    });

    await waitFor(() => handled.length === 3, { timeoutMs: 20_000, what: 'all three records handled' });
    expect(handled.map((h) => h.key)).toEqual(['now', 'soon', 'late']);
    for (const record of handled) expect(record.atMs).toBeGreaterThanOrEqual(record.dueAtMs);
    // The commit waits for the head: it moves past all three only once `late` is done.
    await waitFor(async () => (await committedOffset()) === 3, { what: 'offset 3 committed' });
  });

  it('leaves a waiting record uncommitted when stopped, so the next owner handles it, and only it', async () => {
    const first: Array<{ key: string | null; atMs: number; dueAtMs: number }> = [];
    const consumer = await start(first);
    await broker.producer.send({
      topic: topic(),
      messages: [
        { key: 'waiting', value: 'x', headers: { due: String(Date.now() + 60_000) } },
        { key: 'now', value: 'x' },
      ],
    });
    await waitFor(() => first.length === 1 && consumer.inFlight() === 1, {
      what: 'the due record handled and the waiting one held',
    });
    await consumer.stop(1_000);
    broker.untrack(consumer);
    expect(first.map((h) => h.key)).toEqual(['now']);
    expect(await committedOffset()).toBeLessThanOrEqual(0);

    const second: Array<{ key: string | null; atMs: number; dueAtMs: number }> = [];
    await start(second, () => null);
    await waitFor(() => second.length === 1, { timeoutMs: 30_000, what: 'the waiting record handled' });
    // `now` finished past the committed offset, and the commit's metadata said so (decision 92).
    await broker.producer.send({ topic: topic(), messages: [{ key: 'after', value: 'x' }] });
    await waitFor(() => second.length === 2, { timeoutMs: 30_000, what: 'the record sent after' });
    expect(second.map((h) => h.key)).toEqual(['waiting', 'after']);
  });

  it('holds no more early records than its limit, and still hands every one over on time', async () => {
    const handled: Array<{ key: string | null; atMs: number; dueAtMs: number }> = [];
    const consumer = await start(handled, undefined, 2);
    const now = Date.now();
    await broker.producer.send({
      topic: topic(),
      messages: Array.from({ length: 6 }, (_, i) => ({
        key: `r${i}`,
        value: 'x',
        headers: { due: String(now + 1_000 + 200 * i) },
      })),
    });
    let mostHeld = 0;
    await waitFor(
      () => {
        mostHeld = Math.max(mostHeld, consumer.inFlight());
        return handled.length === 6;
      },
      { timeoutMs: 30_000, intervalMs: 5, what: 'all six records handled' },
    );
    expect(mostHeld).toBeLessThanOrEqual(2);
    expect(handled.map((h) => h.key)).toEqual(['r0', 'r1', 'r2', 'r3', 'r4', 'r5']);
    for (const record of handled) expect(record.atMs).toBeGreaterThanOrEqual(record.dueAtMs);
  });
});
