import { randomUUID } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { encodeTask, type DeliveryTask } from '../../src/domain/delivery-task';
import { StrictParking } from '../../src/retry/strict-parking';
import { createTestDatabase, type TestDatabase } from '../support/database';

/**
 * The strict-ordering tables on the real PostgreSQL: a blocker promoted from the parking lot whose
 * hand-on never happened (its process died between `nextParked` and the release; two chaos runs
 * lost 438 and 793 deliveries behind such a block) is found after the grace period, once per
 * claim, and a blocker's own leftover parked row never comes back as the next blocker.
 */
describe('StrictParking', () => {
  let database: TestDatabase;
  let dataSource: DataSource;
  let parking: StrictParking;
  beforeAll(async () => {
    database = await createTestDatabase();
    dataSource = await database.connect();
    parking = new StrictParking(dataSource);
  });
  afterAll(() => database?.drop());

  const task = (endpointId: string, n: number, orderingKey?: string): DeliveryTask => ({
    ...(orderingKey !== undefined ? { orderingKey } : {}),
    deliveryId: randomUUID(),
    eventId: `e-${n}`,
    endpointId,
    tenantId: randomUUID(),
    eventType: 'record.updated',
    eventTime: '2026-12-03T07:00:00.000Z',
    data: { n },
    publishedAtMs: Date.UTC(2026, 11, 3, 7),
  });
  /** Parks at `key`; the whole stream ('') is the rule of maxConcurrency 1 unless said otherwise. */
  const park = (t: DeliveryTask, key = '', wholeStream = key === '') =>
    parking.park(t, key, encodeTask(t), wholeStream);

  /** An endpoint blocked by a first delivery, with `count` more parked behind it. */
  async function blocked(count: number, key = '', wholeStream = key === '') {
    const endpointId = randomUUID();
    const first = task(endpointId, 0);
    await parking.block(endpointId, key, first.deliveryId, wholeStream);
    const parked = Array.from({ length: count }, (_, i) => task(endpointId, i + 1));
    for (const t of parked) expect(await park(t, key, wholeStream)).toBe('parked');
    return { endpointId, first, parked };
  }
  const ageBlock = (endpointId: string, seconds: number) =>
    dataSource.query(
      `UPDATE endpoint_blocks SET blocked_at = now() - $2 * interval '1 second' WHERE endpoint_id = $1`,
      [endpointId, seconds],
    );
  const ofEndpoint = (rows: Array<{ task: DeliveryTask }>, endpointId: string) =>
    rows.filter((row) => row.task.endpointId === endpointId).map((row) => row.task.deliveryId);

  it('hands back a promoted blocker that was never handed on, once its grace has passed, once per claim', async () => {
    const { endpointId, first, parked } = await blocked(2);
    const promoted = await parking.nextParked(endpointId, first.deliveryId);
    expect(promoted?.task.deliveryId).toBe(parked[0].deliveryId);
    // The process dies here: no release, no unpark.

    expect(ofEndpoint(await parking.unreleased(60_000, 100), endpointId)).toEqual([]);
    await ageBlock(endpointId, 61);
    const recovered = await parking.unreleased(60_000, 100);
    expect(ofEndpoint(recovered, endpointId)).toEqual([parked[0].deliveryId]);
    const row = recovered.find((r) => r.task.endpointId === endpointId)!;
    expect(row.id).toBe(promoted!.id);
    expect(row.encoded.equals(encodeTask(parked[0]))).toBe(true);
    // Claimed: another replica looking now finds nothing.
    expect(ofEndpoint(await parking.unreleased(60_000, 100), endpointId)).toEqual([]);

    // Handed on and unparked, it is the blocker and not in the parking lot.
    await parking.unpark(row.id);
    await ageBlock(endpointId, 61);
    expect(ofEndpoint(await parking.unreleased(60_000, 100), endpointId)).toEqual([]);
    expect(await parking.isBlocking(endpointId, parked[0].deliveryId)).toBe(true);
    expect(await parking.parkedCount(endpointId)).toBe(1);
  });

  it('leaves a blocker alone that failed and is retrying (it was never parked, or was unparked)', async () => {
    const { endpointId } = await blocked(3);
    await ageBlock(endpointId, 3_600);
    expect(ofEndpoint(await parking.unreleased(60_000, 100), endpointId)).toEqual([]);
  });

  it('drops a finished blocker its own leftover parked row, so the next blocker is the next delivery', async () => {
    const { endpointId, first, parked } = await blocked(2);
    const promoted = await parking.nextParked(endpointId, first.deliveryId);
    // Handed on, then the process died before unparking it; the delivery went on and finished.
    const next = await parking.nextParked(endpointId, promoted!.task.deliveryId);
    expect(next?.task.deliveryId).toBe(parked[1].deliveryId);
    await parking.unpark(next!.id);
    expect(await parking.parkedCount(endpointId)).toBe(0);
    expect(await parking.nextParked(endpointId, parked[1].deliveryId)).toBeNull();
    expect(await parking.isBlocking(endpointId, parked[1].deliveryId)).toBe(false);
  });

  it('parks a delivery that arrives twice once, so its promotion is not mistaken for one never handed on', async () => {
    const { endpointId, first, parked } = await blocked(1);
    const again = task(endpointId, 2);
    expect(await park(again)).toBe('parked');
    expect(await park(again)).toBe('parked');
    expect(await parking.parkedCount(endpointId)).toBe(2);
    // The first parked goes on and is unparked; then `again` is promoted, handed on and unparked.
    const promoted = await parking.nextParked(endpointId, first.deliveryId);
    expect(promoted?.task.deliveryId).toBe(parked[0].deliveryId);
    await parking.unpark(promoted!.id);
    const next = await parking.nextParked(endpointId, parked[0].deliveryId);
    expect(next?.task.deliveryId).toBe(again.deliveryId);
    await parking.unpark(next!.id);
    // It fails and waits in a long tier: its block ages past the grace, and nothing is handed back.
    await parking.block(endpointId, '', again.deliveryId, true);
    await ageBlock(endpointId, 61);
    expect(ofEndpoint(await parking.unreleased(60_000, 100), endpointId)).toEqual([]);
  });

  it('recovers per ordering key: the stuck key only', async () => {
    const endpointId = randomUUID();
    const blockers = { a: task(endpointId, 0), b: task(endpointId, 1) };
    await parking.block(endpointId, 'a', blockers.a.deliveryId, false);
    await parking.block(endpointId, 'b', blockers.b.deliveryId, false);
    const behindA = task(endpointId, 2);
    const behindB = task(endpointId, 3);
    expect(await park(behindA, 'a')).toBe('parked');
    expect(await park(behindB, 'b')).toBe('parked');
    expect((await parking.nextParked(endpointId, blockers.a.deliveryId))?.task.deliveryId).toBe(
      behindA.deliveryId,
    );
    await ageBlock(endpointId, 61);
    expect(ofEndpoint(await parking.unreleased(60_000, 100), endpointId)).toEqual([behindA.deliveryId]);
  });

  it("lets a keyed delivery pass the keyless deliveries' block: at maxConcurrency above 1 that is one key among others", async () => {
    // A failing keyless delivery blocks key '' (ordering-key.ts: every keyless delivery of a strict
    // endpoint above maxConcurrency 1 shares it); a failing key holds only its own later deliveries.
    const { endpointId } = await blocked(1, '', false);
    expect(await park(task(endpointId, 10, 'k'), 'k')).toBe('not-blocked');
  });

  it('parks a keyed delivery behind a whole-stream block made before maxConcurrency was raised, in order (decision 74)', async () => {
    // Blocked at maxConcurrency 1: the record 'k' has a delivery parked behind the whole stream.
    const { endpointId, first, parked } = await blocked(1);
    const olderOfK = task(endpointId, 5, 'k');
    expect(await park(olderOfK)).toBe('parked');
    // Raised to 4: a newer delivery of 'k' has lane key 'k', and must not pass the older one.
    const newerOfK = task(endpointId, 6, 'k');
    expect(await park(newerOfK, 'k', false)).toBe('parked');
    const released: string[] = [];
    let blocker = first.deliveryId;
    for (;;) {
      const next = await parking.nextParked(endpointId, blocker);
      if (!next) break;
      await parking.unpark(next.id);
      released.push(next.task.deliveryId);
      blocker = next.task.deliveryId;
    }
    expect(released).toEqual([parked[0].deliveryId, olderOfK.deliveryId, newerOfK.deliveryId]);
    // Drained: the block is lifted, and the endpoint's keys go their own ways again.
    expect(await park(task(endpointId, 7, 'k'), 'k', false)).toBe('not-blocked');
  });

  it("parks a whole-stream delivery behind its record's block made before maxConcurrency was lowered (decision 74)", async () => {
    const { endpointId } = await blocked(1, 'k', false);
    // Lowered to 1: the lane key is the whole stream, the record's key still 'k' or another.
    expect(await park(task(endpointId, 8, 'k'))).toBe('parked');
    expect(await park(task(endpointId, 9, 'j'))).toBe('not-blocked');
    expect(await park(task(endpointId, 10))).toBe('not-blocked');
  });

  it("parks a record's delivery behind its record's block when the stream was blocked after the lowering too (decision 95)", async () => {
    // k blocked at maxConcurrency above 1, with one of its deliveries parked behind.
    const { endpointId, first, parked } = await blocked(1, 'k', false);
    // Lowered to 1; another record's delivery fails and blocks the whole stream.
    const other = task(endpointId, 5, 'j');
    expect(await park(other)).toBe('not-blocked');
    await parking.block(endpointId, '', other.deliveryId, true);
    // A later delivery of k waits behind k's lot, not in the stream's, which the other's success
    // would release first.
    const later = task(endpointId, 6, 'k');
    expect(await park(later)).toBe('parked');
    expect(await parking.nextParked(endpointId, other.deliveryId)).toBeNull();
    const next = await parking.nextParked(endpointId, first.deliveryId);
    expect(next?.task.deliveryId).toBe(parked[0].deliveryId);
    await parking.unpark(next!.id);
    expect((await parking.nextParked(endpointId, parked[0].deliveryId))?.task.deliveryId).toBe(
      later.deliveryId,
    );
  });

  it('keeps a promoted blocker on the key it was promoted under when it fails again under another lane key', async () => {
    const { endpointId, first } = await blocked(1);
    const promoted = await parking.nextParked(endpointId, first.deliveryId);
    await parking.unpark(promoted!.id);
    // maxConcurrency raised meanwhile: its lane key is now its record's, but it blocks the stream.
    await parking.block(endpointId, 'k', promoted!.task.deliveryId, false);
    const rows = await dataSource.query<Array<{ ordering_key: string; whole_stream: boolean }>>(
      `SELECT ordering_key, whole_stream FROM endpoint_blocks WHERE endpoint_id = $1`,
      [endpointId],
    );
    expect(rows).toEqual([{ ordering_key: '', whole_stream: true }]);
    // It finishes: the block is lifted, none left behind.
    expect(await parking.nextParked(endpointId, promoted!.task.deliveryId)).toBeNull();
    expect(await parking.isBlocking(endpointId, promoted!.task.deliveryId)).toBe(false);
  });

  it('gives up the deliveries parked behind an endpoint switched from strict to none, oldest first, and lifts its blocks', async () => {
    const endpointId = randomUUID();
    const tenantId = randomUUID();
    await dataSource.query(`INSERT INTO tenants (id, name) VALUES ($1, 't')`, [tenantId]);
    await dataSource.query(
      `INSERT INTO endpoints (id, tenant_id, url, ordering) VALUES ($1, $2, 'https://example.com/', 'strict')`,
      [endpointId, tenantId],
    );
    const blockers = { whole: task(endpointId, 0), a: task(endpointId, 1) };
    await parking.block(endpointId, '', blockers.whole.deliveryId, true);
    await parking.block(endpointId, 'a', blockers.a.deliveryId, false);
    const parked = [task(endpointId, 2), task(endpointId, 3), task(endpointId, 4)];
    expect(await park(parked[0])).toBe('parked');
    expect(await park(parked[1], 'a', false)).toBe('parked');
    expect(await park(parked[2])).toBe('parked');
    const blocks = () =>
      dataSource.query(`SELECT ordering_key FROM endpoint_blocks WHERE endpoint_id = $1`, [endpointId]);

    // Strict: nothing is given up, nothing lifted.
    expect(ofEndpoint(await parking.parkedOfUnordered(100), endpointId)).toEqual([]);
    expect(await blocks()).toHaveLength(2);

    await dataSource.query(`UPDATE endpoints SET ordering = 'none' WHERE id = $1`, [endpointId]);
    const given = await parking.parkedOfUnordered(100);
    expect(ofEndpoint(given, endpointId)).toEqual(parked.map((t) => t.deliveryId));
    expect(await blocks()).toHaveLength(0);
    // (Rows of the other tests' endpoints, which have no row in `endpoints`, are given up too.)
    const oldest = given.find((row) => row.task.endpointId === endpointId)!;
    expect(oldest.encoded.equals(encodeTask(parked[0]))).toBe(true);
    // Until each is unparked (once handed on), it is given again: nothing is lost to a crash.
    expect(ofEndpoint(await parking.parkedOfUnordered(100), endpointId)).toEqual(
      parked.map((t) => t.deliveryId),
    );
    for (const row of given.filter((r) => r.task.endpointId === endpointId)) await parking.unpark(row.id);
    expect(ofEndpoint(await parking.parkedOfUnordered(100), endpointId)).toEqual([]);
  });

  it('gives up the deliveries parked behind a deleted endpoint, and lifts its blocks', async () => {
    // No row in `endpoints`: deleted while blocked (its delivery then finds it gone and drops it).
    const { endpointId, parked } = await blocked(2);
    const given = await parking.parkedOfUnordered(1_000);
    expect(ofEndpoint(given, endpointId)).toEqual(parked.map((t) => t.deliveryId));
    expect(
      await dataSource.query(`SELECT 1 FROM endpoint_blocks WHERE endpoint_id = $1`, [endpointId]),
    ).toEqual([]);
    for (const row of given.filter((r) => r.task.endpointId === endpointId)) await parking.unpark(row.id);
    expect(await parking.parkedCount(endpointId)).toBe(0);
  });
});
