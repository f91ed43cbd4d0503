import { Registry } from 'prom-client';
import { QuotaMetrics } from '../common/quota-metrics';
import { DomainError } from '../common/domain-error';
import { TokenBuckets } from '../domain/token-bucket';
import type { LeaseAnswer, LeaseChannel } from '../domain/token-lease';
import { FakeClock, testConfig } from '../testing/fakes';
import { IngestRate } from './ingest-rate';

const TENANT = '1f2e3d4c-5b6a-4789-8a0b-1c2d3e4f5a6b';

/** The supervisor's one bucket, leased from by both "workers" below, on the same fake clock. */
class SupervisorBuckets implements LeaseChannel {
  readonly buckets = new TokenBuckets({ ratePerSec: 40, burst: 8 });
  constructor(private readonly clock: FakeClock) {}

  async lease(key: string, want: number): Promise<LeaseAnswer> {
    return this.buckets.takeLease(key, want, this.clock.now());
  }
}

describe('IngestRate in a worker of several (leases from the supervisor)', () => {
  const config = testConfig({
    HOOKSTREAM_TENANT_INGEST_RATE: '40',
    HOOKSTREAM_TENANT_INGEST_BURST: '8',
    HOOKSTREAM_WORKERS: '2',
    HOOKSTREAM_HTTP_WORKERS: '2',
  });
  let clock: FakeClock;
  let supervisor: SupervisorBuckets;
  const worker = () => new IngestRate(config, new QuotaMetrics(new Registry(), config), clock, supervisor);
  const outcome = (rate: IngestRate) =>
    Promise.resolve(rate.take(TENANT, clock.now())).then(
      () => 'ok',
      (error: unknown) => (error instanceof DomainError ? error.code : 'other'),
    );

  beforeEach(() => {
    clock = new FakeClock();
    supervisor = new SupervisorBuckets(clock);
  });

  it("keeps two workers together to the tenant's one burst, answering 429 past it", async () => {
    const [a, b] = [worker(), worker()];
    const outcomes: string[] = [];
    for (let i = 0; i < 8; i++) outcomes.push(await outcome(a), await outcome(b));
    expect(outcomes.filter((o) => o === 'ok')).toHaveLength(8);
    expect(outcomes.filter((o) => o === 'rate_limited')).toHaveLength(8);
  });

  it('refuses early only once the supervisor has said the tenant is spent, and with when to come back', async () => {
    const a = worker();
    expect(a.refusalNow(TENANT, clock.now())).toBeNull();
    for (let i = 0; i < 8; i++) expect(await outcome(a)).toBe('ok');
    expect(a.refusalNow(TENANT, clock.now())).toBeNull(); // not asked yet
    expect(await outcome(a)).toBe('rate_limited');
    expect(a.refusalNow(TENANT, clock.now())).toMatchObject({ code: 'rate_limited', retryAfterSeconds: 1 });
    clock.advance(1_000);
    expect(a.refusalNow(TENANT, clock.now())).toBeNull();
    expect(await outcome(a)).toBe('ok');
  });
});
