/**
 * Runs tasks in lanes keyed by endpoint: at most `concurrency` tasks of one lane at a time, started
 * in submission order, and at most `globalLimit` tasks overall. A lane waiting for its turn holds no
 * global slot, so one slow endpoint can use only its own concurrency, never the others' capacity.
 *
 * A lane that has started nothing for `stallAfterMs` while all its slots are busy is stalled (its
 * endpoint hangs or is far slower than its traffic). Queued tasks that can be shed (see {@link run})
 * are then handed to their `shed` function instead of waiting: the engine moves them to a retry
 * tier, so a hanging endpoint's backlog does not sit in memory holding its partition's window.
 */
export interface LaneOptions {
  /** A lane that has started nothing for this long, all slots busy, is stalled. */
  stallAfterMs: number;
  /** Queued tasks a stalled lane keeps (the oldest); the rest are shed. */
  keepWhenStalled?: number;
  now?: () => number;
}

/** Runs instead of the task when its lane is stalled; gets how long the lane has been stalled. */
export type Shed<T> = (stalledForMs: number) => Promise<T>;

export class LaneScheduler {
  private readonly lanes = new Map<string, Lane>();
  /** Lanes with queued work that could start if a global slot were free, in arrival order. */
  private readonly waiting: Lane[] = [];
  private active = 0;
  private shedding = 0;
  private readonly stallAfterMs: number;
  private readonly keepWhenStalled: number;
  private readonly now: () => number;

  constructor(
    private readonly globalLimit: number,
    options: LaneOptions = { stallAfterMs: Number.POSITIVE_INFINITY },
  ) {
    this.stallAfterMs = options.stallAfterMs;
    this.keepWhenStalled = options.keepWhenStalled ?? 1;
    this.now = options.now ?? Date.now;
  }

  /**
   * Queues `task` in lane `key`; resolves or rejects with the task (or with `shed`, when the lane
   * stalls before the task starts). A task without `shed` always waits for its turn (strict order).
   */
  run<T>(key: string, concurrency: number, task: () => Promise<T>, shed?: Shed<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      let lane = this.lanes.get(key);
      if (!lane) {
        lane = { key, concurrency, active: 0, queue: [], waiting: false, lastStartedAtMs: this.now() };
        this.lanes.set(key, lane);
      }
      lane.concurrency = Math.max(1, concurrency);
      const entry: Entry = {
        run: () => task().then(resolve, reject),
        shed: shed && ((stalledForMs) => shed(stalledForMs).then(resolve, reject)),
      };
      const stalledFor = this.stalledFor(lane);
      if (entry.shed && stalledFor !== null && lane.queue.length >= this.keepWhenStalled) {
        this.runShed(entry.shed, stalledFor);
        return;
      }
      lane.queue.push(entry);
      this.pump(lane);
    });
  }

  /** Sheds the queued tasks of every stalled lane beyond the ones it keeps; returns how many. */
  shedStalled(): number {
    let shed = 0;
    for (const lane of this.lanes.values()) {
      const stalledFor = this.stalledFor(lane);
      if (stalledFor === null) continue;
      const kept: Entry[] = [];
      for (const entry of lane.queue) {
        if (entry.shed && kept.length >= this.keepWhenStalled) {
          this.runShed(entry.shed, stalledFor);
          shed++;
        } else {
          kept.push(entry);
        }
      }
      lane.queue = kept;
    }
    return shed;
  }

  /** All the lane's slots are busy and none has started for `stallAfterMs`, queued work or not. */
  isHanging(key: string): boolean {
    const lane = this.lanes.get(key);
    if (!lane || lane.active < lane.concurrency) return false;
    return this.now() - lane.lastStartedAtMs >= this.stallAfterMs;
  }

  inFlight(): number {
    return this.active;
  }

  queued(): number {
    let total = 0;
    for (const lane of this.lanes.values()) total += lane.queue.length;
    return total;
  }

  /** Shed tasks still running (their records being moved to a retry tier). */
  sheddingNow(): number {
    return this.shedding;
  }

  laneDepth(key: string): number {
    const lane = this.lanes.get(key);
    return lane ? lane.queue.length + lane.active : 0;
  }

  /** How long the lane has been stalled, or null when it is moving (or has nothing queued). */
  private stalledFor(lane: Lane): number | null {
    if (lane.active < lane.concurrency || lane.queue.length === 0) return null;
    const idleFor = this.now() - lane.lastStartedAtMs;
    return idleFor >= this.stallAfterMs ? idleFor : null;
  }

  private runShed(shed: (stalledForMs: number) => Promise<void>, stalledForMs: number): void {
    this.shedding += 1;
    void shed(stalledForMs).finally(() => (this.shedding -= 1));
  }

  private pump(lane: Lane): void {
    while (lane.queue.length > 0 && lane.active < lane.concurrency) {
      if (this.active >= this.globalLimit) {
        if (!lane.waiting) {
          lane.waiting = true;
          this.waiting.push(lane);
        }
        return;
      }
      const next = lane.queue.shift()!;
      lane.active += 1;
      lane.lastStartedAtMs = this.now();
      this.active += 1;
      void next.run().finally(() => {
        lane.active -= 1;
        this.active -= 1;
        this.pump(lane);
        this.pumpWaiting();
        if (lane.active === 0 && lane.queue.length === 0 && !lane.waiting) this.lanes.delete(lane.key);
      });
    }
  }

  private pumpWaiting(): void {
    while (this.active < this.globalLimit && this.waiting.length > 0) {
      const lane = this.waiting.shift()!;
      lane.waiting = false;
      this.pump(lane);
    }
  }
}

interface Entry {
  run: () => Promise<void>;
  shed?: (stalledForMs: number) => Promise<void>;
}

interface Lane {
  key: string;
  concurrency: number;
  active: number;
  queue: Entry[];
  waiting: boolean;
  /** When the lane last started a task (or was created). */
  lastStartedAtMs: number;
}
