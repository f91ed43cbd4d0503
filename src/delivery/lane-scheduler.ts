/**
 * Runs tasks in lanes keyed by endpoint: at most `concurrency` tasks of one lane at a time, started
 * in submission order, and at most `globalLimit` tasks overall. A lane waiting for its turn holds no
 * global slot, so one slow endpoint can use only its own concurrency, never the others' capacity.
 */
export class LaneScheduler {
  private readonly lanes = new Map<string, Lane>();
  /** Lanes with queued work that could start if a global slot were free, in arrival order. */
  private readonly waiting: Lane[] = [];
  private active = 0;

  constructor(private readonly globalLimit: number) {}

  /** Queues `task` in lane `key`; resolves or rejects with the task once it has run. */
  run<T>(key: string, concurrency: number, task: () => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      let lane = this.lanes.get(key);
      if (!lane) {
        lane = { key, concurrency, active: 0, queue: [], waiting: false };
        this.lanes.set(key, lane);
      }
      lane.concurrency = Math.max(1, concurrency);
      lane.queue.push(() => task().then(resolve, reject));
      this.pump(lane);
    });
  }

  inFlight(): number {
    return this.active;
  }

  queued(): number {
    let total = 0;
    for (const lane of this.lanes.values()) total += lane.queue.length;
    return total;
  }

  laneDepth(key: string): number {
    const lane = this.lanes.get(key);
    return lane ? lane.queue.length + lane.active : 0;
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
      this.active += 1;
      void next().finally(() => {
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

interface Lane {
  key: string;
  concurrency: number;
  active: number;
  queue: Array<() => Promise<void>>;
  waiting: boolean;
}
