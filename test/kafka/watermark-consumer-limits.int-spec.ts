import pino from 'pino';
import { TransientError } from '../../src/domain/transient';
import {
  WatermarkConsumer,
  type ConsumedBatch,
  type ConsumedRecord,
  type WatermarkConsumerSpec,
} from '../../src/kafka/watermark-consumer';
import { brokerPerTest } from '../support/kafka';
import { waitFor } from '../support/wait';

/**
 * The runner on the real broker, against what input can do to it (issue 15): a record a handler
 * always fails on is isolated and its partition moves on; a transient failure is retried, never
 * isolated; records held unfinished stay within the byte budget.
 */
describe('WatermarkConsumer limits', () => {
  const logger = pino({ level: 'silent' });
  const broker = brokerPerTest('wm-limits', { topic: 1 });
  const topic = (): string => broker.topic('topic');
  const groupId = (): string => `${broker.namespace}.group`;

  type Handlers = Pick<WatermarkConsumerSpec, 'isolate'> &
    (
      { handle(record: ConsumedRecord): Promise<void> } | { handleBatch(batch: ConsumedBatch): Promise<void> }
    );

  async function start(handlers: Handlers, bufferBytes?: number): Promise<WatermarkConsumer> {
    const consumer = new WatermarkConsumer(
      broker.kafka,
      {
        name: 'limits-test',
        groupId: groupId(),
        topics: [topic()],
        partitionWindow: 1000,
        bufferBytes,
        ...handlers,
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

  const publish = (values: string[]) =>
    broker.producer.send({ topic: topic(), messages: values.map((value) => ({ key: 'k', value })) });

  it('isolates a record its handler always fails on, handles the others and commits past it', async () => {
    const handled: string[] = [];
    const isolated: Array<{ value: string; error: string }> = [];
    await start({
      handle: async (record) => {
        if (record.value?.toString() === 'poison') throw new TypeError('handler bug');
        handled.push(record.value!.toString());
      },
      isolate: async (record, error) => {
        isolated.push({ value: record.value!.toString(), error: (error as Error).message });
      },
    });
    await publish(['a', 'poison', 'b']);
    await waitFor(() => handled.length === 2 && isolated.length === 1, { what: 'two handled, one isolated' });
    expect(isolated).toEqual([{ value: 'poison', error: 'handler bug' }]);
    await waitFor(async () => (await committedOffset()) === 3, {
      what: 'the committed offset to pass all three',
    });
  });

  it('retries a transient failure until it passes, without isolating the record', async () => {
    let failures = 4;
    const handled: string[] = [];
    const isolated: string[] = [];
    await start({
      handle: async (record) => {
        if (failures-- > 0) throw new TransientError('PostgreSQL unavailable');
        handled.push(record.value!.toString());
      },
      isolate: async (record) => void isolated.push(record.value!.toString()),
    });
    await publish(['only']);
    await waitFor(() => handled.length === 1, {
      what: 'the record handled once the failure passed',
      timeoutMs: 30_000,
    });
    expect(isolated).toEqual([]);
  });

  it('in batch mode, isolates only the record at fault and handles the rest of its batch in order', async () => {
    const handled: string[] = [];
    const isolated: string[] = [];
    await start({
      handleBatch: async (batch) => {
        const values = batch.records.map((record) => record.value!.toString());
        if (values.includes('poison')) throw new RangeError('Invalid time value');
        handled.push(...values);
      },
      isolate: async (record) => void isolated.push(record.value!.toString()),
    });
    await publish(['1', '2', 'poison', '3', '4']);
    await waitFor(() => handled.length === 4 && isolated.length === 1, {
      what: 'four handled, one isolated',
    });
    expect(handled).toEqual(['1', '2', '3', '4']);
    expect(isolated).toEqual(['poison']);
  });

  it('holds at most a quarter of its byte budget of one partition unfinished', async () => {
    const budget = 64 * 1024;
    const size = 10 * 1024;
    let held = 0;
    let mostHeld = 0;
    let release: () => void = () => undefined;
    const released = new Promise<void>((resolve) => (release = resolve));
    const done: number[] = [];
    const consumer = await start(
      {
        handle: async (record) => {
          held += record.value!.length;
          mostHeld = Math.max(mostHeld, held);
          await released;
          held -= record.value!.length;
          done.push(1);
        },
      },
      budget,
    );
    await publish(Array.from({ length: 20 }, (_, index) => String(index).padEnd(size, '.')));
    // One record fills most of the partition's quarter (16 KiB); the next would pass it, so the
    // partition pauses with that one in flight.
    await waitFor(() => held === size, { what: 'one record held' });
    expect(consumer.buffered()).toBe(size + 'k'.length);
    release();
    await waitFor(() => done.length === 20, { what: 'all 20 records handled', timeoutMs: 30_000 });
    expect(mostHeld).toBeLessThanOrEqual(budget / 4 + size);
    await waitFor(() => consumer.buffered() === 0, { what: 'nothing left buffered' });
  });
});
