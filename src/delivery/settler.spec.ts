import pino from 'pino';
import { decodeTask, FIRST_ATTEMPT, HELD_ORIGIN, type AttemptState } from '../domain/delivery-task';
import type { ConsumedRecord } from '../domain/records';
import type { Settlement } from '../domain/settlement';
import {
  attempt,
  config,
  dlq,
  retryState,
  sealed,
  task,
  tier1,
  tier2,
  world,
} from '../testing/settler-world';

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
});
