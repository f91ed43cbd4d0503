import { RecentEventIds } from './recent-event-ids';

describe('RecentEventIds', () => {
  it('recognises an id repeated at another position', () => {
    const recent = new RecentEventIds(10);
    expect(recent.seen('t:e1', 'p/0/1')).toBe(false);
    expect(recent.seen('t:e1', 'p/0/7')).toBe(true);
  });

  it('does not call the same record a duplicate when it is fanned out again after an abort', () => {
    const recent = new RecentEventIds(10);
    expect(recent.seen('t:e1', 'p/0/1')).toBe(false);
    expect(recent.seen('t:e1', 'p/0/1')).toBe(false);
  });

  it('forgets the oldest ids beyond its capacity', () => {
    const recent = new RecentEventIds(2);
    recent.seen('a', '1');
    recent.seen('b', '2');
    recent.seen('c', '3');
    expect(recent.seen('a', '9')).toBe(false);
    expect(recent.seen('c', '9')).toBe(true);
  });
});
