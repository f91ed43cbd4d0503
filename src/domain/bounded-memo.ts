/**
 * Remembers `compute(key)` for keys seen before, for work done per delivery on values that rarely
 * change (an endpoint's URL, a signing secret). Bounded: at `maxEntries` it forgets everything and
 * starts again, so a flood of distinct keys costs recomputation, never memory.
 */
export class BoundedMemo<K, V> {
  private readonly values = new Map<K, V>();

  constructor(
    private readonly maxEntries: number,
    private readonly compute: (key: K) => V,
  ) {}

  get(key: K): V {
    let value = this.values.get(key);
    if (value === undefined) {
      value = this.compute(key);
      if (this.values.size >= this.maxEntries) this.values.clear();
      this.values.set(key, value);
    }
    return value;
  }
}
