import { retryTierDelayOf, retryTierTopic } from './retry-tier-topic';

describe('retry tier topics', () => {
  it('names a tier by its number from 1 and its delay', () => {
    expect(retryTierTopic('hookstream', 0, 5000)).toBe('hookstream.retry.1.5s');
    expect(retryTierTopic('acme.prod', 6, 12 * 3_600_000)).toBe('acme.prod.retry.7.12h');
  });

  it('reads the delay back from every name it makes', () => {
    for (const delayMs of [1, 500, 1500, 5000, 30_000, 120_000, 900_000, 3_600_000, 86_400_000]) {
      expect(retryTierDelayOf('ns', retryTierTopic('ns', 3, delayMs))).toBe(delayMs);
    }
  });

  it('refuses names it would not make, and other namespaces', () => {
    for (const topic of [
      'ns.retry.1.60s', // spelled 1m
      'ns.retry.1.0ms',
      'ns.retry.0.5s',
      'ns.retry.01.5s',
      'ns.retry.1.5s.extra',
      'ns.retry.1.5',
      'ns.retry.x.5s',
      'ns.retries.1.5s',
      'other.retry.1.5s',
      'ns.deliveries',
      'ns.dlq',
    ]) {
      expect(retryTierDelayOf('ns', topic)).toBeNull();
    }
    // A namespace is a prefix with its dot, not a pattern.
    expect(retryTierDelayOf('n.s', 'nxs.retry.1.5s')).toBeNull();
    expect(retryTierDelayOf('ns', 'ns.retry.2.30s')).toBe(30_000);
  });
});
