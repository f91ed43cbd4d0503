import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import type { ClaimState, StoredClaim } from '../domain/idempotency';

/** One request's claim of a key: who, which key, the event it publishes, its body's hash. */
export interface ClaimRequest {
  tenantId: string;
  key: string;
  /** The event id to publish under if this claim is new or replaces an expired one. */
  eventId: string;
  bodyHash: string;
  /**
   * This request's own id for the claim: written on the row when the claim is taken, so only the
   * request holding it now can settle it `failed` (a claim taken over gets the new holder's).
   */
  token: string;
  windowMs: number;
  /** A `pending` claim untouched this long is abandoned and may be taken over. */
  abandonedAfterMs: number;
}

/** A claim a request holds while its write runs, renewed so that it is not taken as abandoned. */
export interface ClaimLease {
  tenantId: string;
  key: string;
  token: string;
}

/** How a claim ends: `token` and `bodyHash` are the claim's as the request made it. */
export interface Settlement {
  tenantId: string;
  key: string;
  eventId: string;
  bodyHash: string;
  token: string;
  state: 'published' | 'failed';
}

const interval = (param: string) => `make_interval(secs => ${param}::double precision / 1000)`;

/**
 * The `idempotency_keys` table's owner (its only reader and writer). Times are the database's
 * `now()`, so replicas with skewed clocks agree on what has expired.
 */
@Injectable()
export class IdempotencyKeys {
  constructor(private readonly dataSource: DataSource) {}

  /**
   * Claims the key in one statement: a new row, or one that has expired (with this request's event
   * id), failed or been abandoned with the same body (keeping the event id it was first given, so
   * a retry of a publish whose outcome was unknown publishes under the same id). Returns the event
   * id to publish, or null when the key is held by a live claim (`find` says which).
   */
  async claim(request: ClaimRequest): Promise<string | null> {
    return (await this.claimMany([request]))[0];
  }

  /**
   * {@link claim} for many requests in as few statements as their keys allow: the answers in the
   * requests' order. One INSERT cannot touch a row twice, so a key repeated among the requests
   * goes in a later statement, after its first request's claim (which the repeat then meets).
   * Every request here has the same window and abandonment time (the service's configuration).
   */
  async claimMany(requests: ClaimRequest[]): Promise<Array<string | null>> {
    const answers: Array<string | null> = requests.map(() => null);
    for (const round of roundsOfDistinctKeys(requests)) {
      const claimed = await this.claimDistinct(round.map((index) => requests[index]));
      round.forEach((index, position) => (answers[index] = claimed[position]));
    }
    return answers;
  }

  private async claimDistinct(requests: ClaimRequest[]): Promise<Array<string | null>> {
    const rows = await this.dataSource.query<Array<{ tenant_id: string; key: string; event_id: string }>>(
      `INSERT INTO idempotency_keys AS k (tenant_id, key, event_id, body_hash, state, claim_token)
       SELECT c.tenant_id, c.key, c.event_id, c.body_hash, 'pending', c.claim_token
       FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $7::uuid[])
         AS c(tenant_id, key, event_id, body_hash, claim_token)
       ON CONFLICT (tenant_id, key) DO UPDATE
         SET event_id = CASE WHEN k.created_at < now() - ${interval('$5')} THEN EXCLUDED.event_id
                             ELSE k.event_id END,
             body_hash = EXCLUDED.body_hash, state = 'pending', claim_token = EXCLUDED.claim_token,
             created_at = now(), updated_at = now()
         WHERE (k.created_at < now() - ${interval('$5')}
                AND NOT (k.state = 'pending' AND k.updated_at >= now() - ${interval('$6')}))
            OR (k.body_hash = EXCLUDED.body_hash
                AND (k.state = 'failed'
                     OR (k.state = 'pending' AND k.updated_at < now() - ${interval('$6')})))
       RETURNING k.tenant_id::text AS tenant_id, k.key, k.event_id`,
      [
        requests.map((request) => request.tenantId),
        requests.map((request) => request.key),
        requests.map((request) => request.eventId),
        requests.map((request) => request.bodyHash),
        requests[0].windowMs,
        requests[0].abandonedAfterMs,
        requests.map((request) => request.token),
      ],
    );
    const claimed = new Map(rows.map((row) => [`${row.tenant_id}/${row.key}`, row.event_id]));
    return requests.map((request) => claimed.get(`${request.tenantId.toLowerCase()}/${request.key}`) ?? null);
  }

  /** The live (unexpired) claim of a key, or null. */
  async find(tenantId: string, key: string, windowMs: number): Promise<StoredClaim | null> {
    const rows = await this.dataSource.query<
      Array<{ event_id: string; body_hash: string; state: ClaimState }>
    >(
      `SELECT event_id, body_hash, state FROM idempotency_keys
       WHERE tenant_id = $1 AND key = $2 AND created_at >= now() - ${interval('$3')}`,
      [tenantId, key, windowMs],
    );
    const row = rows[0];
    return row ? { eventId: row.event_id, bodyHash: row.body_hash, state: row.state } : null;
  }

  /**
   * Marks claims still held by their writes as alive (`updated_at`), so none is taken over as
   * abandoned while its write runs, however long Kafka takes. Returns the leases whose claim is
   * no longer theirs (taken over after the holder could not renew it, or gone).
   */
  async renewMany(leases: ClaimLease[]): Promise<ClaimLease[]> {
    if (leases.length === 0) return [];
    // The lost ones are read from the snapshot the UPDATE started from: a lease whose claim its own
    // request settled meanwhile is not lost, only no longer pending.
    const lost = await this.dataSource.query<Array<{ token: string }>>(
      `WITH r AS (SELECT * FROM unnest($1::uuid[], $2::text[], $3::uuid[]) AS r(tenant_id, key, token)),
       renewed AS (
         UPDATE idempotency_keys AS k SET updated_at = now() FROM r
         WHERE k.tenant_id = r.tenant_id AND k.key = r.key AND k.claim_token = r.token AND k.state = 'pending')
       SELECT r.token::text AS token FROM r WHERE NOT EXISTS (
         SELECT 1 FROM idempotency_keys k
         WHERE k.tenant_id = r.tenant_id AND k.key = r.key AND k.claim_token = r.token)`,
      [
        leases.map((lease) => lease.tenantId),
        leases.map((lease) => lease.key),
        leases.map((lease) => lease.token),
      ],
    );
    const gone = new Set(lost.map((row) => row.token));
    return leases.filter((lease) => gone.has(lease.token.toLowerCase()));
  }

  /**
   * Ends claims: `published` once Kafka acknowledged the event, else `failed`. Many requests'
   * settlements go in one statement (IngestIdempotency gathers them), a round trip for all; a key
   * settled twice (a claim's former holder and its present one) goes in a later statement, since
   * an UPDATE joined to two rows for one would apply either.
   *
   * `failed` is written only by the request holding the claim now (its token) and only while it is
   * `pending`: a failure says this attempt did not land, which tells nothing of a later holder's.
   * `published` is written by any request that published the claim's event id and body, whoever
   * holds the claim: the event is on the topic then, so a retry is answered with it rather than
   * publishing another copy. Returns the settlements whose claim was no longer theirs (taken over,
   * or expired and swept) when they were written.
   */
  async settleMany(settlements: Settlement[]): Promise<Settlement[]> {
    const superseded: Settlement[] = [];
    for (const round of roundsOfDistinctKeys(settlements)) {
      const batch = round.map((index) => settlements[index]);
      // TypeORM answers an UPDATE with its RETURNING rows and the count.
      const [held] = await this.dataSource.query<[Array<{ token: string | null }>, number]>(
        `UPDATE idempotency_keys AS k SET state = s.state, updated_at = now()
         FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::uuid[])
           AS s(tenant_id, key, event_id, body_hash, state, token)
         WHERE k.tenant_id = s.tenant_id AND k.key = s.key AND k.event_id = s.event_id
           AND CASE WHEN s.state = 'published' THEN k.body_hash = s.body_hash
                    ELSE k.claim_token = s.token AND k.state = 'pending' END
         RETURNING CASE WHEN k.claim_token = s.token THEN s.token::text END AS token`,
        [
          batch.map((settlement) => settlement.tenantId),
          batch.map((settlement) => settlement.key),
          batch.map((settlement) => settlement.eventId),
          batch.map((settlement) => settlement.bodyHash),
          batch.map((settlement) => settlement.state),
          batch.map((settlement) => settlement.token),
        ],
      );
      const own = new Set(held.map((row) => row.token));
      superseded.push(...batch.filter((settlement) => !own.has(settlement.token.toLowerCase())));
    }
    return superseded;
  }

  /**
   * Deletes up to `limit` rows older than the window; returns how many. Rows another replica's
   * sweep (or a claim taking one over) has locked are skipped, so sweeps never wait on each other.
   * A claim whose write still runs (pending, renewed within `abandonedAfterMs`) stays: deleted, its
   * key would be claimed again under a new event id while the first may still be written.
   */
  async deleteExpired(windowMs: number, limit: number, abandonedAfterMs: number): Promise<number> {
    const [, deleted] = await this.dataSource.query<[unknown[], number]>(
      `DELETE FROM idempotency_keys WHERE ctid = ANY (ARRAY(
         SELECT ctid FROM idempotency_keys WHERE created_at < now() - ${interval('$1')}
           AND NOT (state = 'pending' AND updated_at >= now() - ${interval('$3')})
         ORDER BY created_at LIMIT $2 FOR UPDATE SKIP LOCKED))`,
      [windowMs, limit, abandonedAfterMs],
    );
    return deleted;
  }
}

/** Indexes of `requests` in rounds, each naming a tenant's key at most once, first occurrences first. */
export function roundsOfDistinctKeys(requests: Array<Pick<ClaimRequest, 'tenantId' | 'key'>>): number[][] {
  const rounds: number[][] = [];
  const seen = new Map<string, number>();
  requests.forEach((request, index) => {
    const id = `${request.tenantId.toLowerCase()}/${request.key}`;
    const round = seen.get(id) ?? 0;
    seen.set(id, round + 1);
    (rounds[round] ??= []).push(index);
  });
  return rounds;
}
