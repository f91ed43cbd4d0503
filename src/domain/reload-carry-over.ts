/**
 * A full reload beside per-key changes. A key changed while the reload reads its snapshot is newer
 * than the snapshot: its live value must be carried over in the same turn as the swap (or the
 * snapshot undoes the change until the next reload or notice), and re-read after it (a change still
 * reading at the swap, or one that failed, is settled by that read). Pair it with one reload at a
 * time (CoalescedRuns), so an older snapshot never lands after a newer one.
 */
export class ReloadCarryOver<K> {
  private changed: Set<K> | null = null;

  /** A change to `key` begins (call it when its re-read starts, and when a change is applied). */
  changing(key: K): void {
    this.changed?.add(key);
  }

  /**
   * Reads the snapshot and hands it to `swap` with the keys changed meanwhile, in one turn: no
   * change can land between the two. Returns those keys, for the caller to re-read.
   */
  async reload<T>(
    read: () => Promise<T>,
    swap: (snapshot: T, changed: ReadonlySet<K>) => void,
  ): Promise<ReadonlySet<K>> {
    const changed = new Set<K>();
    this.changed = changed;
    try {
      swap(await read(), changed);
      return changed;
    } finally {
      if (this.changed === changed) this.changed = null;
    }
  }
}
