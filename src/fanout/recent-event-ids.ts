import { LRUCache } from 'lru-cache';

/**
 * Recognises a repeated event id (the same event published twice) among the most recent ids.
 * Keyed by "tenant:event id" and remembering the record position that first carried it, so the
 * same record fanned out again (after a crash or a failed produce) is not mistaken for a duplicate.
 * Memory only: bounded by `capacity` entries and by `maxBytes` (ids are up to 256 characters, so a
 * count alone would let long ids take a hundred megabytes), and empty after a restart (README
 * Section B). `POST /v1/events` deduplicates durably before producing (idempotency_keys, issue 17);
 * this is the second line, for events produced straight to the input topic, which nothing else checks.
 *
 * The oldest id goes first (a lookup does not refresh it). lru-cache evicts in constant time; a
 * Map evicting through `keys().next()` walks past every entry deleted since V8 last compacted it,
 * which at 200,000 ids cost 40 µs per event once full (README, decision 64).
 */
export class RecentEventIds {
  private readonly positions: LRUCache<string, string>;

  constructor(capacity: number, maxBytes: number = 16 * 1024 * 1024) {
    this.positions = new LRUCache<string, string>({
      max: capacity,
      maxSize: maxBytes,
      sizeCalculation: (position, key) => entryBytes(key, position),
    });
  }

  /**
   * The ids of one batch as it is routed. They are remembered here only by its `remember`, once the
   * batch's tasks are durable: an id remembered from a record that is then isolated (handler_failed,
   * which holds no task to replay) would have its republished copy skipped, and the event lost.
   */
  forBatch(): BatchEventIds {
    return new BatchEventIds(this.positions);
  }

  /** Estimated bytes held (two bytes a character, plus the map's own cost per entry). */
  size(): { entries: number; bytes: number } {
    return { entries: this.positions.size, bytes: this.positions.calculatedSize };
  }
}

/** One batch's view of {@link RecentEventIds}: see `forBatch`. */
export class BatchEventIds {
  private readonly firsts = new Map<string, string>();

  constructor(private readonly positions: LRUCache<string, string>) {}

  /** True when `key` was first seen at another position, in an earlier batch or earlier in this one. */
  seen(key: string, position: string): boolean {
    const first = this.positions.peek(key) ?? this.firsts.get(key);
    if (first !== undefined) return first !== position;
    this.firsts.set(key, position);
    return false;
  }

  /**
   * The batch's tasks are durable: its ids count from now on. One another batch remembered
   * meanwhile (its record fanned out too, a duplicate) keeps that first position.
   */
  remember(): void {
    for (const [key, position] of this.firsts) {
      if (!this.positions.has(key)) this.positions.set(key, position);
    }
  }
}

function entryBytes(key: string, position: string): number {
  return 2 * (key.length + position.length) + 80;
}
