import { Registry } from 'prom-client';
import { FIRST_ATTEMPT } from '../domain/delivery-task';
import type { EndpointSnapshot } from '../domain/endpoint-snapshot';
import { HELD_RELEASE_BATCH } from '../domain/settlement';
import type { HeldDelivery } from '../retry/held-deliveries';
import { FakeClock, silentLogger, testConfig } from '../testing/fakes';
import { InMemoryHeldDeliveries } from '../testing/stores';
import { HeldRelease } from './held-release';

const config = testConfig({ HOOKSTREAM_MAX_ATTEMPT_AGE: '1h' });

function world() {
  const clock = new FakeClock();
  const held = new InMemoryHeldDeliveries();
  const down = new Set<string>();
  const failing = new Set<string>();
  const busy = new Set<string>();
  /** What each slow endpoint's lane can take without shedding (others: unbounded). */
  const headroom = new Map<string, number>();
  /** Endpoints another replica owns. */
  const elsewhere = new Set<string>();
  const released: HeldDelivery[][] = [];
  /** Endpoints PostgreSQL says are gone. */
  const deleted = new Set<string>();
  /** Endpoints their tenant disabled. */
  const disabled = new Set<string>();
  const outcomes = new Map<string, number>();
  const release = new HeldRelease(
    config,
    held,
    {
      unavailable: (id) => down.has(id),
      laneIdle: (id) => !busy.has(id),
      laneHeadroom: (id) => headroom.get(id) ?? Number.POSITIVE_INFINITY,
    },
    { failingSinceMs: (id) => (failing.has(id) ? clock.now() - 60_000 : null) },
    {
      releaseHeld: async (rows, origin) =>
        void released.push(rows.map((row) => ({ ...row, state: { ...row.state, origin } }))),
    },
    { ownsEndpoint: (id) => !elsewhere.has(id) },
    { lookup: async (id) => (deleted.has(id) ? undefined : snapshotOf(id, !disabled.has(id))) },
    { outcome: (outcome, count = 1) => void outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + count) },
    clock,
    new Registry(),
    silentLogger,
  );
  const holdMany = async (endpointId: string, count: number, firstAttemptAtMs = clock.now()) => {
    for (let i = 0; i < count; i++) {
      await held.hold({
        endpointId,
        deliveryId: `${endpointId}-${firstAttemptAtMs}-${i}`,
        publishedAtMs: i,
        task: Buffer.from(`${endpointId}-${i}`),
        state: { ...FIRST_ATTEMPT, firstAttemptAtMs },
      });
    }
  };
  return {
    clock,
    held,
    down,
    failing,
    busy,
    headroom,
    elsewhere,
    deleted,
    disabled,
    outcomes,
    released,
    release,
    holdMany,
  };
}

/** The cache's view of an endpoint that exists; HeldRelease asks whether it does and can be used. */
const snapshotOf = (id: string, enabled = true) => ({ id, enabled, problem: null }) as EndpointSnapshot;

describe('HeldRelease', () => {
  it('drops the held deliveries of an endpoint PostgreSQL says is deleted, counted, instead of handing them back', async () => {
    const { release, holdMany, deleted, held, released, outcomes, elsewhere } = world();
    await holdMany('gone', 3);
    await holdMany('gone-elsewhere', 2);
    await holdMany('alive', 2);
    deleted.add('gone');
    deleted.add('gone-elsewhere');
    elsewhere.add('gone-elsewhere');
    expect(await release.releasePass()).toBe(2);
    expect(released.flat().map((row) => row.endpointId)).toEqual(['alive', 'alive']);
    // The owner of an endpoint drops its rows; another replica leaves them to it.
    expect(held.rows.map((row) => row.endpointId)).toEqual(['gone-elsewhere', 'gone-elsewhere']);
    expect(outcomes.get('endpoint_deleted')).toBe(3);
  });

  it('releases nothing of an endpoint that still cannot take deliveries', async () => {
    const { release, holdMany, down, held } = world();
    await holdMany('down', 3);
    down.add('down');
    expect(await release.releasePass()).toBe(0);
    expect(held.rows).toHaveLength(3);
  });

  it('hands a disabled endpoint its held deliveries in batches whatever its circuit says (each goes to the DLQ)', async () => {
    const { release, holdMany, down, failing, disabled, released } = world();
    await holdMany('off', HELD_RELEASE_BATCH + 10);
    down.add('off');
    failing.add('off');
    disabled.add('off');
    expect(await release.releasePass()).toBe(HELD_RELEASE_BATCH + 10);
    expect(released[0]).toHaveLength(HELD_RELEASE_BATCH);
  });

  it('releases one delivery, the oldest event, as the probe of a failing endpoint whose lane is idle', async () => {
    const { release, holdMany, failing, busy, released } = world();
    await holdMany('flaky', 3);
    failing.add('flaky');
    busy.add('flaky');
    expect(await release.releasePass()).toBe(0);
    busy.delete('flaky');
    expect(await release.releasePass()).toBe(1);
    expect(released.map((rows) => rows.map((r) => r.task.toString()))).toEqual([['flaky-0']]);
    expect(released[0][0].state.origin).toBe('held-probe');
  });

  it("leaves an endpoint's rows to the replica that owns it, whose circuit decides", async () => {
    const { release, holdMany, elsewhere, held, released } = world();
    await holdMany('theirs', 3);
    await holdMany('ours', 2);
    elsewhere.add('theirs');
    expect(await release.releasePass()).toBe(2);
    expect(released.flat().map((row) => row.endpointId)).toEqual(['ours', 'ours']);
    expect(released.flat().map((row) => row.state.origin)).toEqual(['held-batch', 'held-batch']);
    expect(held.rows.map((row) => row.endpointId)).toEqual(['theirs', 'theirs', 'theirs']);
  });

  it('hands a recovered endpoint its backlog in batches, at most four per pass', async () => {
    const { release, holdMany, held } = world();
    await holdMany('back', HELD_RELEASE_BATCH * 5);
    expect(await release.releasePass()).toBe(HELD_RELEASE_BATCH * 4);
    expect(held.rows).toHaveLength(HELD_RELEASE_BATCH);
  });

  it('hands a slow endpoint no more than its lane can take, once per pass, so nothing cycles', async () => {
    const { release, holdMany, headroom, held, released } = world();
    await holdMany('slow', 1_000);
    headroom.set('slow', 166);
    expect(await release.releasePass()).toBe(166);
    expect(released.flat().every((row) => row.state.origin === 'held-batch')).toBe(true);
    headroom.set('slow', 1);
    expect(await release.releasePass()).toBe(1);
    expect(released.at(-1)![0].state.origin).toBe('held-batch');
    headroom.set('slow', 0);
    expect(await release.releasePass()).toBe(0);
    expect(held.rows).toHaveLength(1_000 - 167);
  });

  it('hands back deliveries past the maximum age even while their endpoint is down', async () => {
    const { release, holdMany, down, clock, held } = world();
    await holdMany('dead', 2, clock.now());
    down.add('dead');
    clock.advance(60 * 60_000 + 1);
    await holdMany('dead', 1, clock.now());
    expect(await release.releasePass()).toBe(2);
    expect(held.rows).toHaveLength(1);
  });
});
