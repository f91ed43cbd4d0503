import pino from 'pino';
import type { ConsumedRecord } from '../../src/domain/records';
import type { PartitionHandover } from '../../src/kafka/consumer-spec';
import { WatermarkConsumer } from '../../src/kafka/watermark-consumer';
import { brokerPerTest, committedOffsetsOf } from '../support/kafka';
import { waitFor } from '../support/wait';

/**
 * A member that loses a partition in a rebalance lets the records in flight there finish, commits
 * them, then releases the partition; its next owner, which waits for that release, starts past
 * them (README decision 93). Without the commit, every record in flight at a rebalance (a scale-up,
 * each step of a rolling deploy) was delivered again by the next owner.
 */
describe('WatermarkConsumer: what finishes on a lost partition is committed before its release', () => {
  const logger = pino({ level: 'silent' });
  const broker = brokerPerTest('handover-commit', { work: 2 });
  const groupId = (): string => `${broker.namespace}.group`;
  let openGate: () => void = () => undefined;

  afterEach(() => openGate());

  /** Who owns each partition index, shared by the members as the delivery module shares it in PostgreSQL. */
  function sharedOwnership(): (member: string) => PartitionHandover {
    const owners = new Map<number, string>();
    return (member) => ({
      async acquire(indexes, stillOwned) {
        const free = (index: number) => !stillOwned(index) || (owners.get(index) ?? member) === member;
        await waitFor(() => indexes.every(free), {
          timeoutMs: 60_000,
          what: `partitions ${indexes.join()} released`,
        });
        for (const index of indexes) if (stillOwned(index)) owners.set(index, member);
      },
      async release(indexes, beforeRelease) {
        const held = indexes.filter((index) => owners.get(index) === member);
        await beforeRelease?.(held);
        for (const index of held) owners.delete(index);
      },
    });
  }

  /** A member noting the key of each record it handles; records keyed `held-*` finish when the gate opens. */
  async function member(
    name: string,
    handled: string[],
    gate: Promise<void>,
    handover: PartitionHandover,
  ): Promise<WatermarkConsumer> {
    const consumer = new WatermarkConsumer(
      broker.kafka,
      {
        name: `handover-commit-${name}`,
        groupId: groupId(),
        topics: [broker.topic('work')],
        partitionWindow: 1_000,
        commitIntervalMs: 50,
        handle: async (record: ConsumedRecord) => {
          handled.push(record.key ?? '');
          if (record.key?.startsWith('held')) await gate;
        },
        handover,
        committedOffsets: committedOffsetsOf(() => broker.admin, groupId),
      },
      logger,
    );
    await consumer.start();
    return broker.track(consumer);
  }

  const send = (partition: number, keys: string[]) =>
    broker.producer.send({
      topic: broker.topic('work'),
      messages: keys.map((key) => ({ key, value: key, partition })),
    });

  async function committedOffsets(): Promise<string[]> {
    const [topic] = await broker.admin.fetchOffsets({ groupId: groupId(), topics: [broker.topic('work')] });
    return [...topic.partitions].sort((x, y) => x.partition - y.partition).map(({ offset }) => offset);
  }

  it('lets the next owner start past the records that were in flight when the partition moved', async () => {
    const ownership = sharedOwnership();
    const gate = new Promise<void>((resolve) => (openGate = resolve));
    const first: string[] = [];
    const a = await member('a', first, gate, ownership('a'));
    await Promise.all([send(0, ['warm-0']), send(1, ['warm-1'])]);
    await waitFor(async () => (await committedOffsets()).join() === '1,1', {
      timeoutMs: 30_000,
      what: 'the warm-up records committed',
    });

    const held = (partition: number) => Array.from({ length: 5 }, (_, i) => `held-${partition}-${i}`);
    await Promise.all([send(0, held(0)), send(1, held(1))]);
    await waitFor(() => first.filter((key) => key.startsWith('held')).length === 10, {
      timeoutMs: 30_000,
      what: 'the ten held records in flight on the first member',
    });

    // A second member joins: the first keeps one partition and loses the other, ten records in flight.
    const second: string[] = [];
    const b = await member('b', second, gate, ownership('b'));
    await waitFor(() => a.ownedIndexes().length === 1 && b.ownedIndexes().length === 1, {
      timeoutMs: 60_000,
      what: 'the rebalance: one partition each',
    });
    const [kept] = a.ownedIndexes();
    const [moved] = b.ownedIndexes();
    openGate();
    await Promise.all([send(kept, [`after-${kept}`]), send(moved, [`after-${moved}`])]);
    await waitFor(() => first.includes(`after-${kept}`) && second.includes(`after-${moved}`), {
      timeoutMs: 60_000,
      what: 'the records sent after the rebalance, one on each member',
    });

    // The held records of the moved partition were handled once, by the member that lost it.
    expect(second).toEqual([`after-${moved}`]);
    expect(first.filter((key) => key.startsWith(`held-${moved}`))).toEqual(held(moved));
    await waitFor(async () => (await committedOffsets()).join() === '7,7', {
      timeoutMs: 30_000,
      what: 'both partitions committed past the record sent after',
    });
  });
});
