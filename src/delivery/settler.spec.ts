import pino from 'pino';
import { Registry } from 'prom-client';
import {
  decodeTask,
  FIRST_ATTEMPT,
  HELD_ORIGIN,
  type AttemptState,
  type DeliveryTask,
} from '../domain/delivery-task';
import type { ConsumedRecord } from '../domain/records';
import type { Settlement } from '../domain/settlement';
import { RetryTopics } from '../retry/retry-topics';
import { FakeClock, RecordingProducer, silentLogger, testConfig, testTaskSeal } from '../testing/fakes';
import {
  InMemoryEndpointHealthStore,
  InMemoryHeldDeliveries,
  InMemoryStrictParking,
} from '../testing/stores';
import type { AttemptRecord } from './attempts.repository';
import { DeliveryMetrics } from './delivery-metrics';
import { EndpointHealth } from './endpoint-health';
import { Settler, type Settling } from './settler';

const config = testConfig({ HOOKSTREAM_TOPIC_NAMESPACE: 'hs', HOOKSTREAM_DISABLE_AFTER: '1h' });
const [tier1, tier2] = config.kafka.retryTiers.map((tier) => tier.topic);
const dlq = config.kafka.dlqTopic;

function task(n = 1, endpointId = 'ep-1'): DeliveryTask {
  return {
    deliveryId: `d-${n}`,
    eventId: `e-${n}`,
    endpointId,
    tenantId: 't-1',
    eventType: 'record.updated',
    eventTime: '2026-12-02T12:00:00.000Z',
    data: { n },
    publishedAtMs: Date.UTC(2026, 11, 2, 11, 59, 59),
  };
}

const sealed = (t: DeliveryTask): Buffer => testTaskSeal.seal(t);

function attempt(outcome: 'delivered' | 'failed', statusCode: number): AttemptRecord {
  return {
    endpointId: 'ep-1',
    tenantId: 't-1',
    eventId: 'e-1',
    deliveryId: 'd-1',
    attempt: 1,
    statusCode,
    error: outcome === 'failed' ? `HTTP ${statusCode}` : null,
    outcome,
    latencyMs: 12,
    responseBody: null,
    attemptedAt: new Date(0),
  };
}

function world(logger = silentLogger) {
  const clock = new FakeClock();
  const producer = new RecordingProducer();
  const held = new InMemoryHeldDeliveries();
  const parking = new InMemoryStrictParking();
  const disabled: Array<[string, string]> = [];
  const health = new EndpointHealth(
    config,
    {
      disable: async (id: string, reason: string) => {
        disabled.push([id, reason]);
        // Only the first disable changes the row (EndpointsRepository.disable).
        return disabled.filter(([other]) => other === id).length === 1;
      },
    },
    { refreshEndpoint: async () => undefined, get: () => undefined },
    new InMemoryEndpointHealthStore(),
    clock,
    silentLogger,
  );
  const logged: AttemptRecord[] = [];
  const notified: Array<[string, ...unknown[]]> = [];
  const notifier = {
    endpointDisabled: async (...args: unknown[]) => void notified.push(['disabled', ...args]),
    disableAlreadyReported: () => void notified.push(['disabled again']),
    endpointFailing: (...args: unknown[]) => void notified.push(['failing', ...args]),
    deadLettered: (...args: unknown[]) => void notified.push(['dead letter', ...args]),
  };
  const registry = new Registry();
  const settler = new Settler(
    new RetryTopics(config, producer),
    held,
    parking,
    health,
    { append: (record: AttemptRecord) => void logged.push(record) },
    new DeliveryMetrics(registry),
    clock,
    logger,
    notifier,
  );
  const outcomes = async () => {
    const metric = await registry.getSingleMetric('hookstream_deliveries_total')!.get();
    return Object.fromEntries(metric.values.map((v) => [v.labels.outcome, v.value]));
  };
  return { clock, producer, held, parking, health, disabled, logged, settler, outcomes, notified };
}

const retryState: AttemptState = {
  ...FIRST_ATTEMPT,
  attempt: 2,
  firstAttemptAtMs: 1,
  dueAtMs: 99,
  lastError: 'HTTP 500',
};

describe('Settler', () => {
  it('records a delivered attempt: attempt log, circuit closed again, delivered counted', async () => {
    const { settler, logged, health, clock, outcomes } = world();
    health.recordFailure('ep-1', clock.now());
    await settler.settle(
      { task: task(), encoded: sealed(task()), state: FIRST_ATTEMPT, attempt: attempt('delivered', 200) },
      {
        kind: 'delivered',
        occasion: 'attempted',
      },
    );
    expect(logged).toHaveLength(1);
    expect(health.failingSinceMs('ep-1')).toBeNull();
    expect(await outcomes()).toEqual({ delivered: 1 });
  });

  it('logs an attempt once when its outcome is written again after a failed write', async () => {
    const { settler, producer, logged, outcomes } = world();
    const settlement: Settlement = { kind: 'retry', occasion: 'attempted', tier: 1, state: retryState };
    const settling = {
      task: task(),
      encoded: sealed(task()),
      state: FIRST_ATTEMPT,
      attempt: attempt('failed', 500),
    };
    producer.failWith = new Error('KafkaJSNumberOfRetriesExceeded');
    await expect(settler.settle(settling, settlement)).rejects.toThrow('KafkaJSNumberOfRetriesExceeded');
    producer.failWith = null;
    await settler.settle({ ...settling }, settlement);
    expect(logged).toHaveLength(1);
    expect(producer.to(tier2)).toHaveLength(1);
    expect(await outcomes()).toEqual({ retried: 1 });
  });

  it('writes a retry to its tier, keyed by endpoint, with the attempt state in headers', async () => {
    const { settler, producer, outcomes } = world();
    const settlement: Settlement = { kind: 'retry', occasion: 'attempted', tier: 1, state: retryState };
    await settler.settle(
      { task: task(), encoded: sealed(task()), state: FIRST_ATTEMPT, attempt: attempt('failed', 500) },
      settlement,
    );
    const [record] = producer.to(tier2);
    expect(record.key).toBe('ep-1');
    expect(decodeTask(record.value as Buffer)).toEqual(task());
    expect(record.headers).toMatchObject({
      'hs-attempt': '2',
      'hs-due-at': '99',
      'hs-last-error': 'HTTP 500',
    });
    expect(await outcomes()).toEqual({ retried: 1 });
  });

  it('holds a turned-away delivery in PostgreSQL, and uses its tier when that write fails', async () => {
    const { settler, producer, held, outcomes } = world();
    const hold: Settlement = {
      kind: 'hold',
      occasion: 'circuit_open',
      state: retryState,
      orTier: 0,
      orRetryAtMs: 5_000,
    };
    await settler.settle({ task: task(1), encoded: sealed(task(1)), state: FIRST_ATTEMPT }, hold);
    expect(held.rows.map((row) => row.endpointId)).toEqual(['ep-1']);
    held.failWith = new Error('connection refused');
    await settler.settle({ task: task(2), encoded: sealed(task(2)), state: FIRST_ATTEMPT }, hold);
    expect(producer.to(tier1).map((r) => r.headers?.['hs-due-at'])).toEqual(['5000']);
    expect(await outcomes()).toEqual({ circuit_open: 2 });
  });

  it('names the endpoint and the occasion when a held delivery released in a batch is turned away', async () => {
    const lines: Array<Record<string, unknown>> = [];
    const { settler } = world(
      pino({ level: 'info' }, { write: (line: string) => lines.push(JSON.parse(line)) }),
    );
    const hold: Settlement = {
      kind: 'hold',
      occasion: 'lane_stalled',
      state: retryState,
      orTier: 0,
      orRetryAtMs: 5_000,
    };
    for (const origin of [HELD_ORIGIN.probe, HELD_ORIGIN.batch]) {
      const state: AttemptState = { ...FIRST_ATTEMPT, origin };
      await settler.settle({ task: task(1), encoded: sealed(task(1)), state }, hold);
    }
    const turnedAway = lines.filter(
      (line) => line.msg === 'a held delivery released in a batch was turned away again',
    );
    expect(turnedAway).toEqual([expect.objectContaining({ endpointId: 'ep-1', occasion: 'lane_stalled' })]);
  });

  it('dead-letters with a typed reason and the attempts made', async () => {
    const { settler, producer, outcomes } = world();
    await settler.settle(
      { task: task(), encoded: sealed(task()), state: FIRST_ATTEMPT, attempt: attempt('failed', 500) },
      {
        kind: 'dead-letter',
        occasion: 'attempted',
        reason: 'attempts_exhausted',
        detail: 'HTTP 500',
        state: retryState,
      },
    );
    const [record] = producer.to(dlq);
    expect(record.headers).toMatchObject({
      'hs-reason': 'attempts_exhausted',
      'hs-reason-detail': 'HTTP 500',
      'hs-attempt': '2',
    });
    expect(await outcomes()).toEqual({ dead_lettered: 1 });
  });

  it('counts a delivery turned away past its age while the circuit is open as dead-lettered', async () => {
    const { settler, producer, outcomes } = world();
    await settler.settle(
      { task: task(), encoded: sealed(task()), state: FIRST_ATTEMPT },
      {
        kind: 'dead-letter',
        occasion: 'circuit_open',
        reason: 'max_age_exceeded',
        detail: 'HTTP 500',
        state: retryState,
      },
    );
    expect(producer.to(dlq)[0].headers).toMatchObject({ 'hs-reason': 'max_age_exceeded' });
    expect(await outcomes()).toEqual({ dead_lettered: 1 });
  });

  it('disables the endpoint, then dead-letters the delivery as endpoint_disabled', async () => {
    const { settler, producer, disabled } = world();
    await settler.settle(
      { task: task(), encoded: sealed(task()), state: FIRST_ATTEMPT, attempt: attempt('failed', 410) },
      {
        kind: 'disable',
        occasion: 'attempted',
        reason: 'endpoint answered HTTP 410; disabled',
        detail: 'HTTP 410',
        state: retryState,
      },
    );
    expect(disabled).toEqual([['ep-1', 'endpoint answered HTTP 410; disabled']]);
    expect(producer.to(dlq)[0].headers).toMatchObject({ 'hs-reason': 'endpoint_disabled' });
  });

  it('disables an endpoint that has been failing longer than HOOKSTREAM_DISABLE_AFTER', async () => {
    const { settler, clock, disabled } = world();
    const retry: Settlement = { kind: 'retry', occasion: 'attempted', tier: 0, state: retryState };
    await settler.settle(
      { task: task(), encoded: sealed(task()), state: FIRST_ATTEMPT, attempt: attempt('failed', 500) },
      retry,
    );
    clock.advance(3_600_001);
    await settler.settle(
      { task: task(), encoded: sealed(task()), state: FIRST_ATTEMPT, attempt: attempt('failed', 500) },
      retry,
    );
    await new Promise((resolve) => setImmediate(resolve));
    expect(disabled).toEqual([['ep-1', 'failing for more than a fraction of a day(s)']]);
  });

  it('tells the tenant of a disable once, however many of its deliveries get 410', async () => {
    const { settler, notified, clock } = world();
    const gone: Settlement = {
      kind: 'disable',
      occasion: 'attempted',
      reason: 'endpoint answered HTTP 410; disabled',
      detail: 'HTTP 410',
      state: retryState,
    };
    for (const n of [1, 2, 3]) {
      await settler.settle(
        { task: task(n), encoded: sealed(task(n)), state: FIRST_ATTEMPT, attempt: attempt('failed', 410) },
        gone,
      );
    }
    expect(notified.filter(([kind]) => kind.startsWith('disabled'))).toEqual([
      ['disabled', 'ep-1', 'endpoint answered HTTP 410; disabled', clock.now()],
      ['disabled again'],
      ['disabled again'],
    ]);
  });

  it('reports each dead letter, and each failure once the circuit is open, to the notifier', async () => {
    const { settler, notified } = world();
    const retry: Settlement = { kind: 'retry', occasion: 'attempted', tier: 0, state: retryState };
    const threshold = config.delivery.circuitFailureThreshold;
    for (let n = 1; n <= threshold + 1; n += 1) {
      await settler.settle(
        { task: task(n), encoded: sealed(task(n)), state: FIRST_ATTEMPT, attempt: attempt('failed', 503) },
        retry,
      );
    }
    const failing = notified.filter(([kind]) => kind === 'failing');
    expect(failing).toHaveLength(2);
    expect(failing[1]).toEqual([
      'failing',
      'ep-1',
      't-1',
      expect.objectContaining({ consecutiveFailures: threshold + 1, lastStatus: 503 }),
    ]);
    await settler.settle(
      { task: task(9), encoded: sealed(task(9)), state: FIRST_ATTEMPT, attempt: attempt('failed', 503) },
      {
        kind: 'dead-letter',
        occasion: 'attempted',
        reason: 'attempts_exhausted',
        detail: 'HTTP 503',
        state: retryState,
      },
    );
    expect(notified.filter(([kind]) => kind === 'dead letter')).toEqual([
      [
        'dead letter',
        'ep-1',
        't-1',
        'record.updated',
        expect.objectContaining({ eventId: 'e-9', reason: 'attempts_exhausted' }),
      ],
    ]);
  });

  it('drops a delivery whose endpoint is gone, writing nothing', async () => {
    const { settler, producer, outcomes } = world();
    await settler.settle(
      { task: task(), encoded: sealed(task()), state: FIRST_ATTEMPT },
      { kind: 'drop', occasion: 'endpoint_gone' },
    );
    expect(producer.sent).toEqual([]);
    expect(await outcomes()).toEqual({ endpoint_deleted: 1 });
  });

  it('writes nothing to the counters for a record that only hops to a later tier', async () => {
    const { settler, producer, outcomes } = world();
    await settler.settle(
      { task: task(), encoded: sealed(task()), state: retryState },
      { kind: 'retry', occasion: 'not_due', tier: 1, state: retryState },
    );
    expect(producer.to(tier2)).toHaveLength(1);
    expect(await outcomes()).toEqual({});
  });

  it('dead-letters an undecodable record as it was, with where it came from', async () => {
    const { settler, producer } = world();
    const record: ConsumedRecord = {
      topic: 'hs.deliveries',
      partition: 3,
      offset: '17',
      key: 'k',
      value: Buffer.from('{not json'),
      headers: { a: '1' },
      timestampMs: 0,
    };
    await settler.settlePoison(record, 'Unexpected token n');
    expect(producer.to(dlq)).toEqual([
      {
        key: 'k',
        value: Buffer.from('{not json'),
        headers: {
          a: '1',
          'hs-reason': 'invalid_delivery_record',
          'hs-reason-detail': 'Unexpected token n',
          'hs-origin': 'hs.deliveries/3/17',
        },
      },
    ]);
  });

  describe('strict ordering', () => {
    it('blocks the endpoint before the first retry of a delivery that was not blocked', async () => {
      const { settler, parking, producer } = world();
      const settling: Settling = {
        task: task(1),
        encoded: sealed(task(1)),
        state: FIRST_ATTEMPT,
        strict: 'first',
        attempt: attempt('failed', 500),
      };
      await settler.settle(settling, { kind: 'retry', occasion: 'attempted', tier: 0, state: retryState });
      expect(parking.blocks.get('ep-1/')).toBe('d-1');
      expect(producer.to(tier1)).toHaveLength(1);
      expect(await settler.admitStrict({ task: task(2), encoded: sealed(task(2)) })).toBe('parked');
      expect(await settler.admitStrict({ task: task(1), encoded: sealed(task(1)) })).toBe('is-blocker');
    });

    it("blocks only the failing delivery's key: another key of the endpoint is admitted", async () => {
      const { settler, parking, producer } = world();
      const keyed = (n: number, key: string) => ({ ...task(n), orderingKey: key });
      await settler.settle(
        {
          task: keyed(1, 'a'),
          encoded: sealed(keyed(1, 'a')),
          state: FIRST_ATTEMPT,
          strict: 'first',
          blockKey: 'a',
          attempt: attempt('failed', 500),
        },
        { kind: 'retry', occasion: 'attempted', tier: 0, state: retryState },
      );
      expect(parking.blocks.get('ep-1/a')).toBe('d-1');
      expect(
        await settler.admitStrict({ task: keyed(2, 'a'), encoded: sealed(keyed(2, 'a')), blockKey: 'a' }),
      ).toBe('parked');
      expect(
        await settler.admitStrict({ task: keyed(3, 'b'), encoded: sealed(keyed(3, 'b')), blockKey: 'b' }),
      ).toBe('not-blocked');
      expect(await settler.isBlocker(keyed(1, 'a'))).toBe(true);
      expect(await settler.isBlocker(keyed(3, 'b'))).toBe(false);
      // The blocker delivered: its key's parked delivery goes on, found by the blocker's id alone.
      await settler.settle(
        {
          task: keyed(1, 'a'),
          encoded: sealed(keyed(1, 'a')),
          state: retryState,
          strict: 'blocker',
          attempt: attempt('delivered', 200),
        },
        { kind: 'delivered', occasion: 'attempted' },
      );
      expect(parking.blocks.get('ep-1/a')).toBe('d-2');
      expect(producer.to(tier1).map((r) => decodeTask(r.value as Buffer).deliveryId)).toEqual(['d-1', 'd-2']);
    });

    it('releases the oldest parked delivery through the shortest tier once the blocker is delivered', async () => {
      const { settler, parking, producer } = world();
      await parking.block('ep-1', '', 'd-1', true);
      await parking.park(task(2), '', sealed(task(2)), true);
      await parking.park(task(3), '', sealed(task(3)), true);
      await settler.settle(
        {
          task: task(1),
          encoded: sealed(task(1)),
          state: retryState,
          strict: 'blocker',
          attempt: attempt('delivered', 200),
        },
        { kind: 'delivered', occasion: 'attempted' },
      );
      expect(parking.blocks.get('ep-1/')).toBe('d-2');
      expect(parking.parked.map((p) => p.task.deliveryId)).toEqual(['d-3']);
      const [released] = producer.to(tier1);
      expect(decodeTask(released.value as Buffer).deliveryId).toBe('d-2');
      expect(released.headers).toMatchObject({ 'hs-attempt': '1', 'hs-origin': 'strict-release' });
    });

    it('hands on a blocker promoted from the parking lot whose releaser died before handing it on', async () => {
      const { settler, parking, producer } = world();
      await parking.block('ep-1', '', 'd-1', true);
      await parking.park(task(2), '', sealed(task(2)), true);
      await parking.park(task(3), '', sealed(task(3)), true);
      // d-1 finished; d-2 was promoted, then the process died before the release.
      await parking.nextParked('ep-1', 'd-1');
      expect(producer.to(tier1)).toHaveLength(0);

      expect(await settler.releaseUnreleased(60_000, 100)).toBe(1);
      const [released] = producer.to(tier1);
      expect(decodeTask(released.value as Buffer).deliveryId).toBe('d-2');
      expect(released.headers).toMatchObject({ 'hs-attempt': '1', 'hs-origin': 'strict-release' });
      expect(parking.parked.map((p) => p.task.deliveryId)).toEqual(['d-3']);
      expect(await settler.releaseUnreleased(60_000, 100)).toBe(0);
    });

    it('hands on what is parked behind an endpoint switched to none, the owner only, and lifts its block', async () => {
      const { settler, parking, producer } = world();
      await parking.block('ep-1', '', 'd-1', true);
      await parking.park(task(2), '', sealed(task(2)), true);
      await parking.park(task(3), '', sealed(task(3)), true);
      // Still strict: nothing moves.
      expect(await settler.releaseParkedOfUnordered(100, () => true)).toBe(0);
      parking.unordered.add('ep-1');
      // Another replica owns the endpoint: it leaves them to the owner.
      expect(await settler.releaseParkedOfUnordered(100, () => false)).toBe(0);
      expect(parking.parked).toHaveLength(2);

      expect(await settler.releaseParkedOfUnordered(100, (id) => id === 'ep-1')).toBe(2);
      const released = producer.to(tier1).map((r) => decodeTask(r.value as Buffer).deliveryId);
      expect(released).toEqual(['d-2', 'd-3']);
      expect(parking.parked).toHaveLength(0);
      expect(parking.blocks.size).toBe(0);
    });

    it('lifts the block when the blocker is dead-lettered and nothing is parked', async () => {
      const { settler, parking } = world();
      await parking.block('ep-1', '', 'd-1', true);
      await settler.settle(
        { task: task(1), encoded: sealed(task(1)), state: retryState, strict: 'blocker' },
        {
          kind: 'dead-letter',
          occasion: 'attempted',
          reason: 'attempts_exhausted',
          detail: 'HTTP 500',
          state: retryState,
        },
      );
      expect(parking.blocks.size).toBe(0);
    });

    it('neither blocks nor releases for a retry that does not block the endpoint', async () => {
      const { settler, parking } = world();
      await parking.block('ep-1', '', 'd-9', true);
      await parking.park(task(2), '', sealed(task(2)), true);
      const bystander: Settling = {
        task: task(1),
        encoded: sealed(task(1)),
        state: retryState,
        strict: 'bystander',
      };
      await settler.settle(bystander, { kind: 'retry', occasion: 'attempted', tier: 0, state: retryState });
      await settler.settle(bystander, { kind: 'delivered', occasion: 'attempted' });
      expect(parking.blocks.get('ep-1/')).toBe('d-9');
      expect(parking.parked).toHaveLength(1);
      expect(await settler.isBlocker(task(1))).toBe(false);
    });
  });
});
