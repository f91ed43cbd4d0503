import pino from 'pino';
import type { AppConfig } from '../config/config';
import { RemoteRefusals } from './remote-refusals';

describe('RemoteRefusals', () => {
  const nowMs = Date.UTC(2026, 11, 6, 4);
  const config = { roles: new Set(['fanout']), delivery: { circuitOpenMs: 30_000 } } as unknown as AppConfig;

  function refusals(open: Map<string, number>, hanging: Map<string, number>) {
    return new RemoteRefusals(
      config,
      { openCircuits: async () => open },
      { hanging: async () => hanging },
      { now: () => nowMs },
      pino({ level: 'silent' }),
    );
  }

  it('refuses an endpoint whose owner has its circuit open, until the open period ends', async () => {
    const remote = refusals(new Map([['ep-open', nowMs + 5_000]]), new Map());
    await remote.refresh();
    expect(remote.refuses('ep-open', nowMs + 4_999)).toBe(true);
    expect(remote.refuses('ep-open', nowMs + 5_000)).toBe(false);
  });

  it('refuses an endpoint whose owner vouches for a hanging lane, for as long as it vouched', async () => {
    // The repository gives what is left of the vouch by PostgreSQL's clock; it counts from now here.
    const remote = refusals(new Map(), new Map([['ep-hang', 3_000]]));
    await remote.refresh();
    expect(remote.refuses('ep-hang', nowMs + 2_999)).toBe(true);
    expect(remote.refuses('ep-hang', nowMs + 3_000)).toBe(false);
    expect(remote.refuses('ep-other', nowMs)).toBe(false);
  });

  it('keeps the later end when an endpoint both hangs and has its circuit open', async () => {
    const remote = refusals(
      new Map([
        ['ep-both', nowMs + 1_000],
        ['ep-long', nowMs + 9_000],
      ]),
      new Map([
        ['ep-both', 3_000],
        ['ep-long', 3_000],
      ]),
    );
    await remote.refresh();
    expect(remote.refuses('ep-both', nowMs + 2_000)).toBe(true);
    expect(remote.refuses('ep-long', nowMs + 8_000)).toBe(true);
  });

  it('forgets what its owner no longer reports at the next read', async () => {
    const hanging = new Map([['ep-hang', 3_000]]);
    const remote = refusals(new Map(), hanging);
    await remote.refresh();
    hanging.clear();
    await remote.refresh();
    expect(remote.refuses('ep-hang', nowMs)).toBe(false);
  });
});
