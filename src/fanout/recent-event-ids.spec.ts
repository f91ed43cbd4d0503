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

  it('forgets the oldest ids beyond its byte bound, whatever the count', () => {
    const recent = new RecentEventIds(1_000, 3 * (2 * (300 + 10) + 80));
    for (const id of ['a', 'b', 'c', 'd']) recent.seen(id.repeat(300), `pos-${id}-xx`);
    expect(recent.size().entries).toBe(3);
    expect(recent.seen('a'.repeat(300), 'elsewhere')).toBe(false);
    expect(recent.seen('d'.repeat(300), 'elsewhere')).toBe(true);
  });

  it('keeps the first position of an id looked up again, and forgets in the order ids arrived', () => {
    const recent = new RecentEventIds(2);
    recent.seen('a', '1');
    recent.seen('b', '2');
    // A repeat is recognised but does not make 'a' newer: it is still the first to go.
    expect(recent.seen('a', '5')).toBe(true);
    recent.seen('c', '3');
    expect(recent.seen('b', '9')).toBe(true);
    expect(recent.seen('a', '9')).toBe(false);
  });
});
