import { RecentEventIds } from './recent-event-ids';

/** Whether a batch of the one record calls it a repeat; the batch is durable, so its id is remembered. */
function seen(recent: RecentEventIds, key: string, position: string): boolean {
  const batch = recent.forBatch();
  const repeated = batch.seen(key, position);
  batch.remember();
  return repeated;
}

describe('RecentEventIds', () => {
  it('recognises an id repeated at another position', () => {
    const recent = new RecentEventIds(10);
    expect(seen(recent, 't:e1', 'p/0/1')).toBe(false);
    expect(seen(recent, 't:e1', 'p/0/7')).toBe(true);
  });

  it('does not call the same record a duplicate when it is fanned out again after an abort', () => {
    const recent = new RecentEventIds(10);
    expect(seen(recent, 't:e1', 'p/0/1')).toBe(false);
    expect(seen(recent, 't:e1', 'p/0/1')).toBe(false);
  });

  it('recognises an id repeated within one batch at once', () => {
    const batch = new RecentEventIds(10).forBatch();
    expect(batch.seen('t:e1', 'p/0/1')).toBe(false);
    expect(batch.seen('t:e1', 'p/0/2')).toBe(true);
    expect(batch.seen('t:e1', 'p/0/1')).toBe(false);
  });

  it('remembers nothing of a batch that never became durable', () => {
    const recent = new RecentEventIds(10);
    const failed = recent.forBatch();
    expect(failed.seen('t:e1', 'p/0/1')).toBe(false);
    // The record was isolated; the platform publishes the event again, at another position.
    expect(seen(recent, 't:e1', 'p/0/9')).toBe(false);
    expect(seen(recent, 't:e1', 'p/0/10')).toBe(true);
  });

  it('keeps the first position remembered when two batches carried the id side by side', () => {
    const recent = new RecentEventIds(10);
    const one = recent.forBatch();
    const other = recent.forBatch();
    expect(one.seen('t:e1', 'a/0/1')).toBe(false);
    expect(other.seen('t:e1', 'b/0/1')).toBe(false);
    one.remember();
    other.remember();
    expect(seen(recent, 't:e1', 'a/0/1')).toBe(false);
    expect(seen(recent, 't:e1', 'b/0/1')).toBe(true);
  });

  it('forgets the oldest ids beyond its capacity', () => {
    const recent = new RecentEventIds(2);
    seen(recent, 'a', '1');
    seen(recent, 'b', '2');
    seen(recent, 'c', '3');
    expect(seen(recent, 'a', '9')).toBe(false);
    expect(seen(recent, 'c', '9')).toBe(true);
  });

  it('forgets the oldest ids beyond its byte bound, whatever the count', () => {
    const recent = new RecentEventIds(1_000, 3 * (2 * (300 + 10) + 80));
    for (const id of ['a', 'b', 'c', 'd']) seen(recent, id.repeat(300), `pos-${id}-xx`);
    expect(recent.size().entries).toBe(3);
    expect(seen(recent, 'a'.repeat(300), 'elsewhere')).toBe(false);
    expect(seen(recent, 'd'.repeat(300), 'elsewhere')).toBe(true);
  });

  it('keeps the first position of an id looked up again, and forgets in the order ids arrived', () => {
    const recent = new RecentEventIds(2);
    seen(recent, 'a', '1');
    seen(recent, 'b', '2');
    // A repeat is recognised but does not make 'a' newer: it is still the first to go.
    expect(seen(recent, 'a', '5')).toBe(true);
    seen(recent, 'c', '3');
    expect(seen(recent, 'b', '9')).toBe(true);
    expect(seen(recent, 'a', '9')).toBe(false);
  });
});
