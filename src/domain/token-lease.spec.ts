import { TokenBuckets } from './token-bucket';
import { TokenLeases, type LeaseAnswer, type LeaseChannel } from './token-lease';

/** The supervisor's side: one set of buckets every worker leases from, counting the requests. */
class Supervisor implements LeaseChannel {
  requests = 0;
  down = false;
  nowMs = 0;
  readonly buckets: TokenBuckets;

  constructor(ratePerSec: number, burst: number) {
    this.buckets = new TokenBuckets({ ratePerSec, burst });
  }

  async lease(key: string, want: number): Promise<LeaseAnswer> {
    this.requests += 1;
    if (this.down) throw new Error('channel closed');
    return this.buckets.takeLease(key, want, this.nowMs);
  }
}

describe('TokenLeases', () => {
  const RATE = 100;
  const BURST = 100;
  let supervisor: Supervisor;
  const worker = (leaseSize = 5) =>
    new TokenLeases(
      supervisor,
      { ratePerSec: RATE, burst: BURST, holders: 2, leaseSize, leaseTtlMs: 1_000 },
      () => supervisor.nowMs,
    );
  const takeMany = async (leases: TokenLeases, count: number) => {
    let ok = 0;
    for (let i = 0; i < count; i++) if ((await leases.take('t')).ok) ok += 1;
    return ok;
  };

  beforeEach(() => {
    supervisor = new Supervisor(RATE, BURST);
  });

  it('keeps two workers together to the one rate (each alone would have let the whole burst through)', async () => {
    const [a, b] = [worker(), worker()];
    const accepted = (await takeMany(a, 150)) + (await takeMany(b, 150));
    expect(accepted).toBe(BURST);
    supervisor.nowMs += 1_000; // one second refills RATE tokens, shared by both
    expect((await takeMany(a, 80)) + (await takeMany(b, 80))).toBe(RATE);
  });

  it('asks once per lease, not once per token, and shares one request among waiters', async () => {
    const a = worker(5);
    await Promise.all(Array.from({ length: 5 }, () => a.take('t')));
    expect(supervisor.requests).toBe(1);
    await takeMany(a, 10);
    expect(supervisor.requests).toBe(3);
  });

  it('refuses without asking while the supervisor said it has none, and says how long', async () => {
    const a = worker(50);
    expect(await takeMany(a, 100)).toBe(BURST);
    const asked = supervisor.requests;
    const refused = await a.take('t');
    // A whole lease of 50 refills in half a second at 100/s.
    expect(refused).toEqual({ ok: false, retryAfterMs: 500 });
    expect(a.knownEmptyFor('t', supervisor.nowMs)).toBe(500);
    expect(await a.take('t')).toMatchObject({ ok: false });
    expect(supervisor.requests).toBe(asked + 1);
    supervisor.nowMs += 499;
    expect(a.knownEmptyFor('t', supervisor.nowMs)).toBe(1);
    supervisor.nowMs += 1;
    expect(a.knownEmptyFor('t', supervisor.nowMs)).toBe(0);
    expect(await a.take('t')).toEqual({ ok: true });
  });

  it('spends a leased token at once without asking, and nothing once it holds none', async () => {
    const a = worker(2);
    expect(a.spend('t', supervisor.nowMs)).toBe(false);
    expect(await a.take('t')).toEqual({ ok: true }); // leases 2, spends 1
    expect(a.spend('t', supervisor.nowMs)).toBe(true);
    expect(a.spend('t', supervisor.nowMs)).toBe(false);
    expect(supervisor.requests).toBe(1);
  });

  it('drops leased tokens it did not spend within the lease time', async () => {
    const a = worker(50);
    expect(await a.take('t')).toEqual({ ok: true }); // leases 50, spends 1
    supervisor.nowMs += 1_000;
    const asked = supervisor.requests;
    expect(await a.take('t')).toEqual({ ok: true });
    expect(supervisor.requests).toBe(asked + 1);
  });

  it('falls back to its own share of the rate when the supervisor cannot answer', async () => {
    const a = worker();
    supervisor.down = true;
    expect(await takeMany(a, 100)).toBe(BURST / 2);
  });
});
