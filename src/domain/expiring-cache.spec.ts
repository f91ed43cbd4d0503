import { ExpiringCache } from './expiring-cache';

describe('ExpiringCache', () => {
  it('serves an entry until its TTL has passed, then forgets it', () => {
    const cache = new ExpiringCache<string, number>({ ttlMs: 1_000, maxEntries: 10 });
    cache.set('a', 1, 0);
    expect(cache.get('a', 999)).toBe(1);
    expect(cache.get('a', 1_000)).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  it('says how long an entry has left, and forgets one on request', () => {
    const cache = new ExpiringCache<string, number>({ ttlMs: 1_000, maxEntries: 10 });
    cache.set('a', 1, 0);
    expect(cache.remainingMs('a', 400)).toBe(600);
    expect(cache.remainingMs('b', 400)).toBe(0);
    cache.delete('a');
    expect(cache.get('a', 400)).toBeUndefined();
  });

  it('counts the TTL from the latest store, not the first', () => {
    const cache = new ExpiringCache<string, number>({ ttlMs: 1_000, maxEntries: 10 });
    cache.set('a', 1, 0);
    cache.set('a', 2, 800);
    expect(cache.get('a', 1_500)).toBe(2);
  });

  it('keeps at most maxEntries, evicting the oldest stored', () => {
    const cache = new ExpiringCache<string, number>({ ttlMs: 60_000, maxEntries: 2 });
    cache.set('a', 1, 0);
    cache.set('b', 2, 0);
    cache.set('a', 1, 1); // re-stored: now the newest
    cache.set('c', 3, 2);
    expect(cache.size).toBe(2);
    expect(cache.get('b', 3)).toBeUndefined();
    expect(cache.get('a', 3)).toBe(1);
    expect(cache.get('c', 3)).toBe(3);
  });

  it('forgets the entries whose value matches', () => {
    const cache = new ExpiringCache<string, { keyId: string }>({ ttlMs: 60_000, maxEntries: 10 });
    cache.set('h1', { keyId: 'k1' }, 0);
    cache.set('h2', { keyId: 'k2' }, 0);
    expect(cache.deleteWhere((value) => value.keyId === 'k1')).toBe(1);
    expect(cache.get('h1', 1)).toBeUndefined();
    expect(cache.get('h2', 1)).toEqual({ keyId: 'k2' });
  });

  it('stores nothing with a TTL of 0 (caching off)', () => {
    const cache = new ExpiringCache<string, number>({ ttlMs: 0, maxEntries: 10 });
    cache.set('a', 1, 0);
    expect(cache.get('a', 0)).toBeUndefined();
  });
});
