import { LRUCache } from 'lru-cache';

export interface ExpiringCacheOptions {
  /** How long an entry is served after it was stored. */
  ttlMs: number;
  /** Most entries kept; storing one more evicts the oldest stored. */
  maxEntries: number;
}

interface Entry<V> {
  value: V;
  expiresAtMs: number;
}

/**
 * A bounded map whose entries expire a fixed time after they were stored. Eviction is by the order
 * entries were stored (lookups do not refresh them), so a flood of new keys pushes out the oldest,
 * never grows memory; lru-cache evicts in constant time (README, decision 64). Time is passed in,
 * so tests need no timers (lru-cache's own TTL reads the clock itself).
 */
export class ExpiringCache<K extends NonNullable<unknown>, V> {
  private readonly entries: LRUCache<K, Entry<V>>;

  constructor(private readonly options: ExpiringCacheOptions) {
    this.entries = new LRUCache({ max: Math.max(1, options.maxEntries) });
  }

  /** The value stored under `key` if it has not expired at `nowMs`. */
  get(key: K, nowMs: number): V | undefined {
    const entry = this.entries.peek(key);
    if (entry === undefined) return undefined;
    if (entry.expiresAtMs <= nowMs) {
      this.entries.delete(key);
      return undefined;
    }
    return entry.value;
  }

  /** How long the entry under `key` has left at `nowMs` (0 when there is none or it has expired). */
  remainingMs(key: K, nowMs: number): number {
    const entry = this.entries.peek(key);
    return entry === undefined ? 0 : Math.max(0, entry.expiresAtMs - nowMs);
  }

  /** Forgets the entry under `key`. */
  delete(key: K): void {
    this.entries.delete(key);
  }

  set(key: K, value: V, nowMs: number): void {
    // Nothing is kept without a lifetime or room (lru-cache itself needs room for one).
    if (this.options.ttlMs <= 0 || this.options.maxEntries <= 0) return;
    // A re-stored key moves to the newest end of the eviction order; past maxEntries the oldest goes.
    this.entries.set(key, { value, expiresAtMs: nowMs + this.options.ttlMs });
  }

  /** Forgets every entry whose value matches; returns how many. */
  deleteWhere(matches: (value: V) => boolean): number {
    const gone = [...this.entries.entries()].filter(([, entry]) => matches(entry.value));
    for (const [key] of gone) this.entries.delete(key);
    return gone.length;
  }

  get size(): number {
    return this.entries.size;
  }
}
