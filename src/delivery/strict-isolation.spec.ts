import { Registry } from 'prom-client';
import { decodeTask, HEADER, type DeliveryTask } from '../domain/delivery-task';
import type { ConsumedRecord, OutgoingRecord } from '../domain/records';
import { consumerPlan } from '../kafka/consumer-plan';
import { CONSUMER, ConsumerRunner } from '../kafka/consumer-runner';
import type { RecordSpec } from '../kafka/consumer-spec';
import { SwitchablePartitionHandover } from '../kafka/partition-handover';
import { handleUntilDurable } from '../kafka/until-durable';
import { endpoint, silentLogger, testTaskSeal } from '../testing/fakes';
import { config, dlq, sealed, task, tier1, world } from '../testing/settler-world';
import { DeliveryConsumersController } from './delivery-consumers.controller';
import { DeliveryEngine } from './delivery-engine';

/**
 * A strict first attempt whose retry record the broker refuses for good (MESSAGE_TOO_LARGE): the
 * consumer dead-letters it as `handler_failed` after three failures (until-durable.ts), and the key
 * it blocked must still be handed on. The engine, settler, runner and retry loop are the real ones;
 * the stores and the producer are in memory.
 */

const strict = endpoint({ id: 'ep-1', tenantId: 't-1', ordering: 'strict', maxConcurrency: 1 });

/** Bytes of a record as the broker counts them against message.max.bytes (near enough). */
function recordBytes(record: OutgoingRecord): number {
  let bytes = (record.value?.length ?? 0) + (record.key ? Buffer.byteLength(record.key) : 0);
  for (const [name, value] of Object.entries(record.headers ?? {})) {
    bytes += Buffer.byteLength(name) + Buffer.byteLength(String(value));
  }
  return bytes;
}

function firstAttempt(t: DeliveryTask, offset: string): ConsumedRecord {
  const value = sealed(t);
  return {
    topic: config.kafka.deliveriesTopic,
    partition: 0,
    offset,
    key: t.endpointId,
    value,
    headers: {},
    timestampMs: 0,
  };
}

/** The deliveries consumer as the runner builds it, over a real engine and settler. */
function deliveries() {
  const stores = world();
  const { producer, settler, health, clock } = stores;
  const engine = new DeliveryEngine(
    config,
    { post: async () => ({ status: 500, headers: {}, body: '', latencyMs: 3 }) },
    { get: (id: string) => (id === strict.id ? strict : undefined), lookup: async () => undefined },
    health,
    settler,
    clock,
    () => 0.5,
    testTaskSeal,
    { unsealedAccepted: () => undefined },
    { withdrawals: () => 0 },
  );
  // No Kafka client: the runner is never started, only asked for the consumer's spec.
  const runner = new ConsumerRunner(
    undefined as unknown as ConstructorParameters<typeof ConsumerRunner>[0],
    config,
    producer,
    new SwitchablePartitionHandover(),
    { carryOverTierOffsets: async () => 0, committedOffsets: async () => [], retiredTiers: () => [] },
    new Registry(),
    silentLogger,
  );
  const controller = new DeliveryConsumersController(engine);
  runner.addHandler(
    CONSUMER.firstAttempts,
    (record: ConsumedRecord) => controller.firstAttempt(record),
    true,
  );
  runner.addHandler(CONSUMER.retryTiers, (record: ConsumedRecord) => controller.retry(record), true);
  runner.addHandler(CONSUMER.deliveryIsolated, (record: ConsumedRecord) => controller.isolated(record), true);
  const declaration = consumerPlan(config).find((d) => d.name === 'deliveries')!;
  const spec = (runner as unknown as { specFor(d: typeof declaration): RecordSpec }).specFor(declaration);
  /** A record handed out by the consumer: handled until durable, isolated as the runner does. */
  const consume = (record: ConsumedRecord) =>
    handleUntilDurable(
      () => spec.handle(record),
      record,
      { consumer: 'deliveries', logger: silentLogger, stopping: () => false },
      (error) => spec.isolate!(record, error),
    );
  return { ...stores, consume };
}

describe('a strict blocker isolated as handler_failed', () => {
  it('hands its key on to the next parked delivery once its dead letter is written', async () => {
    const { producer, parking, consume } = deliveries();
    // d-1 was taken on the deliveries topic just under the broker's limit, and over the 256 KiB a
    // dead letter keeps of a record; its retry record, with the hs-* headers added, is over it.
    const big: DeliveryTask = { ...task(1), data: { blob: 'x'.repeat(300 * 1024) } };
    const d1 = firstAttempt(big, '0');
    const messageMaxBytes = recordBytes({ key: d1.key, value: d1.value });
    producer.refuse = (topic, record) =>
      recordBytes(record) > messageMaxBytes
        ? Object.assign(new Error(`${topic}: the record is larger than the broker accepts`), {
            name: 'KafkaJSProtocolError',
            type: 'MESSAGE_TOO_LARGE',
          })
        : null;

    const handled = consume(d1);
    // d-1's attempt failed and it blocks the endpoint before its retry is refused; d-2 parks behind it.
    await until(() => parking.blocks.get('ep-1/') === 'd-1', 'd-1 to block the endpoint');
    await consume(firstAttempt(task(2), '1'));
    expect(parking.parked.map((p) => p.task.deliveryId)).toEqual(['d-2']);

    await handled;
    const [deadLetter] = producer.to(dlq);
    expect(deadLetter.headers?.[HEADER.reason]).toBe('handler_failed');
    expect(String(deadLetter.headers?.[HEADER.reasonDetail])).toContain('larger than the broker accepts');
    // d-2 is the blocker now, handed on through the shortest tier; nothing is left parked.
    expect(parking.blocks.get('ep-1/')).toBe('d-2');
    expect(parking.parked).toHaveLength(0);
    const released = producer.to(tier1);
    expect(released.map((r) => decodeTask(r.value as Buffer).deliveryId)).toEqual(['d-2']);
    expect(released[0].headers).toMatchObject({ [HEADER.origin]: 'strict-release' });
  });

  it('lifts the block when nothing is parked behind it', async () => {
    const { producer, parking, consume } = deliveries();
    producer.refuse = (topic) =>
      topic === tier1 ? Object.assign(new Error('too large'), { type: 'MESSAGE_TOO_LARGE' }) : null;
    await consume(firstAttempt(task(1), '0'));
    expect(producer.to(dlq)).toHaveLength(1);
    expect(parking.blocks.size).toBe(0);
  });
});

async function until(condition: () => boolean, what: string, deadlineMs = 2_000): Promise<void> {
  const deadline = Date.now() + deadlineMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setImmediate(resolve));
  }
}
