import { randomUUID } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { ABANDONED_CLAIM_AFTER_MS } from '../../src/domain/idempotency';
import {
  IdempotencyKeys,
  type ClaimRequest,
  type Settlement,
} from '../../src/ingest/idempotency-keys.repository';
import { createTestDatabase, type TestDatabase } from '../support/database';

const WINDOW_MS = 24 * 3_600_000;

/**
 * Review H2 on the real `idempotency_keys`: a claim abandoned for ABANDONED_CLAIM_AFTER_MS is
 * taken over while its first write may still run, and each request then settles only what it
 * holds. The first request's late failure leaves the new claim `pending`; its late success marks
 * the event published, which the new holder's failure does not undo.
 */
describe('IdempotencyKeys: settling a claim taken over', () => {
  let database: TestDatabase;
  let dataSource: DataSource;
  let keys: IdempotencyKeys;
  beforeAll(async () => {
    database = await createTestDatabase();
    dataSource = await database.connect();
    keys = new IdempotencyKeys(dataSource);
  });
  afterAll(() => database?.drop());

  /** A key claimed by a first request, left pending past the abandonment time, then taken over. */
  const takenOver = async () => {
    const tenantId = randomUUID();
    const request = (token: string): ClaimRequest => ({
      tenantId,
      key: 'K',
      eventId: `evt-${token}`,
      bodyHash: 'hash-of-the-body',
      token,
      windowMs: WINDOW_MS,
      abandonedAfterMs: ABANDONED_CLAIM_AFTER_MS,
    });
    const [firstToken, secondToken] = [randomUUID(), randomUUID()];
    const eventId = await keys.claim(request(firstToken));
    expect(eventId).toBe(`evt-${firstToken}`);
    expect(await keys.claim(request(secondToken))).toBeNull();
    await dataSource.query(
      `UPDATE idempotency_keys SET updated_at = now() - make_interval(secs => $2::double precision / 1000)
       WHERE tenant_id = $1`,
      [tenantId, ABANDONED_CLAIM_AFTER_MS + 1_000],
    );
    // The takeover keeps the first event id: both writes carry one id.
    expect(await keys.claim(request(secondToken))).toBe(eventId);
    const settlement = (token: string, state: Settlement['state']): Settlement => ({
      tenantId,
      key: 'K',
      eventId: eventId!,
      bodyHash: 'hash-of-the-body',
      token,
      state,
    });
    const row = async () =>
      (
        await dataSource.query<Array<{ state: string; claim_token: string }>>(
          `SELECT state, claim_token FROM idempotency_keys WHERE tenant_id = $1 AND key = 'K'`,
          [tenantId],
        )
      )[0];
    return {
      first: (state: Settlement['state']) => settlement(firstToken, state),
      second: (state: Settlement['state']) => settlement(secondToken, state),
      row,
      secondToken,
    };
  };

  it("leaves the new claim pending when the first request's write fails late", async () => {
    const { first, second, row, secondToken } = await takenOver();
    expect(await keys.settleMany([first('failed')])).toEqual([first('failed')]);
    expect(await row()).toEqual({ state: 'pending', claim_token: secondToken });
    expect(await keys.settleMany([second('published')])).toEqual([]);
    expect((await row()).state).toBe('published');
  });

  it("marks the event published on the first request's late success, and keeps it so", async () => {
    const { first, second, row } = await takenOver();
    expect(await keys.settleMany([first('published')])).toEqual([first('published')]);
    expect((await row()).state).toBe('published');
    expect(await keys.settleMany([second('failed')])).toEqual([second('failed')]);
    expect((await row()).state).toBe('published');
  });

  it('applies both when the two outcomes go in one call', async () => {
    const { first, second, row } = await takenOver();
    expect(await keys.settleMany([second('failed'), first('published')])).toEqual([first('published')]);
    expect((await row()).state).toBe('published');
  });

  describe('renewing the claims of running writes', () => {
    const claimOf = (tenantId: string, token: string, bodyHash = 'hash-of-the-body'): ClaimRequest => ({
      tenantId,
      key: 'K',
      eventId: `evt-${token}`,
      bodyHash,
      token,
      windowMs: WINDOW_MS,
      abandonedAfterMs: ABANDONED_CLAIM_AFTER_MS,
    });
    /** Sets the key's row back in time, as that much time without a renewal would. */
    const age = (tenantId: string, column: 'updated_at' | 'created_at', ms: number) =>
      dataSource.query(
        `UPDATE idempotency_keys SET ${column} = now() - make_interval(secs => $2::double precision / 1000)
         WHERE tenant_id = $1`,
        [tenantId, ms],
      );

    it('keeps a renewed claim from being taken over, and reports the leases a takeover ended', async () => {
      const tenantId = randomUUID();
      const [a, b] = [randomUUID(), randomUUID()];
      expect(await keys.claim(claimOf(tenantId, a))).toBe(`evt-${a}`);
      // Old enough to be taken over, but its holder renews it first.
      await age(tenantId, 'updated_at', ABANDONED_CLAIM_AFTER_MS + 1_000);
      expect(await keys.renewMany([{ tenantId, key: 'K', token: a }])).toEqual([]);
      expect(await keys.claim(claimOf(tenantId, b))).toBeNull();

      await age(tenantId, 'updated_at', ABANDONED_CLAIM_AFTER_MS + 1_000);
      expect(await keys.claim(claimOf(tenantId, b))).toBe(`evt-${a}`);
      const leases = [
        { tenantId, key: 'K', token: a },
        { tenantId, key: 'K', token: b },
      ];
      expect(await keys.renewMany(leases)).toEqual([leases[0]]);
    });

    it('does not report a lease whose own request settled its claim', async () => {
      const tenantId = randomUUID();
      const token = randomUUID();
      const eventId = (await keys.claim(claimOf(tenantId, token)))!;
      const settlement: Settlement = {
        tenantId,
        key: 'K',
        eventId,
        bodyHash: 'hash-of-the-body',
        token,
        state: 'published',
      };
      expect(await keys.settleMany([settlement])).toEqual([]);
      expect(await keys.renewMany([{ tenantId, key: 'K', token }])).toEqual([]);
    });

    it('neither replaces nor sweeps a claim past its window while its write is renewed', async () => {
      const tenantId = randomUUID();
      const [a, b] = [randomUUID(), randomUUID()];
      await keys.claim(claimOf(tenantId, a));
      await age(tenantId, 'created_at', WINDOW_MS + 60_000);
      // Another body under the key after the window: a new event, but not while the first runs.
      expect(await keys.claim(claimOf(tenantId, b, 'another body'))).toBeNull();
      await keys.deleteExpired(WINDOW_MS, 10_000, ABANDONED_CLAIM_AFTER_MS);
      const remaining = async () =>
        (await dataSource.query<unknown[]>(`SELECT 1 FROM idempotency_keys WHERE tenant_id = $1`, [tenantId]))
          .length;
      expect(await remaining()).toBe(1);
      await age(tenantId, 'updated_at', ABANDONED_CLAIM_AFTER_MS + 1_000);
      await keys.deleteExpired(WINDOW_MS, 10_000, ABANDONED_CLAIM_AFTER_MS);
      expect(await remaining()).toBe(0);
    });
  });
});
