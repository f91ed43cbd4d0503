import { FeedHorizonLag } from './feed-horizon';

describe('FeedHorizonLag', () => {
  it('is the holder’s age when PostgreSQL shows it, and 0 when nothing holds an xid', () => {
    const lag = new FeedHorizonLag();
    expect(lag.observe({ xid: '700', ageSeconds: 42.5, readAtSeconds: 1_000 })).toBe(42.5);
    expect(lag.observe(null)).toBe(0);
  });

  it('counts a hidden holder’s age from the first read that saw it, and starts again for the next', () => {
    const lag = new FeedHorizonLag();
    expect(lag.observe({ xid: '700', ageSeconds: null, readAtSeconds: 1_000 })).toBe(0);
    expect(lag.observe({ xid: '700', ageSeconds: null, readAtSeconds: 1_030 })).toBe(30);
    expect(lag.observe({ xid: '701', ageSeconds: null, readAtSeconds: 1_045 })).toBe(0);
    expect(lag.observe({ xid: '701', ageSeconds: null, readAtSeconds: 1_060 })).toBe(15);
    expect(lag.observe(null)).toBe(0);
    expect(lag.observe({ xid: '701', ageSeconds: null, readAtSeconds: 1_090 })).toBe(0);
  });
});
