/**
 * Recognises a repeated event id (the same event published twice) among the most recent ids.
 * Keyed by "tenant:event id" and remembering the record position that first carried it, so the
 * same record fanned out again (after a crash or a failed produce) is not mistaken for a duplicate.
 * Memory only: bounded by `capacity` entries and by `maxBytes` (ids are up to 256 characters, so a
 * count alone would let long ids take a hundred megabytes), and empty after a restart (README
 * Section B). `POST /v1/events` deduplicates durably before producing (idempotency_keys, issue 17);
 * this is the second line, for events produced straight to the input topic, which nothing else checks.
 */
export class RecentEventIds {
  private readonly positions = new Map<string, string>();
  private bytes = 0;

  constructor(
    private readonly capacity: number,
    private readonly maxBytes: number = 16 * 1024 * 1024,
  ) {}

  /** True when `key` was first seen at another position. */
  seen(key: string, position: string): boolean {
    const first = this.positions.get(key);
    if (first !== undefined) return first !== position;
    this.positions.set(key, position);
    this.bytes += entryBytes(key, position);
    while (this.positions.size > this.capacity || this.bytes > this.maxBytes) {
      const [oldestKey, oldestPosition] = this.positions.entries().next().value as [string, string];
      this.positions.delete(oldestKey);
      this.bytes -= entryBytes(oldestKey, oldestPosition);
    }
    return false;
  }

  /** Estimated bytes held (two bytes a character, plus the map's own cost per entry). */
  size(): { entries: number; bytes: number } {
    return { entries: this.positions.size, bytes: this.bytes };
  }
}

function entryBytes(key: string, position: string): number {
  return 2 * (key.length + position.length) + 80;
}
