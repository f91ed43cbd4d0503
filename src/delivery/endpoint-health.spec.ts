import { FakeClock, silentLogger, testConfig } from '../testing/fakes';
import { InMemoryEndpointHealthStore } from '../testing/stores';
import { EndpointHealth } from './endpoint-health';

const config = testConfig({ HOOKSTREAM_TOPIC_NAMESPACE: 'hs' });

/** A store whose writes fail while `down` is set, as PostgreSQL does during a short outage. */
class FlakyStore extends InMemoryEndpointHealthStore {
  down = false;

  override async save(...args: Parameters<InMemoryEndpointHealthStore['save']>): Promise<void> {
    if (this.down) throw new Error('Connection terminated unexpectedly');
    return super.save(...args);
  }
}

function health(store: FlakyStore, clock = new FakeClock()): EndpointHealth {
  return new EndpointHealth(
    config,
    { disable: async () => true },
    { refreshEndpoint: async () => undefined, get: () => undefined },
    store,
    clock,
    silentLogger,
  );
}

describe('EndpointHealth.flush (before a partition is handed over)', () => {
  it('resolves when the write fails, and the next write stores what that one held', async () => {
    const store = new FlakyStore();
    const clock = new FakeClock();
    const circuits = health(store, clock);
    for (let failure = 0; failure < 20; failure++) circuits.recordFailure('endpoint-a', clock.now());
    store.down = true;
    // A rejection here would abort the handover before the partition is released.
    await expect(circuits.flush()).resolves.toBeUndefined();
    expect(store.rows.size).toBe(0);
    store.down = false;
    await circuits.flush();
    expect([...store.rows.keys()]).toEqual(['endpoint-a']);
  });
});
