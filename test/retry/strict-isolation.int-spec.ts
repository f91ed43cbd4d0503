import { randomUUID } from 'node:crypto';
import { decodeTask, FIRST_ATTEMPT, type DeliveryTask } from '../../src/domain/delivery-task';
import { StrictParking } from '../../src/retry/strict-parking';
import { attempt, retryState, sealed, tier1, worldParkingIn } from '../../src/testing/settler-world';
import { createTestDatabase, type TestDatabase } from '../support/database';

/**
 * A strict first attempt whose retry record the broker refuses for good (MESSAGE_TOO_LARGE) has
 * blocked its endpoint in PostgreSQL before the refusal; its consumer then dead-letters it as
 * `handler_failed`, and the settler must hand its key on from the real tables, or every later
 * delivery of the endpoint parks behind a block nothing lifts.
 */
describe('Settler.releaseAfterIsolation on PostgreSQL', () => {
  let database: TestDatabase;
  let parking: StrictParking;
  beforeAll(async () => {
    database = await createTestDatabase();
    parking = new StrictParking(await database.connect());
  });
  afterAll(() => database?.drop());

  const task = (endpointId: string, n: number): DeliveryTask => ({
    deliveryId: randomUUID(),
    eventId: `e-${n}`,
    endpointId,
    tenantId: randomUUID(),
    eventType: 'record.updated',
    eventTime: '2026-12-07T07:00:00.000Z',
    data: { n },
    publishedAtMs: Date.UTC(2026, 11, 7, 7),
  });

  it('hands the key of a blocker whose retry the broker refused on to the next parked delivery', async () => {
    const { settler, producer } = worldParkingIn(parking);
    const endpointId = randomUUID();
    const [first, second, third] = [1, 2, 3].map((n) => task(endpointId, n));
    producer.refuse = (topic, record) =>
      topic === tier1 && decodeTask(record.value as Buffer).deliveryId === first.deliveryId
        ? Object.assign(new Error('too large'), { type: 'MESSAGE_TOO_LARGE' })
        : null;

    const failed = { ...attempt('failed', 500), endpointId, deliveryId: first.deliveryId };
    await expect(
      settler.settle(
        {
          task: first,
          encoded: sealed(first),
          state: FIRST_ATTEMPT,
          strict: 'first',
          blockKey: '',
          wholeStream: true,
          attempt: failed,
        },
        { kind: 'retry', occasion: 'attempted', tier: 0, state: retryState },
      ),
    ).rejects.toMatchObject({ type: 'MESSAGE_TOO_LARGE' });
    for (const later of [second, third]) {
      expect(await settler.admitStrict({ task: later, encoded: sealed(later), wholeStream: true })).toBe(
        'parked',
      );
    }

    // The consumer has dead-lettered `first` as handler_failed (ConsumerRunner.isolate).
    await settler.releaseAfterIsolation(first);
    expect(await parking.isBlocking(endpointId, first.deliveryId)).toBe(false);
    expect(await parking.isBlocking(endpointId, second.deliveryId)).toBe(true);
    expect(await parking.parkedCount(endpointId)).toBe(1);
    const released = producer.to(tier1).map((r) => decodeTask(r.value as Buffer).deliveryId);
    expect(released).toEqual([second.deliveryId]);
    // Told again (the record isolated twice after a crash), it hands nothing on a second time.
    await settler.releaseAfterIsolation(first);
    expect(producer.to(tier1)).toHaveLength(1);
    // Handed on and unparked: no recovery pass takes it for a blocker never handed on.
    expect(await settler.releaseUnreleased(0, 100)).toBe(0);
  });
});
