import { randomUUID } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { FIRST_ATTEMPT } from '../../src/domain/delivery-task';
import { HeldDeliveries, type HeldDelivery, type HoldRequest } from '../../src/retry/held-deliveries';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { waitFor } from '../support/wait';

/**
 * Held deliveries on the real PostgreSQL: the fan-out retries a whole batch after a failed send,
 * and each run holds the batch's held tasks again. Before the unique (endpoint_id, delivery_id),
 * every run added a row, and the endpoint got each held delivery once per run when it recovered.
 */
describe('HeldDeliveries', () => {
  let database: TestDatabase;
  let dataSource: DataSource;
  let held: HeldDeliveries;
  beforeAll(async () => {
    database = await createTestDatabase();
    dataSource = await database.connect();
    held = new HeldDeliveries(dataSource);
  });
  afterAll(() => database?.drop());

  const request = (endpointId: string, deliveryId: string): HoldRequest => ({
    endpointId,
    deliveryId,
    publishedAtMs: Date.now(),
    task: Buffer.from(`task ${deliveryId}`),
    state: FIRST_ATTEMPT,
  });
  const rows = async (endpointId: string) =>
    (
      await dataSource.query<Array<{ delivery_id: string }>>(
        `SELECT delivery_id FROM held_deliveries WHERE endpoint_id = $1 ORDER BY id`,
        [endpointId],
      )
    ).map((row) => row.delivery_id);

  it('keeps one row per delivery, whether held again in a later insert or twice in one', async () => {
    const endpointId = randomUUID();
    await held.hold(request(endpointId, 'd-1'));
    await held.hold(request(endpointId, 'd-1'));
    await Promise.all([held.hold(request(endpointId, 'd-2')), held.hold(request(endpointId, 'd-2'))]);
    expect(await rows(endpointId)).toEqual(['d-1', 'd-2']);
    // Another endpoint's delivery of the same id is its own.
    const other = randomUUID();
    await held.hold(request(other, 'd-1'));
    expect(await rows(other)).toEqual(['d-1']);
  });

  it('holds a delivery again once its row was released', async () => {
    const endpointId = randomUUID();
    await held.hold(request(endpointId, 'd-1'));
    const handedOn: string[] = [];
    await held.release(endpointId, 10, async (batch) => {
      handedOn.push(...batch.map((row) => row.task.toString()));
    });
    expect(handedOn).toEqual(['task d-1']);
    await held.hold(request(endpointId, 'd-1'));
    expect(await rows(endpointId)).toEqual(['d-1']);
  });

  it('keeps a delivery held again while its release is still committing', async () => {
    const endpointId = randomUUID();
    await held.hold(request(endpointId, 'd-1'));
    const waitingOnALock = async () =>
      Number(
        (
          await dataSource.query<Array<{ waiting: string }>>(
            `SELECT count(*) AS waiting FROM pg_stat_activity
              WHERE datname = current_database() AND wait_event_type = 'Lock'`,
          )
        )[0].waiting,
      ) > 0;
    let rehold: Promise<void> | undefined;
    await held.release(endpointId, 10, async () => {
      // Its tier record is read at once and its endpoint is still down: it is held again before
      // this release commits.
      let settled = false;
      rehold = held.hold(request(endpointId, 'd-1')).finally(() => (settled = true));
      await waitFor(async () => settled || (await waitingOnALock()), {
        what: 'the second hold to finish, or to wait for the release',
      });
    });
    await rehold;
    expect(await rows(endpointId)).toEqual(['d-1']);
  });

  /** Sessions of this test's database holding an xid (the events feed's horizon waits for each). */
  const xidHolders = async () =>
    Number(
      (
        await dataSource.query<Array<{ holders: string }>>(
          `SELECT count(*) AS holders FROM pg_stat_activity
            WHERE datname = current_database() AND backend_xid IS NOT NULL`,
        )
      )[0].holders,
    );
  const taskTexts = (batch: HeldDelivery[]) => batch.map((row) => row.task.toString());

  it('holds no xid while it hands on, and deletes what it handed on afterwards', async () => {
    const endpointId = randomUUID();
    await held.hold(request(endpointId, 'd-1'));
    let holdersDuringHandOn = -1;
    const released = await held.release(endpointId, 10, async () => {
      holdersDuringHandOn = await xidHolders();
    });
    expect(released).toBe(1);
    expect(holdersDuringHandOn).toBe(0);
    expect(await rows(endpointId)).toEqual([]);
  });

  it('keeps the rows of a failed hand-on held, for the next release at once', async () => {
    const endpointId = randomUUID();
    await held.hold(request(endpointId, 'd-1'));
    await expect(
      held.release(endpointId, 10, () => Promise.reject(new Error('Kafka is down'))),
    ).rejects.toThrow('Kafka is down');
    expect(await rows(endpointId)).toEqual(['d-1']);
    const handedOn: string[] = [];
    await held.release(endpointId, 10, async (batch) => {
      handedOn.push(...taskTexts(batch));
    });
    expect(handedOn).toEqual(['task d-1']);
    expect(await rows(endpointId)).toEqual([]);
  });

  it('skips rows another release has claimed until it finishes, or its claim runs out', async () => {
    const endpointId = randomUUID();
    await held.hold(request(endpointId, 'd-1'));
    const secondRelease: string[][] = [];
    const release = () =>
      held.release(endpointId, 10, async (batch) => {
        secondRelease.push(taskTexts(batch));
      });
    // The first release is still handing on: the second finds nothing to take.
    await held.release(endpointId, 10, async () => {
      expect(await release()).toBe(0);
    });
    expect(secondRelease).toEqual([]);

    // A release whose process died after its claim: the row waits out the claim, then goes again.
    await held.hold(request(endpointId, 'd-2'));
    await dataSource.query(
      `UPDATE held_deliveries SET claim = $2, claimed_until = now() + interval '1 minute' WHERE endpoint_id = $1`,
      [endpointId, randomUUID()],
    );
    expect(await release()).toBe(0);
    await dataSource.query(
      `UPDATE held_deliveries SET claimed_until = now() - interval '1 second' WHERE endpoint_id = $1`,
      [endpointId],
    );
    expect(await release()).toBe(1);
    expect(secondRelease).toEqual([['task d-2']]);
    expect(await rows(endpointId)).toEqual([]);
  });
});
