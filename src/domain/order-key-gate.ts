/**
 * The per-key half of an endpoint lane (lane-scheduler.ts): which order keys have a task at the
 * head of the lane's queue or running, and, per key, the tasks waiting for that one in submission
 * order. A task whose key is free goes to the lane's queue at once; each key has at most one task
 * there or running, so the lane's own first-come order never puts a key's later task first.
 */
export class OrderKeyGate<T extends { orderKey: string | null }> {
  private readonly behind = new Map<string, T[]>();
  private readonly busy = new Set<string>();
  /** Tasks waiting behind a busy key. */
  waiting = 0;

  /** True when `task` may join the lane's queue now (marking its key busy); else it waits here. */
  admit(task: T): boolean {
    const key = task.orderKey;
    if (key === null) return true;
    if (!this.busy.has(key)) {
      this.busy.add(key);
      return true;
    }
    const queue = this.behind.get(key);
    if (queue) queue.push(task);
    else this.behind.set(key, [task]);
    this.waiting += 1;
    return false;
  }

  /**
   * `task` left the lane (ended, shed or skipped): returns the next task of its key, which the lane
   * queues now (its key stays busy), or frees the key.
   */
  release(task: T): T | undefined {
    const key = task.orderKey;
    if (key === null) return undefined;
    const queue = this.behind.get(key);
    const next = queue?.shift();
    if (!next) {
      this.busy.delete(key);
      return undefined;
    }
    this.waiting -= 1;
    if (queue!.length === 0) this.behind.delete(key);
    return next;
  }

  /**
   * Keeps the waiting tasks `keep` says true for, in order; the others are dropped. `keep` is asked
   * once per task; a queue losing nothing is left as it is (this runs on every lane sweep).
   */
  retain(keep: (task: T) => boolean): void {
    for (const [key, queue] of this.behind) {
      const kept = keepInPlace(queue, keep);
      if (kept === queue.length) continue;
      this.waiting -= queue.length - kept;
      queue.length = kept;
      if (kept === 0) this.behind.delete(key);
    }
  }
}

/**
 * Moves the items `keep` says true for to the front of `items`, in order, and returns how many;
 * the caller truncates. Asks `keep` once per item, and allocates nothing.
 */
export function keepInPlace<T>(items: T[], keep: (item: T) => boolean): number {
  let kept = 0;
  for (let index = 0; index < items.length; index++) {
    const item = items[index];
    if (keep(item)) items[kept++] = item;
  }
  return kept;
}
