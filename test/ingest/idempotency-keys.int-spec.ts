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
});
