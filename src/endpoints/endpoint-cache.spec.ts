import type { TenantsRepository } from '../tenants/tenants.repository';
import { endpoint, FakeClock, gate, silentLogger, testConfig } from '../testing/fakes';
import type { EndpointSnapshot } from '../domain/endpoint-snapshot';
import type { EndpointDirectory } from './endpoint-directory';
import { EndpointCache } from './endpoint-cache';

describe('EndpointCache.lookup', () => {
  it('asks PostgreSQL once for concurrent deliveries of an unseen endpoint, answering them in the order they asked', async () => {
    const answer = gate<EndpointSnapshot | null>();
    const queries: string[] = [];
    const directory = {
      findForCache: (id: string) => {
        queries.push(id);
        return answer.opened;
      },
    };
    const cache = new EndpointCache(
      directory as unknown as EndpointDirectory,
      {} as TenantsRepository,
      testConfig(),
      new FakeClock(),
      silentLogger,
    );
    const target = endpoint();
    const arrived: string[] = [];
    const first = cache.lookup(target.id).then(() => arrived.push('first'));
    const second = cache.lookup(target.id).then(() => arrived.push('second'));
    answer.open(target);
    await Promise.all([first, second]);
    expect(queries).toEqual([target.id]);
    expect(arrived).toEqual(['first', 'second']);
    // Answered and cached: a later lookup asks nothing.
    await expect(cache.lookup(target.id)).resolves.toEqual(target);
    expect(queries).toHaveLength(1);
  });
});
