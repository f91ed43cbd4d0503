/**
 * Recognises a repeated event id (the same event published twice) among the most recent ids.
 * Keyed by "tenant:event id" and remembering the record position that first carried it, so the
 * same record fanned out again (after a crash or a failed produce) is not mistaken for a duplicate.
 * Memory only: bounded by `capacity`, and empty after a restart (see README Section B).
 */
export class RecentEventIds {
  private readonly positions = new Map<string, string>();

  constructor(private readonly capacity: number) {}

  /** True when `key` was first seen at another position. */
  seen(key: string, position: string): boolean {
    const first = this.positions.get(key);
    if (first !== undefined) return first !== position;
    this.positions.set(key, position);
    if (this.positions.size > this.capacity) {
      const oldest = this.positions.keys().next().value as string;
      this.positions.delete(oldest);
    }
    return false;
  }
}
