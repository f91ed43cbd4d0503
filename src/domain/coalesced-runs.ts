/**
 * Runs a task per key one at a time, and has every caller wait for a run that started after it
 * asked. A call while a run is going queues one more run after it, which every call until that run
 * starts shares; the calls for one key must ask for the same work (read this endpoint, reload all).
 *
 * For re-reading state that changes: reads side by side can answer in any order, and an older one
 * land last; one after another, the read that started last is the one applied last, and a burst of
 * changes costs two reads rather than one each.
 */
export class CoalescedRuns<K> {
  private readonly runs = new Map<K, { done: Promise<void>; next: Promise<void> | null }>();

  run(key: K, task: () => Promise<void>): Promise<void> {
    const current = this.runs.get(key);
    if (current === undefined) return this.start(key, task);
    const startNext = () => this.start(key, task);
    current.next ??= current.done.then(startNext, startNext);
    return current.next;
  }

  /** Whether a run for `key` is going (or queued). */
  running(key: K): boolean {
    return this.runs.has(key);
  }

  private start(key: K, task: () => Promise<void>): Promise<void> {
    const run: { done: Promise<void>; next: Promise<void> | null } = { done: Promise.resolve(), next: null };
    run.done = task().finally(() => {
      if (run.next === null && this.runs.get(key) === run) this.runs.delete(key);
    });
    this.runs.set(key, run);
    return run.done;
  }
}
