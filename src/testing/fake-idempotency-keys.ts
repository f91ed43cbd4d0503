import type { StoredClaim } from '../domain/idempotency';
import type {
  ClaimLease,
  ClaimRequest,
  IdempotencyKeys,
  Settlement,
} from '../ingest/idempotency-keys.repository';
import type { FakeClock } from './fakes';

/**
 * `idempotency_keys` in memory, with the claim rules of the repository's statement (expiry is
 * left to the end-to-end test, on the database's clock); `down` makes every call fail as pg does
 * when PostgreSQL refuses connections.
 */
export class FakeIdempotencyKeys implements Pick<
  IdempotencyKeys,
  'claim' | 'claimMany' | 'find' | 'settleMany' | 'renewMany'
> {
  readonly rows = new Map<string, StoredClaim & { updatedAtMs: number; token: string }>();
  down = false;

  constructor(private readonly clock: FakeClock) {}

  async claim(request: ClaimRequest): Promise<string | null> {
    this.check();
    const id = `${request.tenantId}/${request.key}`;
    const row = this.rows.get(id);
    const abandoned =
      row?.state === 'pending' && row.updatedAtMs < this.clock.now() - request.abandonedAfterMs;
    if (row && !(row.bodyHash === request.bodyHash && (row.state === 'failed' || abandoned))) return null;
    const eventId = row?.eventId ?? request.eventId;
    this.rows.set(id, {
      eventId,
      bodyHash: request.bodyHash,
      state: 'pending',
      updatedAtMs: this.clock.now(),
      token: request.token,
    });
    return eventId;
  }

  async claimMany(requests: ClaimRequest[]): Promise<Array<string | null>> {
    const answers: Array<string | null> = [];
    for (const request of requests) answers.push(await this.claim(request));
    return answers;
  }

  async find(tenantId: string, key: string): Promise<StoredClaim | null> {
    this.check();
    return this.rows.get(`${tenantId}/${key}`) ?? null;
  }

  async settleMany(settlements: Settlement[]): Promise<Settlement[]> {
    this.check();
    const superseded: Settlement[] = [];
    for (const settlement of settlements) {
      const row = this.rows.get(`${settlement.tenantId}/${settlement.key}`);
      const own = row?.token === settlement.token;
      const settles =
        row?.eventId === settlement.eventId &&
        (settlement.state === 'published'
          ? row.bodyHash === settlement.bodyHash
          : own && row.state === 'pending');
      if (settles) {
        row.state = settlement.state;
        row.updatedAtMs = this.clock.now();
      }
      if (!(settles && own)) superseded.push(settlement);
    }
    return superseded;
  }

  async renewMany(leases: ClaimLease[]): Promise<ClaimLease[]> {
    this.check();
    return leases.filter((lease) => {
      const row = this.rows.get(`${lease.tenantId}/${lease.key}`);
      if (row?.token !== lease.token) return true;
      if (row.state === 'pending') row.updatedAtMs = this.clock.now();
      return false;
    });
  }

  private check(): void {
    if (this.down)
      throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
  }
}
