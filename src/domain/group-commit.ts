/**
 * Group commit: items submitted while writes are in flight wait and go out together in the next
 * write, so an idle writer writes at once and a busy one writes fewer, larger batches. Each
 * submitter's promise settles with the write its item went out in. The Kafka producer, held
 * deliveries and the attempt log all write this way.
 */
export interface GroupCommitOptions<T> {
  /** Writes one batch; resolving means every item in it is durable. */
  write(batch: T[]): Promise<void>;
  /** Writes in flight at once. */
  maxInFlight: number;
  /** Most items in one write. */
  maxBatchItems?: number;
  /** Most bytes in one write, by `sizeOf` (a single larger item still goes, alone). */
  maxBatchBytes?: number;
  sizeOf?(item: T): number;
  /** Wait this long after the first item before writing, to gather more (0: write at once). */
  lingerMs?: number;
  /**
   * With no linger and no write in flight: write at the end of the event-loop turn rather than at
   * once, so items submitted by the same turn's callbacks (each partition of one fetch, say) go out
   * in one write. With writes in flight, items go out as before.
   */
  gatherTurn?: boolean;
  /** Most items waiting; beyond it the oldest are dropped ({@link GroupCommitOverflow}). */
  maxQueued?: number;
  /** Most bytes waiting, by `sizeOf`; beyond it the oldest are dropped, as for `maxQueued`. */
  maxQueuedBytes?: number;
  /**
   * Most bytes waiting and in flight together, by `sizeOf`; beyond it the oldest waiting are dropped
   * (those in flight cannot be), down to none while a write is in flight.
   */
  maxHeldBytes?: number;
  /** For items given with {@link GroupCommit.add}: a write of them failed. */
  onWriteFailed?(items: T[], error: unknown): void;
  /** For items given with {@link GroupCommit.add}: one was dropped past a bound. */
  onDropped?(item: T): void;
}

export class GroupCommitOverflow extends Error {
  constructor() {
    super('dropped: too many items waiting to be written');
    this.name = 'GroupCommitOverflow';
  }
}

interface Pending<T> {
  item: T;
  bytes: number;
  /** Absent for items given with `add`: nobody waits for them. */
  resolve?: () => void;
  reject?: (error: unknown) => void;
}

export class GroupCommit<T> {
  private queue: Array<Pending<T>> = [];
  private head = 0;
  private writing = 0;
  private lingerTimer: ReturnType<typeof setTimeout> | null = null;
  private turnEnd: ReturnType<typeof setImmediate> | null = null;
  private readonly idle: Array<() => void> = [];
  private bytesQueued = 0;
  private bytesWriting = 0;

  constructor(private readonly options: GroupCommitOptions<T>) {}

  /** Queues `item`; the promise settles with the write it goes out in. */
  submit(item: T): Promise<void> {
    return new Promise<void>((resolve, reject) =>
      this.enqueue({ item, bytes: this.sizeOf(item), resolve, reject }),
    );
  }

  /** Queues `item` without a promise: failures go to `onWriteFailed`, drops to `onDropped`. */
  add(item: T): void {
    this.enqueue({ item, bytes: this.sizeOf(item) });
  }

  /**
   * Queues `items` ahead of those waiting, as the oldest (a failed write's items going back), so
   * that past a bound they are the first dropped.
   */
  addFirst(items: T[]): void {
    const pending = items.map((item) => ({ item, bytes: this.sizeOf(item) }));
    this.queue = [...pending, ...this.queue.slice(this.head)];
    this.head = 0;
    this.bytesQueued += pending.reduce((sum, { bytes }) => sum + bytes, 0);
    this.dropOverflow();
    this.schedule();
  }

  /** Items waiting for a write (not those in flight). */
  queued(): number {
    return this.queue.length - this.head;
  }

  /** Bytes waiting for a write, by `sizeOf`. */
  queuedBytes(): number {
    return this.bytesQueued;
  }

  inFlight(): number {
    return this.writing;
  }

  /** Bytes waiting plus those of the writes in flight, by `sizeOf`. */
  heldBytes(): number {
    return this.bytesQueued + this.bytesWriting;
  }

  /**
   * Writes whatever waits now, without lingering; resolves once nothing waits or is in flight
   * (items submitted meanwhile included).
   */
  drain(): Promise<void> {
    this.clearWaits();
    this.pump();
    if (this.queued() === 0 && this.writing === 0) return Promise.resolve();
    return new Promise<void>((resolve) => this.idle.push(resolve));
  }

  /**
   * Writes now, or after the linger when less than a full batch waits and nobody is draining, or
   * (gatherTurn) at the end of this turn when nothing is in flight.
   */
  private schedule(): void {
    const lingerMs = this.options.lingerMs ?? 0;
    const fullBatch = this.queued() >= (this.options.maxBatchItems ?? Number.POSITIVE_INFINITY);
    const writeNow = fullBatch || this.idle.length > 0;
    if (!writeNow && lingerMs <= 0 && this.options.gatherTurn && this.writing === 0) {
      this.turnEnd ??= setImmediate(() => {
        this.turnEnd = null;
        this.pump();
      });
    } else if (writeNow || lingerMs <= 0) {
      this.clearWaits();
      this.pump();
    } else if (this.lingerTimer === null && this.writing < this.options.maxInFlight) {
      this.lingerTimer = setTimeout(() => {
        this.lingerTimer = null;
        this.pump();
      }, lingerMs);
    }
  }

  /** Cancels a pending linger or end-of-turn write. */
  private clearWaits(): void {
    if (this.lingerTimer !== null) clearTimeout(this.lingerTimer);
    this.lingerTimer = null;
    if (this.turnEnd !== null) clearImmediate(this.turnEnd);
    this.turnEnd = null;
  }

  private enqueue(pending: Pending<T>): void {
    this.queue.push(pending);
    this.bytesQueued += pending.bytes;
    this.dropOverflow();
    this.schedule();
  }

  private sizeOf(item: T): number {
    return this.options.sizeOf?.(item) ?? 0;
  }

  private pump(): void {
    while (this.writing < this.options.maxInFlight && this.queued() > 0) {
      const batch = this.take();
      const bytes = batch.reduce((sum, pending) => sum + pending.bytes, 0);
      this.writing += 1;
      this.bytesWriting += bytes;
      void this.options
        .write(batch.map((pending) => pending.item))
        .then(
          () => {
            this.bytesWriting -= bytes;
            batch.forEach((pending) => pending.resolve?.());
          },
          (error: unknown) => {
            // Released before `onWriteFailed`, which may queue the items again.
            this.bytesWriting -= bytes;
            this.failed(batch, error);
          },
        )
        .finally(() => {
          this.writing -= 1;
          if (this.queued() > 0) this.schedule();
          if (this.writing === 0 && this.queued() === 0) this.idle.splice(0).forEach((resolve) => resolve());
        });
    }
  }

  private failed(batch: Array<Pending<T>>, error: unknown): void {
    const unwatched: T[] = [];
    for (const pending of batch) {
      if (pending.reject) pending.reject(error);
      else unwatched.push(pending.item);
    }
    if (unwatched.length > 0) this.options.onWriteFailed?.(unwatched, error);
  }

  /** The oldest items that fit one write together, always at least one. */
  private take(): Array<Pending<T>> {
    const maxItems = this.options.maxBatchItems ?? Number.POSITIVE_INFINITY;
    const maxBytes = this.options.maxBatchBytes ?? Number.POSITIVE_INFINITY;
    const batch: Array<Pending<T>> = [];
    let bytes = 0;
    while (this.head < this.queue.length && batch.length < maxItems) {
      const next = this.queue[this.head];
      if (batch.length > 0 && bytes + next.bytes > maxBytes) break;
      batch.push(next);
      bytes += next.bytes;
      this.head += 1;
    }
    this.bytesQueued -= bytes;
    this.compact();
    return batch;
  }

  private dropOverflow(): void {
    const maxItems = this.options.maxQueued ?? Number.POSITIVE_INFINITY;
    const maxBytes = this.options.maxQueuedBytes ?? Number.POSITIVE_INFINITY;
    const maxHeld = this.options.maxHeldBytes ?? Number.POSITIVE_INFINITY;
    // A lone item goes however large, unless a write in flight holds bytes already.
    const keepOne = this.bytesWriting > 0 ? 0 : 1;
    const over = () =>
      (this.queued() > 1 && (this.queued() > maxItems || this.bytesQueued > maxBytes)) ||
      (this.queued() > keepOne && this.heldBytes() > maxHeld);
    while (over()) {
      const dropped = this.queue[this.head];
      this.head += 1;
      this.bytesQueued -= dropped.bytes;
      if (dropped.reject) dropped.reject(new GroupCommitOverflow());
      else this.options.onDropped?.(dropped.item);
    }
    this.compact();
  }

  private compact(): void {
    if (this.head === this.queue.length) {
      this.queue = [];
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
  }
}
