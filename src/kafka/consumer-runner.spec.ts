import type { Kafka } from 'kafkajs';
import { map, of, timer } from 'rxjs';
import { Registry } from 'prom-client';
import { RecordingProducer, silentLogger, testConfig } from '../testing/fakes';
import type { ConsumedRecord } from '../domain/records';
import { CONSUMER, consumerPlan, type ConsumerDeclaration } from './consumer-plan';
import { ConsumerRunner, HandBackToRunner, settled } from './consumer-runner';
import type { RecordSpec } from './consumer-spec';
import { SwitchablePartitionHandover } from './partition-handover';

/** A runner for a process that runs no consumer (API role only): listen() checks, starts nothing. */
function runner(producer = new RecordingProducer()) {
  return new ConsumerRunner(
    undefined as unknown as Kafka,
    testConfig({ HOOKSTREAM_ROLES: 'api' }),
    producer,
    new SwitchablePartitionHandover(),
    { carryOverTierOffsets: async () => 0, committedOffsets: async () => [], retiredTiers: () => [] },
    new Registry(),
    silentLogger,
  );
}

/** A new handler each time: Nest chains a second handler of a pattern onto the first one's `next`. */
const handler = () => async () => undefined;

function listen(consumers: ConsumerRunner): Promise<void> {
  return new Promise((resolve, reject) =>
    consumers.listen((error?: Error) => (error === undefined ? resolve() : reject(error))),
  );
}

describe('ConsumerRunner', () => {
  describe('close (the consumers drain within what is left of HOOKSTREAM_SHUTDOWN_TIMEOUT)', () => {
    afterEach(() => jest.useRealTimers());

    /** Closes a runner whose one consumer records the drain time it is given. */
    async function drainGiven(spentBeforeCloseMs: number | null): Promise<number[]> {
      jest.useFakeTimers({ now: 1_000_000 });
      const consumers = runner();
      const given: number[] = [];
      (consumers as unknown as { consumers: unknown[] }).consumers.push({
        stop: async (deadlineMs: number) => void given.push(deadlineMs),
      });
      if (spentBeforeCloseMs !== null) {
        consumers.onModuleDestroy();
        jest.setSystemTime(1_000_000 + spentBeforeCloseMs);
      }
      await consumers.close();
      return given;
    }

    it('gives the full timeout when closed as the shutdown begins', async () => {
      expect(await drainGiven(null)).toEqual([10_000]);
      expect(await drainGiven(0)).toEqual([10_000]);
    });

    it('counts the hooks before it (a replay job reaching its chunk end) against the timeout', async () => {
      expect(await drainGiven(5_000)).toEqual([5_000]);
      // Never less than a second, however long they took.
      expect(await drainGiven(9_800)).toEqual([1_000]);
    });

    it('runs the hooks registered with afterDrain once every consumer has stopped, and survives one that fails', async () => {
      const consumers = runner();
      const order: string[] = [];
      let releaseDrain!: () => void;
      (consumers as unknown as { consumers: unknown[] }).consumers.push({
        stop: () =>
          new Promise<void>((resolve) => {
            releaseDrain = () => {
              order.push('drained');
              resolve();
            };
          }),
      });
      consumers.afterDrain(async () => void order.push('flush'));
      consumers.afterDrain(async () => {
        throw new Error('broken hook');
      });
      const closing = consumers.close();
      await Promise.resolve();
      expect(order).toEqual([]);
      releaseDrain();
      await expect(closing).resolves.toBeUndefined();
      expect(order).toEqual(['drained', 'flush']);
    });
  });

  it('starts when every declared consumer has exactly one handler', async () => {
    const consumers = runner();
    for (const pattern of Object.values(CONSUMER)) consumers.addHandler(pattern, handler(), true);
    await expect(listen(consumers)).resolves.toBeUndefined();
  });

  it('refuses to start when a declared consumer has no handler', async () => {
    const consumers = runner();
    for (const pattern of Object.values(CONSUMER).filter((p) => p !== CONSUMER.retryTiers)) {
      consumers.addHandler(pattern, handler(), true);
    }
    await expect(listen(consumers)).rejects.toThrow(
      `consumer pattern ${CONSUMER.retryTiers} has no @EventPattern handler`,
    );
  });

  it('refuses to start when a consumer has two handlers', async () => {
    const consumers = runner();
    for (const pattern of Object.values(CONSUMER)) consumers.addHandler(pattern, handler(), true);
    consumers.addHandler(CONSUMER.deadLetters, handler(), true);
    await expect(listen(consumers)).rejects.toThrow(
      `consumer pattern ${CONSUMER.deadLetters} has two @EventPattern handlers`,
    );
  });

  it("gives an isolated record to the declaration's afterIsolating handler once its dead letter is written", async () => {
    const producer = new RecordingProducer();
    const config = testConfig({ HOOKSTREAM_ROLES: 'api' });
    const consumers = runner(producer);
    const told: string[] = [];
    for (const pattern of Object.values(CONSUMER).filter((p) => p !== CONSUMER.deliveryIsolated)) {
      consumers.addHandler(pattern, handler(), true);
    }
    const afterIsolating = async (record: ConsumedRecord) =>
      void told.push(`${record.offset}: ${producer.to(config.kafka.dlqTopic).length} dead letter(s)`);
    consumers.addHandler(CONSUMER.deliveryIsolated, afterIsolating, true);
    const declaration = consumerPlan(config).find((d) => d.afterIsolating === CONSUMER.deliveryIsolated)!;
    const spec = (consumers as unknown as { specFor(d: ConsumerDeclaration): RecordSpec }).specFor(
      declaration,
    );
    const record: ConsumedRecord = {
      topic: config.kafka.deliveriesTopic,
      partition: 0,
      offset: '7',
      key: null,
      value: Buffer.from('x'),
      headers: {},
      timestampMs: 0,
    };
    producer.failWith = new Error('KafkaJSNumberOfRetriesExceeded');
    await expect(spec.isolate!(record, new Error('bug'))).rejects.toThrow('KafkaJSNumberOfRetriesExceeded');
    expect(told).toEqual([]);
    producer.failWith = null;
    await spec.isolate!(record, new Error('bug'));
    expect(told).toEqual(['7: 1 dead letter(s)']);
  });

  it('refuses a handler that no consumer declares', async () => {
    const consumers = runner();
    for (const pattern of Object.values(CONSUMER)) consumers.addHandler(pattern, handler(), true);
    consumers.addHandler('hookstream.typo', handler(), true);
    await expect(listen(consumers)).rejects.toThrow(
      `@EventPattern('hookstream.typo') has no declared consumer`,
    );
  });
});

describe('settled', () => {
  it('waits for a handler that answers with an observable to complete', async () => {
    const seen: number[] = [];
    await settled(Promise.resolve(timer(5).pipe(map(() => seen.push(1)))));
    expect(seen).toEqual([1]);
  });

  it('rejects with the error the handler threw, as the filter hands it back', async () => {
    const error = new Error('Kafka did not acknowledge');
    const filtered = new HandBackToRunner().catch(error);
    await expect(settled(Promise.resolve(filtered))).rejects.toBe(error);
  });

  it('accepts a plain promise result', async () => {
    await expect(settled(Promise.resolve(undefined))).resolves.toBeUndefined();
    await expect(settled(Promise.resolve(of(1)))).resolves.toBeUndefined();
  });
});
