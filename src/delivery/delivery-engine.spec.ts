import { attemptStateToHeaders, encodeTask, FIRST_ATTEMPT, type DeliveryTask } from '../domain/delivery-task';
import type { EndpointSnapshot } from '../domain/endpoint-snapshot';
import type { ConsumedRecord } from '../domain/records';
import type { Settlement } from '../domain/settlement';
import { TransientError } from '../domain/transient';
import type { ParkResult } from '../retry/strict-parking';
import { RecordWithdrawn } from '../domain/records';
import type { AppConfig } from '../config/config';
import { handleUntilDurable } from '../kafka/until-durable';
import { endpoint, FakeClock, flush, gate, silentLogger, testConfig, testTaskSeal } from '../testing/fakes';
import { InMemoryEndpointHealthStore } from '../testing/stores';
import { taskSealFor } from '../config/config.module';
import { deriveTaskKeys, TaskSeal } from '../domain/task-seal';
import { DeliveryEngine } from './delivery-engine';
import { EndpointHealth } from './endpoint-health';
import type { HttpResponse } from './http-sender';
import type { Settling } from './settler';

const config = testConfig({ HOOKSTREAM_LANE_STALL_AFTER: '1s', HOOKSTREAM_DELIVERY_TIMEOUT: '5s' });
const ok: HttpResponse = { status: 204, headers: {}, body: '', latencyMs: 3 };

/** Records what the engine asked the settler to do, and answers strict questions from a script. */
class RecordingSettler {
  readonly settled: Array<{ settling: Settling; settlement: Settlement }> = [];
  readonly poison: string[] = [];
  admission: ParkResult = 'not-blocked';
  /** When set, answers admissions instead of `admission` (one still waiting for PostgreSQL, say). */
  admitting?: (withdrawn?: () => boolean) => Promise<ParkResult>;
  blocker = false;
  /** Settles that fail, as a durable write refused past the producer's retries does. */
  failures = 0;

  async settle(settling: Settling, settlement: Settlement): Promise<void> {
    this.settled.push({ settling, settlement });
    if (this.failures > 0) {
      this.failures -= 1;
      throw new Error('KafkaJSNumberOfRetriesExceeded');
    }
  }

  async settlePoison(
    record: ConsumedRecord,
    detail: string,
    reason = 'invalid_delivery_record',
  ): Promise<void> {
    this.poison.push(`${record.offset}: ${reason}: ${detail}`);
  }

  async admitStrict(_settling: Settling, withdrawn?: () => boolean): Promise<ParkResult> {
    return this.admitting ? this.admitting(withdrawn) : this.admission;
  }

  async isBlocker(): Promise<boolean> {
    return this.blocker;
  }

  /** The deliveries told of as dead-lettered as `handler_failed`. */
  readonly isolated: string[] = [];

  async releaseAfterIsolation(task: DeliveryTask): Promise<void> {
    this.isolated.push(task.deliveryId);
  }

  kinds(): string[] {
    return this.settled.map(({ settlement }) => `${settlement.kind}/${settlement.occasion}`);
  }
}

function task(n: number, target: EndpointSnapshot): DeliveryTask {
  return {
    deliveryId: `d-${n}`,
    eventId: `e-${n}`,
    endpointId: target.id,
    tenantId: target.tenantId,
    eventType: 'record.updated',
    eventTime: '2026-12-02T12:00:00.000Z',
    data: { n },
    publishedAtMs: 0,
  };
}

function record(value: Buffer | null, headers: Record<string, string> = {}, offset = '0'): ConsumedRecord {
  return { topic: 'hs.deliveries', partition: 0, offset, key: null, value, headers, timestampMs: 0 };
}

function world(
  endpoints: EndpointSnapshot[] = [endpoint()],
  inDatabaseOnly: EndpointSnapshot[] = [],
  seal: TaskSeal = testTaskSeal,
  settings: AppConfig = config,
) {
  const clock = new FakeClock();
  const requests: Array<{ url: string; headers: Record<string, string>; body: string }> = [];
  let respond: () => Promise<HttpResponse> = async () => ok;
  const sender = {
    post: (url: string, headers: Record<string, string>, body: string) => {
      requests.push({ url, headers, body });
      return respond();
    },
  };
  const health = new EndpointHealth(
    config,
    { disable: async () => true },
    { refreshEndpoint: async () => undefined, get: () => undefined },
    new InMemoryEndpointHealthStore(),
    clock,
    silentLogger,
  );
  const settler = new RecordingSettler();
  const byId = new Map(endpoints.map((e) => [e.id, e]));
  const database = new Map([...endpoints, ...inDatabaseOnly].map((e) => [e.id, e]));
  const db = { down: false };
  const cache = {
    get: (id: string) => byId.get(id),
    lookup: async (id: string) => {
      if (db.down) throw new TransientError('PostgreSQL unavailable');
      return database.get(id);
    },
  };
  const unsealed = { accepted: 0 };
  // The consumers' withdrawal count: a test that withdraws records moves it, as a rebalance would.
  const consumers = { count: 0, withdrawals: () => consumers.count };
  const engine = new DeliveryEngine(
    settings,
    sender,
    cache,
    health,
    settler,
    clock,
    () => 0.5,
    seal,
    { unsealedAccepted: () => void unsealed.accepted++ },
    consumers,
  );
  return {
    engine,
    consumers,
    settler,
    health,
    clock,
    requests,
    respondWith: (fn: () => Promise<HttpResponse>) => (respond = fn),
    db,
    unsealed,
  };
}

describe('DeliveryEngine', () => {
  const target = endpoint();
  const start = (endpoints?: EndpointSnapshot[]) => world(endpoints);

  it("writes an attempt's outcome again when its write failed, without attempting again", async () => {
    const { engine, settler, requests, respondWith } = start();
    respondWith(async () => ({ ...ok, status: 503, body: 'busy' }));
    const consumed = record(testTaskSeal.seal(task(1, target)));
    settler.failures = 2;
    // The consumer runs the record again after each failure (handleUntilDurable), the same object.
    await expect(engine.handle(consumed, 'first')).rejects.toThrow('KafkaJSNumberOfRetriesExceeded');
    await expect(engine.handle(consumed, 'first')).rejects.toThrow('KafkaJSNumberOfRetriesExceeded');
    await engine.handle(consumed, 'first');
    expect(requests).toHaveLength(1);
    expect(settler.kinds()).toEqual(['retry/attempted', 'retry/attempted', 'retry/attempted']);
    const [first, second, third] = settler.settled;
    expect(second.settling.attempt).toBe(first.settling.attempt);
    expect(third.settlement).toBe(first.settlement);
    // Written: the record read again later (another delivery of it) is attempted again.
    await engine.handle(consumed, 'first');
    expect(requests).toHaveLength(2);
  });

  it('signs and posts a first attempt, then settles it as delivered with its attempt record', async () => {
    const { engine, settler, requests } = start();
    await engine.handle(record(testTaskSeal.seal(task(1, target))), 'first');
    expect(requests).toHaveLength(1);
    expect(requests[0].url).toBe(target.url);
    expect(requests[0].headers).toMatchObject({ 'webhook-id': 'e-1' });
    expect(requests[0].headers['webhook-signature']).toMatch(/^v1,/);
    expect(JSON.parse(requests[0].body)).toEqual({
      id: 'e-1',
      type: 'record.updated',
      timestamp: '2026-12-02T12:00:00.000Z',
      data: { n: 1 },
    });
    expect(settler.kinds()).toEqual(['delivered/attempted']);
    expect(settler.settled[0].settling.attempt).toMatchObject({
      outcome: 'delivered',
      statusCode: 204,
      attempt: 1,
    });
  });

  it('settles a failed attempt with the retry the policy chose', async () => {
    const { engine, settler, respondWith, clock } = start();
    respondWith(async () => ({ status: 503, headers: {}, body: 'busy', latencyMs: 8 }));
    await engine.handle(record(testTaskSeal.seal(task(1, target))), 'first');
    expect(settler.settled[0].settlement).toEqual({
      kind: 'retry',
      occasion: 'attempted',
      tier: 0,
      state: {
        ...FIRST_ATTEMPT,
        attempt: 2,
        firstAttemptAtMs: clock.now(),
        dueAtMs: clock.now() + 5_000,
        lastError: 'HTTP 503',
        lastStatus: 503,
      },
    });
    expect(settler.settled[0].settling.attempt).toMatchObject({ responseBody: 'busy', statusCode: 503 });
  });

  it('hands an undecodable record to the settler as poison, attempting nothing', async () => {
    const { engine, settler, requests } = start();
    await engine.handle(record(Buffer.from('{"deliveryId":1}'), {}, '41'), 'first');
    expect(settler.poison).toEqual(['41: invalid_delivery_record: delivery record lacks deliveryId']);
    expect(requests).toEqual([]);
  });

  it('dead-letters a task without a valid MAC as task_unauthenticated, never signing or sending it', async () => {
    const { engine, settler, requests } = start();
    const forged = new TaskSeal(deriveTaskKeys(['someone-else-s-key-0123456789abcdef'])).seal(
      task(1, target),
    );
    await engine.handle(record(encodeTask(task(1, target)), {}, '7'), 'first');
    await engine.handle(record(forged, {}, '8'), 'retry');
    expect(settler.poison).toEqual([
      '7: task_unauthenticated: delivery task has no MAC',
      '8: task_unauthenticated: delivery task MAC does not verify',
    ]);
    expect(requests).toEqual([]);
    expect(settler.settled).toEqual([]);
  });

  it('during a rolling upgrade takes a task without a MAC, counts it, and seals it for wherever it waits', async () => {
    const upgrading = taskSealFor(testConfig({ HOOKSTREAM_ACCEPT_UNSEALED_TASKS: 'true' }));
    const { engine, settler, requests, unsealed } = world([target], [], upgrading);
    await engine.handle(record(encodeTask(task(1, target))), 'first');
    expect(requests).toHaveLength(1);
    expect(unsealed.accepted).toBe(1);
    expect(testTaskSeal.open(settler.settled[0].settling.encoded)).toEqual({
      task: task(1, target),
      sealed: true,
    });
  });

  it('drops a delivery to an endpoint it does not know, and dead-letters one to a disabled endpoint', async () => {
    const disabled = endpoint({ id: 'off', enabled: false });
    const { engine, settler, requests } = start([disabled]);
    await engine.handle(record(testTaskSeal.seal(task(1, target))), 'first');
    await engine.handle(record(testTaskSeal.seal(task(2, disabled))), 'first');
    expect(settler.kinds()).toEqual(['drop/endpoint_gone', 'dead-letter/endpoint_disabled']);
    expect(requests).toEqual([]);
  });

  it('asks PostgreSQL about an endpoint this process has not seen, and delivers to it', async () => {
    const fresh = endpoint({ id: 'created-on-another-instance' });
    const { engine, settler, requests } = world([], [fresh]);
    await engine.handle(record(testTaskSeal.seal(task(1, fresh))), 'first');
    expect(settler.kinds()).toEqual(['delivered/attempted']);
    expect(requests).toHaveLength(1);
  });

  describe('while PostgreSQL cannot say whether the endpoint exists', () => {
    afterEach(() => jest.useRealTimers());

    it('waits, rather than drops, and gives the delivery up once its partition moved', async () => {
      jest.useFakeTimers();
      const { engine, settler, db } = world([]);
      db.down = true;
      let owned = true;
      const consumed = { ...record(testTaskSeal.seal(task(1, target))), stillOwned: () => owned };
      const handled = engine.handle(consumed, 'first').then(
        () => 'handled',
        (error: unknown) => error,
      );
      await jest.advanceTimersByTimeAsync(10_000);
      expect(settler.settled).toEqual([]);
      owned = false;
      await jest.advanceTimersByTimeAsync(5_000);
      expect(await handled).toBeInstanceOf(RecordWithdrawn);
      expect(settler.settled).toEqual([]);
    });

    it('attempts deliveries in the order they came when PostgreSQL answers again', async () => {
      jest.useFakeTimers();
      const fresh = endpoint({ id: 'created-before-the-outage' });
      const { engine, db, requests } = world([], [fresh]);
      db.down = true;
      setTimeout(() => (db.down = false), 11_320);
      const context = { consumer: 'deliveries', logger: silentLogger, stopping: () => false };
      // What the consumer does with each record: hand it back until it is handled.
      const consume = (n: number) => {
        const consumed = record(testTaskSeal.seal(task(n, fresh)), {}, String(n));
        return handleUntilDurable(() => engine.handle(consumed, 'first'), consumed, context);
      };
      const first = consume(1);
      await jest.advanceTimersByTimeAsync(50);
      const second = consume(2);
      await jest.advanceTimersByTimeAsync(20_000);
      await Promise.all([first, second]);
      expect(requests.map((r) => (JSON.parse(r.body) as { id: string }).id)).toEqual(['e-1', 'e-2']);
    });
  });

  it('moves a retry that is not due yet on to a later tier without attempting it', async () => {
    const { engine, settler, requests, clock } = start();
    const state = { ...FIRST_ATTEMPT, attempt: 2, dueAtMs: clock.now() + 60_000 };
    await engine.handle(record(testTaskSeal.seal(task(1, target)), attemptStateToHeaders(state)), 'retry');
    expect(settler.kinds()).toEqual(['retry/not_due']);
    expect(requests).toEqual([]);
  });

  it('holds deliveries without attempting them while the circuit is open', async () => {
    const { engine, settler, health, requests, clock } = start();
    for (let i = 0; i < config.delivery.circuitFailureThreshold; i++)
      health.recordFailure(target.id, clock.now());
    await engine.handle(record(testTaskSeal.seal(task(1, target))), 'first');
    expect(settler.kinds()).toEqual(['hold/circuit_open']);
    expect(requests).toEqual([]);
    expect(engine.unavailable(target.id, clock.now())).toBe(true);
  });

  it('holds the queue of a lane that has started nothing for the stall time, keeping its head', async () => {
    const { engine, settler, respondWith, clock } = start();
    const stuck = gate<HttpResponse>();
    respondWith(() => stuck.opened);
    const first = engine.handle(record(testTaskSeal.seal(task(1, target))), 'first');
    const second = engine.handle(record(testTaskSeal.seal(task(2, target))), 'first');
    const third = engine.handle(record(testTaskSeal.seal(task(3, target))), 'first');
    await flush();
    clock.advance(1_500);
    expect(engine.unavailable(target.id, clock.now())).toBe(true);
    const fourth = engine.handle(record(testTaskSeal.seal(task(4, target))), 'first');
    await fourth;
    expect(
      settler.settled.map((s) => [s.settling.task.deliveryId, s.settlement.kind, s.settlement.occasion]),
    ).toEqual([['d-4', 'hold', 'lane_stalled']]);
    stuck.open(ok);
    await Promise.all([first, second, third]);
    expect(settler.kinds().slice(1)).toEqual([
      'delivered/attempted',
      'delivered/attempted',
      'delivered/attempted',
    ]);
    expect(engine.laneIdle(target.id)).toBe(true);
  });

  it('neither attempts nor settles a queued delivery whose partition moved to another replica', async () => {
    const { engine, settler, requests, respondWith, consumers } = start();
    const slow = gate<HttpResponse>();
    respondWith(() => slow.opened);
    const running = engine.handle(record(testTaskSeal.seal(task(1, target))), 'first');
    let owned = true;
    const queued = { ...record(testTaskSeal.seal(task(2, target)), {}, '1'), stillOwned: () => owned };
    const moved = engine.handle(queued, 'first');
    await flush();
    // The rebalance: the new owner reads it again once this replica lets go of the partition.
    owned = false;
    consumers.count += 1;
    engine.shedStalledLanes();
    // Not finished: the consumer leaves it uncommitted for the partition's next owner.
    await expect(moved).rejects.toBeInstanceOf(RecordWithdrawn);
    expect(requests).toHaveLength(1);
    slow.open(ok);
    await running;
    expect(settler.settled.map((s) => s.settling.task.deliveryId)).toEqual(['d-1']);
  });

  it('reads the queues for withdrawn deliveries only after a consumer reported a withdrawal', async () => {
    const { engine, consumers, respondWith } = start();
    const slow = gate<HttpResponse>();
    respondWith(() => slow.opened);
    const asked = { times: 0 };
    const running = engine.handle(record(testTaskSeal.seal(task(1, target))), 'first');
    const queued = {
      ...record(testTaskSeal.seal(task(2, target)), {}, '1'),
      stillOwned: () => {
        asked.times += 1;
        return true;
      },
    };
    const waiting = engine.handle(queued, 'first');
    await flush();
    const askedOnArrival = asked.times;
    engine.shedStalledLanes();
    engine.shedStalledLanes();
    expect(asked.times).toBe(askedOnArrival);
    consumers.count += 1;
    engine.shedStalledLanes();
    expect(asked.times).toBe(askedOnArrival + 1);
    engine.shedStalledLanes();
    expect(asked.times).toBe(askedOnArrival + 1);
    slow.open(ok);
    await Promise.all([running, waiting]);
  });

  describe('strict ordering', () => {
    const strict = endpoint({ id: 'strict', ordering: 'strict' });

    it('parks a first attempt behind the blocking delivery without attempting it', async () => {
      const { engine, settler, requests } = start([strict]);
      settler.admission = 'parked';
      await engine.handle(record(testTaskSeal.seal(task(1, strict))), 'first');
      expect(requests).toEqual([]);
      expect(settler.settled).toEqual([]);
    });

    it('attempts an unblocked first attempt as "first", and a blocker found again after a crash as "blocker"', async () => {
      const { engine, settler } = start([strict]);
      await engine.handle(record(testTaskSeal.seal(task(1, strict))), 'first');
      settler.admission = 'is-blocker';
      await engine.handle(record(testTaskSeal.seal(task(2, strict))), 'first');
      expect(settler.settled.map((s) => s.settling.strict)).toEqual(['first', 'blocker']);
    });

    it('tells a retry that blocks the endpoint from one that does not', async () => {
      const { engine, settler } = start([strict]);
      settler.blocker = true;
      await engine.handle(record(testTaskSeal.seal(task(1, strict))), 'retry');
      settler.blocker = false;
      await engine.handle(record(testTaskSeal.seal(task(2, strict))), 'retry');
      expect(settler.settled.map((s) => s.settling.strict)).toEqual(['blocker', 'bystander']);
    });

    it('sends a strict delivery turned away by its circuit to a tier, not to the held table', async () => {
      const { engine, settler, health, clock } = start([strict]);
      for (let i = 0; i < config.delivery.circuitFailureThreshold; i++)
        health.recordFailure(strict.id, clock.now());
      await engine.handle(record(testTaskSeal.seal(task(1, strict))), 'first');
      expect(settler.kinds()).toEqual(['retry/circuit_open']);
      expect(settler.settled[0].settling.strict).toBe('first');
    });

    it('asks the settler to hand on the key of a delivery isolated as handler_failed', async () => {
      const { engine, settler } = start([strict]);
      await engine.afterIsolation(record(testTaskSeal.seal(task(1, strict))));
      // A record that is not a task (nor one Hookstream wrote) blocks nothing.
      await engine.afterIsolation(record(Buffer.from('not a task')));
      expect(settler.isolated).toEqual(['d-1']);
      expect(settler.settled).toEqual([]);
    });

    it('waits for PostgreSQL to admit a strict delivery without holding a slot other tenants need', async () => {
      const tight = testConfig({
        HOOKSTREAM_LANE_STALL_AFTER: '1s',
        HOOKSTREAM_MAX_IN_FLIGHT: '2',
        HOOKSTREAM_TENANT_MAX_IN_FLIGHT: '2',
      });
      const strictOfS = [1, 2].map((n) =>
        endpoint({ id: `strict-${n}`, tenantId: 'tenant-s', ordering: 'strict' }),
      );
      const ofT = endpoint({ id: 'none-of-t', tenantId: 'tenant-t', url: 'http://127.0.0.1:9/t' });
      const { engine, settler, requests } = world([...strictOfS, ofT], [], testTaskSeal, tight);
      // PostgreSQL is down: the strict admissions never answer.
      settler.admitting = () => new Promise<ParkResult>(() => undefined);
      for (const [n, e] of strictOfS.entries())
        void engine.handle(record(testTaskSeal.seal(task(n, e))), 'first');
      await flush();
      expect(engine.inFlight()).toBe(0);
      await engine.handle(record(testTaskSeal.seal(task(3, ofT))), 'first');
      expect(requests.map((r) => r.url)).toEqual([ofT.url]);
      expect(settler.kinds()).toEqual(['delivered/attempted']);
    });

    it('neither attempts nor settles a strict delivery whose partition moved while it waited for admission', async () => {
      const { engine, settler, requests } = start([strict]);
      const answer = gate<ParkResult>();
      settler.admitting = () => answer.opened;
      let owned = true;
      const consumed = { ...record(testTaskSeal.seal(task(1, strict))), stillOwned: () => owned };
      const handled = engine.handle(consumed, 'first');
      await flush();
      owned = false;
      answer.open('not-blocked');
      await expect(handled).rejects.toBeInstanceOf(RecordWithdrawn);
      expect(requests).toEqual([]);
      expect(settler.settled).toEqual([]);
    });

    it('runs at most maxConcurrency admissions of an endpoint at once, as its lane did', async () => {
      const keyed = endpoint({ id: 'strict-keyed', ordering: 'strict', maxConcurrency: 2 });
      const { engine, settler, requests } = start([keyed]);
      const answer = gate<ParkResult>();
      let asked = 0;
      settler.admitting = () => {
        asked += 1;
        return answer.opened;
      };
      const handled = ['a', 'b', 'c'].map((key, n) =>
        engine.handle(record(testTaskSeal.seal({ ...task(n, keyed), orderingKey: key })), 'first'),
      );
      await flush();
      expect(asked).toBe(2);
      answer.open('not-blocked');
      await Promise.all(handled);
      expect(asked).toBe(3);
      expect(requests).toHaveLength(3);
    });

    it('admits the next delivery of a key only once the one before it has finished', async () => {
      const keyed = endpoint({ id: 'strict-keyed', ordering: 'strict', maxConcurrency: 4 });
      const { engine, settler, respondWith } = start([keyed]);
      const slow = gate<HttpResponse>();
      respondWith(() => slow.opened);
      const admitted: string[] = [];
      settler.admitting = async () => {
        admitted.push(`admission ${admitted.length + 1}`);
        return 'not-blocked';
      };
      const of = (n: number, key: string) => ({ ...task(n, keyed), orderingKey: key });
      const handled = [
        engine.handle(record(testTaskSeal.seal(of(1, 'a'))), 'first'),
        engine.handle(record(testTaskSeal.seal(of(2, 'a'))), 'first'),
        engine.handle(record(testTaskSeal.seal(of(3, 'b'))), 'first'),
      ];
      await flush();
      // d-1 and d-3 are admitted and sent; d-2 waits for d-1, whose failure would block it.
      expect(admitted).toHaveLength(2);
      expect(engine.inFlight()).toBe(2);
      slow.open(ok);
      await Promise.all(handled);
      expect(admitted).toHaveLength(3);
      expect(settler.settled.map((s) => s.settling.task.deliveryId)).toEqual(['d-1', 'd-3', 'd-2']);
    });

    it('drains a disabled strict endpoint: its retries are dead-lettered as the blocker', async () => {
      const off = endpoint({ id: 'strict-off', ordering: 'strict', enabled: false });
      const { engine, settler } = start([off]);
      await engine.handle(record(testTaskSeal.seal(task(1, off))), 'retry');
      expect(settler.kinds()).toEqual(['dead-letter/endpoint_disabled']);
      expect(settler.settled[0].settling.strict).toBe('blocker');
    });

    it('drains at most maxConcurrency keys of a disabled strict endpoint at once', async () => {
      const off = endpoint({ id: 'strict-off', ordering: 'strict', enabled: false, maxConcurrency: 2 });
      const { engine, settler } = start([off]);
      const written = gate();
      let pending = 0;
      const settle = settler.settle.bind(settler);
      settler.settle = async (settling, settlement) => {
        pending += 1;
        await written.opened; // PostgreSQL and the DLQ slow: each drain waits.
        await settle(settling, settlement);
      };
      const handled = ['a', 'b', 'c', 'd', 'e'].map((key, n) =>
        engine.handle(record(testTaskSeal.seal({ ...task(n, off), orderingKey: key })), 'retry'),
      );
      await flush();
      expect(pending).toBe(2);
      written.open();
      await Promise.all(handled);
      expect(settler.kinds()).toHaveLength(5);
    });

    it("runs at most HOOKSTREAM_TENANT_MAX_IN_FLIGHT of a tenant's strict admissions at once; other tenants' go on", async () => {
      const tight = testConfig({ HOOKSTREAM_LANE_STALL_AFTER: '1s', HOOKSTREAM_TENANT_MAX_IN_FLIGHT: '2' });
      const ofS = [1, 2, 3].map((n) =>
        endpoint({ id: `strict-s-${n}`, tenantId: 'tenant-s', ordering: 'strict' }),
      );
      const ofT = endpoint({ id: 'strict-t', tenantId: 'tenant-t', ordering: 'strict' });
      const { engine, settler } = world([...ofS, ofT], [], testTaskSeal, tight);
      const answer = gate<ParkResult>();
      const asked: string[] = [];
      settler.admitting = () => answer.opened;
      const admitStrict = settler.admitStrict.bind(settler);
      settler.admitStrict = (settling, withdrawn) => {
        asked.push(settling.task.endpointId);
        return admitStrict(settling, withdrawn);
      };
      const handled = [...ofS, ofT].map((e, n) =>
        engine.handle(record(testTaskSeal.seal(task(n, e))), 'first'),
      );
      await flush();
      expect(asked).toEqual(['strict-s-1', 'strict-s-2', 'strict-t']);
      answer.open('not-blocked');
      await Promise.all(handled);
      expect(asked).toHaveLength(4);
    });
  });
});
