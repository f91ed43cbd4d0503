import type { EachBatchPayload } from 'kafkajs';
import type { ConsumedBatch } from '../domain/records';
import { TransientError } from '../domain/transient';
import { silentLogger } from '../testing/fakes';
import type { OffsetCommitter } from './offset-committer';
import { partitionKey } from './partition-key';
import { newPartitionState, type PartitionState } from './partition-state';
import { handleUntilDurable } from './until-durable';
import { handleWholeBatch, type WholeBatchHost } from './whole-batch';

const TOPIC = 'platform.events';

/** A kafkajs protocol error as a heartbeat rejects with it. */
function protocolError(type: string): Error {
  return Object.assign(new Error(`heartbeat answered ${type}`), { type });
}

/** A member of generation 1 assigned partition 0, with the runner's retry loop. */
function member() {
  const partitions = new Map<string, PartitionState>();
  const consumer = { generationEnding: false };
  const host: WholeBatchHost = {
    stopping: () => false,
    generation: () => 1,
    generationEnding: () => consumer.generationEnding,
    markGenerationEnding: () => (consumer.generationEnding = true),
    isAssigned: (topic, partition) => topic === TOPIC && partition === 0,
    partitionState: (topic, partition) => {
      const key = partitionKey(topic, partition);
      if (!partitions.has(key)) partitions.set(key, newPartitionState(1));
      return partitions.get(key)!;
    },
    partitions: () => partitions,
    untilDurable: (work, first, isolate) =>
      handleUntilDurable(
        work,
        first,
        { consumer: 'fan-out', logger: silentLogger, stopping: () => false },
        isolate,
      ),
    pending: new Set(),
    committer: { idleForAnInterval: () => false } as unknown as OffsetCommitter,
  };
  return { host, consumer };
}

/** What the coordinator answers this member's heartbeats: nothing to say, or an error `type`. */
function coordinator() {
  const answer: { type: string | null } = { type: null };
  const heartbeat = jest.fn(async () => {
    if (answer.type !== null) throw protocolError(answer.type);
  });
  return { answer, heartbeat };
}

/** A fetched batch of offsets 0 and 1 of partition 0. */
function payload(heartbeat: () => Promise<void>) {
  const resolveOffset = jest.fn();
  const messages = ['0', '1'].map((offset) => ({
    offset,
    key: Buffer.from('tenant'),
    value: Buffer.from(`event-${offset}`),
    headers: {},
    timestamp: '0',
  }));
  const fetched = {
    batch: { topic: TOPIC, partition: 0, messages, lastOffset: () => '1' },
    resolveOffset,
    heartbeat,
    isRunning: () => true,
    isStale: () => false,
  } as unknown as EachBatchPayload;
  return { fetched, resolveOffset };
}

/** The fan-out's shape: work that keeps failing while the producer is away, a write only while owned. */
function fanOut() {
  const producer = { away: true, attempts: 0, written: [] as string[] };
  const handleBatch = async (batch: ConsumedBatch) => {
    producer.attempts += 1;
    batch.assertOwned?.();
    if (producer.away) throw new TransientError('produce timed out');
    producer.written.push(...batch.records.map((record) => record.value!.toString()));
  };
  return { producer, handleBatch };
}

const spec = (handleBatch: (batch: ConsumedBatch) => Promise<void>) => ({
  name: 'fan-out',
  groupId: 'fan-out',
  topics: [TOPIC],
  partitionWindow: 1_000,
  handleBatch,
});

describe('handleWholeBatch: a batch whose generation ends while it keeps failing', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it.each(['REBALANCE_IN_PROGRESS', 'UNKNOWN_MEMBER_ID', 'ILLEGAL_GENERATION'])(
    'stops retrying once a heartbeat answers %s, writes nothing after, and leaves the batch uncommitted',
    async (type) => {
      const { host } = member();
      const { answer, heartbeat } = coordinator();
      const { fetched, resolveOffset } = payload(heartbeat);
      const { producer, handleBatch } = fanOut();

      const handled = handleWholeBatch(fetched, spec(handleBatch), host);
      const outcome = handled.then(
        () => 'returned',
        (error: Error) => error.message,
      );
      await jest.advanceTimersByTimeAsync(3_000);
      expect(producer.attempts).toBeGreaterThan(2); // retried while the generation lasted

      answer.type = type;
      await jest.advanceTimersByTimeAsync(1_000); // the next heartbeat
      producer.away = false; // the produce would succeed now
      await jest.advanceTimersByTimeAsync(10_000);

      // Returned with the heartbeat's answer, so kafkajs joins again at once; nothing written or resolved.
      expect(await outcome).toBe(`heartbeat answered ${type}`);
      expect(producer.written).toEqual([]);
      expect(resolveOffset).not.toHaveBeenCalled();
      expect(host.pending.size).toBe(0);
    },
  );

  it('reads the batch as new when the member keeps the partition through the rebalance', async () => {
    const { host, consumer } = member();
    const { answer, heartbeat } = coordinator();
    const { producer, handleBatch } = fanOut();
    const first = payload(heartbeat);
    let givenUp = false;
    const withdrawn = handleWholeBatch(first.fetched, spec(handleBatch), host)
      .catch(() => undefined)
      .then(() => (givenUp = true));
    await jest.advanceTimersByTimeAsync(1_000);
    answer.type = 'REBALANCE_IN_PROGRESS';
    await jest.advanceTimersByTimeAsync(7_000);
    expect(givenUp).toBe(true);
    await withdrawn;

    // Joined again (the join ends the rebalance), kept the partition: kafkajs fetches the same
    // records from the commit.
    consumer.generationEnding = false;
    answer.type = null;
    producer.away = false;
    const again = payload(heartbeat);
    await handleWholeBatch(again.fetched, spec(handleBatch), host);
    expect(producer.written).toEqual(['event-0', 'event-1']);
    expect(again.resolveOffset).toHaveBeenCalledWith('1');
  });

  it('writes nothing of a batch that starts after another batch heard the rebalance begin', async () => {
    const { host, consumer } = member();
    const { answer, heartbeat } = coordinator();
    const { producer, handleBatch } = fanOut();
    // Another partition's batch heard it (or kafkajs said REBALANCING); no join has ended it yet.
    consumer.generationEnding = true;
    producer.away = false;
    answer.type = 'REBALANCE_IN_PROGRESS';
    const { fetched, resolveOffset } = payload(heartbeat);

    const outcome = handleWholeBatch(fetched, spec(handleBatch), host).then(
      () => 'returned',
      (error: Error) => error.message,
    );
    await jest.advanceTimersByTimeAsync(0);

    // Before its own first heartbeat (1 s): nothing written, nothing resolved.
    expect(await outcome).toBe('heartbeat answered REBALANCE_IN_PROGRESS');
    expect(producer.written).toEqual([]);
    expect(resolveOffset).not.toHaveBeenCalled();
  });

  it('tells the consumer when its heartbeat hears the generation end', async () => {
    const { host, consumer } = member();
    const { answer, heartbeat } = coordinator();
    const { handleBatch } = fanOut();
    const { fetched } = payload(heartbeat);
    const handled = handleWholeBatch(fetched, spec(handleBatch), host).catch(() => undefined);
    answer.type = 'ILLEGAL_GENERATION';
    await jest.advanceTimersByTimeAsync(1_000);
    expect(consumer.generationEnding).toBe(true);
    await jest.advanceTimersByTimeAsync(10_000);
    await handled;
  });

  it('goes on retrying, and writes, while heartbeats answer nothing', async () => {
    const { host } = member();
    const { heartbeat } = coordinator();
    const { fetched, resolveOffset } = payload(heartbeat);
    const { producer, handleBatch } = fanOut();
    const handled = handleWholeBatch(fetched, spec(handleBatch), host);
    await jest.advanceTimersByTimeAsync(5_000);
    producer.away = false;
    await jest.advanceTimersByTimeAsync(5_000);
    await handled;
    expect(producer.written).toEqual(['event-0', 'event-1']);
    expect(resolveOffset).toHaveBeenCalledWith('1');
  });
});
