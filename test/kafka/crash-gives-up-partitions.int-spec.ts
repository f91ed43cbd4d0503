import pino from 'pino';
import { Registry } from 'prom-client';
import type { DataSource } from 'typeorm';
import type { ReplicaRegistry } from '../../src/cluster/replica-registry';
import { PartitionOwners } from '../../src/delivery/partition-owners';
import { RecordWithdrawn, type ConsumedRecord } from '../../src/domain/records';
import type { PartitionHandover } from '../../src/kafka/consumer-spec';
import { WatermarkConsumer } from '../../src/kafka/watermark-consumer';
import { testConfig } from '../../src/testing/fakes';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { brokerPerTest, committedOffsetsOf } from '../support/kafka';
import { waitFor } from '../support/wait';

/**
 * After a retriable kafkajs crash the member has left the group, and the next member to be given its
 * partitions starts them once it releases them in PostgreSQL (or at the grace deadline). Until the
 * fix the crashed member went on as their owner: its lanes attempted the records queued there while
 * the next owner, after the grace, read and attempted them again (README decision 99). The crash is
 * made on demand as in pause-after-restart.int-spec.ts.
 */
describe('WatermarkConsumer: a member that crashed gives its partitions up', () => {
  const broker = brokerPerTest('crash-gives-up', { work: 1 });
  const groupId = (): string => `${broker.namespace}.group`;
  // A grace of 65 s: longer than the test waits, so the next owner starts only on a release.
  const config = testConfig({ HOOKSTREAM_DELIVERY_TIMEOUT: '60s' });
  let database: TestDatabase;
  let db: DataSource;
  let openGate: () => void = () => undefined;

  beforeAll(async () => {
    database = await createTestDatabase();
    db = await database.connect();
  });
  afterAll(() => database.drop());
  afterEach(() => openGate());

  /** A replica's ownership of the partition indexes, in PostgreSQL as the delivery module keeps it. */
  async function owners(id: string) {
    // Live for the whole test: only a release lets the other replica start before the grace.
    await db.query(
      `INSERT INTO replicas (id, host, pid, roles, heartbeat_at)
       VALUES ($1, 'test', 1, '{delivery}', now() + interval '10 minutes')`,
      [id],
    );
    const registry = new Registry();
    const owners = new PartitionOwners(
      config,
      db,
      { id } as ReplicaRegistry,
      registry,
      pino({ level: 'silent' }),
    );
    const handover: PartitionHandover = {
      acquire: (indexes, stillOwned) => owners.acquire(indexes, stillOwned),
      release: (indexes, beforeRelease) => owners.release(indexes, beforeRelease),
    };
    const forced = async () =>
      (await registry.getSingleMetric('hookstream_partition_handovers_forced_total')!.get()).values.reduce(
        (sum, value) => sum + value.value,
        0,
      );
    return { handover, forced };
  }

  /**
   * A member whose records wait in one lane of concurrency 1, as an endpoint's deliveries do: a
   * record withdrawn before its turn (its partition moved) is not attempted. `crashOn`: the key of
   * the record whose first reading makes kafkajs crash and restart.
   */
  async function member(name: string, handover: PartitionHandover, gate: Promise<void>, crashOn?: string) {
    const attempts: string[] = [];
    const messages: string[] = [];
    const logger = pino(
      { level: 'info' },
      { write: (line: string) => void messages.push(JSON.parse(line).msg) },
    );
    let lane = Promise.resolve();
    let crashes = 0;
    const consumer = new WatermarkConsumer(
      broker.kafka,
      {
        name: `crash-gives-up-${name}`,
        groupId: groupId(),
        topics: [broker.topic('work')],
        partitionWindow: 100,
        commitIntervalMs: 50,
        coPartitioned: true,
        handover,
        committedOffsets: committedOffsetsOf(() => broker.admin, groupId),
        dueAtMs: (record: ConsumedRecord) => {
          if (record.key === crashOn && crashes++ === 0) {
            // kafkajs restarts the consumer after `retryTime`: long enough for the group to give
            // its partition to the other member first, as when the broker stays out of reach a while.
            throw Object.assign(new Error('injected'), {
              name: 'KafkaJSNoBrokerAvailableError',
              retriable: true,
              retryTime: 6_000,
            });
          }
          return null;
        },
        handle: (record: ConsumedRecord) => {
          const turn = lane.then(async () => {
            if (record.stillOwned?.() === false) throw new RecordWithdrawn();
            attempts.push(record.key ?? '');
            if (record.key === 'h1') await gate;
          });
          lane = turn.catch(() => undefined);
          return turn;
        },
      },
      logger,
    );
    await consumer.start();
    broker.track(consumer);
    const joins = () => messages.filter((msg) => msg === 'partitions assigned').length;
    return { consumer, attempts, messages, joins };
  }

  const ownershipRow = async () => {
    const rows = await db.query<Array<{ owner: string; released: boolean }>>(
      'SELECT owner, released FROM delivery_partitions WHERE consumer_group = $1 AND partition = 0',
      [config.kafka.deliveryGroupId],
    );
    return rows[0];
  };

  beforeEach(() => db.query('DELETE FROM delivery_partitions; DELETE FROM replicas'));

  it('withdraws its queued records and releases the partition, which the next owner starts past what it finished', async () => {
    const gate = new Promise<void>((resolve) => (openGate = resolve));
    const ownersA = await owners('a');
    const ownersB = await owners('b');
    const a = await member('a', ownersA.handover, gate, 'crash');
    await waitFor(() => a.consumer.activeIndexes().includes(0), { what: 'a working on partition 0' });
    const b = await member('b', ownersB.handover, gate);
    await waitFor(() => b.joins() >= 1 && a.joins() >= 2, { timeoutMs: 60_000, what: 'b in the group' });
    expect(a.consumer.ownedIndexes()).toEqual([0]);

    // h1 is attempted and hangs; h2-h4 wait in the lane behind it.
    await broker.producer.send({
      topic: broker.topic('work'),
      messages: ['h1', 'h2', 'h3', 'h4'].map((key) => ({ key, value: key, partition: 0 })),
    });
    await waitFor(() => a.attempts.length === 1, { what: 'h1 attempted on a' });

    // a crashes and leaves; b is given partition 0 and waits for a to release it. a joins again.
    const joinsBefore = a.joins();
    await broker.producer.send({
      topic: broker.topic('work'),
      messages: [{ key: 'crash', value: 'crash', partition: 0 }],
    });
    await waitFor(() => a.messages.includes('consumer crashed; kafkajs restarts it'), { what: 'the crash' });
    await waitFor(() => b.consumer.ownedIndexes().includes(0), {
      timeoutMs: 30_000,
      what: 'b given partition 0',
    });
    expect(a.consumer.activeIndexes()).toEqual([]);
    // h1 is still in flight on a: the partition is not released yet, and b waits.
    expect(await ownershipRow()).toEqual({ owner: 'a', released: false });
    // Back in the group (with nothing), a can commit what it finished there before it releases it.
    await waitFor(() => a.joins() > joinsBefore, { timeoutMs: 30_000, what: 'a back in the group' });
    expect(b.consumer.ownedIndexes()).toEqual([0]);

    openGate();
    await waitFor(() => b.attempts.includes('crash'), {
      timeoutMs: 30_000,
      what: () =>
        `b attempting the records after h1 (a attempted ${a.attempts.join()}; b ${b.attempts.join()})`,
    });
    // No withdrawn record was attempted on a after the crash; h1, committed before the release, not on b.
    expect(a.attempts).toEqual(['h1']);
    expect(b.attempts).toEqual(['h2', 'h3', 'h4', 'crash']);
    expect(await ownershipRow()).toEqual({ owner: 'b', released: false });
    expect(await ownersB.forced()).toBe(0);
  });
});
