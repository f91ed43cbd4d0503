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
 * A bounded map whose entries expire a fixed time after they were stored. Eviction is by insertion
 * order (a Map iterates oldest first), so a flood of new keys pushes out the oldest, never grows
 * memory. Time is passed in, so tests need no timers.
 */
export class ExpiringCache<K, V> {
  private readonly entries = new Map<K, Entry<V>>();

  constructor(private readonly options: ExpiringCacheOptions) {}

  /** The value stored under `key` if it has not expired at `nowMs`. */
  get(key: K, nowMs: number): V | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    if (entry.expiresAtMs <= nowMs) {
      this.entries.delete(key);
      return undefined;
    }
    return entry.value;
  }

  /** How long the entry under `key` has left at `nowMs` (0 when there is none or it has expired). */
  remainingMs(key: K, nowMs: number): number {
    const entry = this.entries.get(key);
    return entry === undefined ? 0 : Math.max(0, entry.expiresAtMs - nowMs);
  }

  /** Forgets the entry under `key`. */
  delete(key: K): void {
    this.entries.delete(key);
  }

  set(key: K, value: V, nowMs: number): void {
    if (this.options.ttlMs <= 0) return;
    // Deleted first so a re-stored key moves to the newest end of the eviction order.
    this.entries.delete(key);
    this.entries.set(key, { value, expiresAtMs: nowMs + this.options.ttlMs });
    for (const oldest of this.entries.keys()) {
      if (this.entries.size <= this.options.maxEntries) break;
      this.entries.delete(oldest);
    }
  }

  /** Forgets every entry whose value matches; returns how many. */
  deleteWhere(matches: (value: V) => boolean): number {
    let deleted = 0;
    for (const [key, entry] of this.entries) {
      if (!matches(entry.value)) continue;
      this.entries.delete(key);
      deleted += 1;
    }
    return deleted;
  }

  get size(): number {
    return this.entries.size;
  }
}
