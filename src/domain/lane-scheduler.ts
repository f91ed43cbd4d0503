import { RecordWithdrawn } from './records';

/**
 * Runs tasks in lanes keyed by endpoint: at most `concurrency` tasks of one lane at a time, started
 * in submission order, and at most `globalLimit` tasks overall. A lane waiting for its turn holds no
 * global slot, so one slow endpoint can use only its own concurrency, never the others' capacity.
 *
 * Lanes belong to a group (a tenant): a group runs at most `groupLimit` tasks at once, so one
 * tenant's slow endpoints cannot take the slots of the others; a lane whose group is at its limit
 * waits without holding a slot, like a lane waiting for a global one.
 *
 * A lane that has started nothing for `stallAfterMs` while all its slots are busy, or while its
 * group is at its limit, is stalled (its endpoint hangs or is far slower than its traffic, or its
 * tenant's other endpoints do). Queued tasks that can be shed (see {@link run}) are then handed to
 * their `shed` function instead of waiting: the engine holds them elsewhere, so a stalled backlog
 * does not sit in memory holding its partition's window.
 *
 * A task may be withdrawn before it starts (its record moved to another replica in a rebalance):
 * it is skipped when its turn comes, or by {@link dropWithdrawn}, and its promise rejects with
 * {@link RecordWithdrawn}, unrun.
 */
export interface LaneOptions {
  /** A lane that has started nothing for this long, all slots busy, is stalled. */
  stallAfterMs: number;
  /** Queued tasks a stalled lane keeps (the oldest); the rest are shed. */
  keepWhenStalled?: number;
  /** Tasks one group (tenant) may run at once; unlimited by default. */
  groupLimit?: number;
  now?: () => number;
}

/** Runs instead of the task when its lane is stalled; gets how long the lane has been stalled. */
export type Shed<T> = (stalledForMs: number) => Promise<T>;

export class LaneScheduler {
  private readonly lanes = new Map<string, Lane>();
  /** Lanes with queued work that could start if a global slot were free, in arrival order. */
  private readonly waiting: Lane[] = [];
  private active = 0;
  private readonly groups = new Map<string, Group>();
  private readonly groupLimit: number;
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
    this.groupLimit = options.groupLimit ?? Number.POSITIVE_INFINITY;
    this.now = options.now ?? Date.now;
  }

  /**
   * Queues `task` in lane `key`; resolves or rejects with the task (or with `shed`, when the lane
   * stalls before the task starts). A task without `shed` always waits for its turn (strict order).
   * A task whose `withdrawn()` is true before it starts is skipped: it resolves without running.
   */
  run<T>(
    key: string,
    concurrency: number,
    task: () => Promise<T>,
    shed?: Shed<T>,
    group?: string,
  ): Promise<T>;
  run(
    key: string,
    concurrency: number,
    task: () => Promise<void>,
    shed: Shed<void> | undefined,
    group: string,
    withdrawn: () => boolean,
  ): Promise<void>;
  run<T>(
    key: string,
    concurrency: number,
    task: () => Promise<T>,
    shed?: Shed<T>,
    group = '',
    withdrawn?: () => boolean,
  ): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      let lane = this.lanes.get(key);
      if (!lane) {
        lane = {
          key,
          group,
          concurrency,
          active: 0,
          queue: [],
          waiting: false,
          waitingForGroup: false,
          lastStartedAtMs: this.now(),
        };
        this.lanes.set(key, lane);
      }
      lane.concurrency = Math.max(1, concurrency);
      const entry: Entry = {
        run: () => task().then(resolve, reject),
        shed: shed && ((stalledForMs) => shed(stalledForMs).then(resolve, reject)),
        withdrawn: withdrawn && { test: withdrawn, skip: () => reject(new RecordWithdrawn()) },
      };
      if (entry.withdrawn?.test()) {
        entry.withdrawn.skip();
        return;
      }
      const stalledFor = this.stalledFor(lane);
      if (entry.shed && stalledFor !== null && lane.queue.length >= this.keepWhenStalled) {
        this.runShed(entry.shed, stalledFor);
        return;
      }
      lane.queue.push(entry);
      this.pump(lane);
      this.forgetIfIdle(lane);
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
        if (entry.withdrawn?.test()) {
          entry.withdrawn.skip();
        } else if (entry.shed && kept.length >= this.keepWhenStalled) {
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

  /** Skips every queued task that was withdrawn; returns how many. */
  dropWithdrawn(): number {
    let dropped = 0;
    for (const lane of this.lanes.values()) {
      const kept = lane.queue.filter((entry) => {
        if (!entry.withdrawn?.test()) return true;
        entry.withdrawn.skip();
        dropped++;
        return false;
      });
      if (kept.length === lane.queue.length) continue;
      lane.queue = kept;
      this.forgetIfIdle(lane);
    }
    return dropped;
  }

  /**
   * All the lane's slots are busy (or its group is at its limit with work queued) and nothing has
   * started for `stallAfterMs`.
   */
  isHanging(key: string): boolean {
    const lane = this.lanes.get(key);
    if (!lane || !this.blocked(lane)) return false;
    return this.now() - lane.lastStartedAtMs >= this.stallAfterMs;
  }

  /** Tasks running now in `group`. */
  groupInFlight(group: string): number {
    return this.groups.get(group)?.active ?? 0;
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
    if (!this.blocked(lane) || lane.queue.length === 0) return null;
    const idleFor = this.now() - lane.lastStartedAtMs;
    return idleFor >= this.stallAfterMs ? idleFor : null;
  }

  /** Cannot start more: its own slots are full, or it waits for its group. */
  private blocked(lane: Lane): boolean {
    return lane.active >= lane.concurrency || lane.waitingForGroup;
  }

  private group(name: string): Group {
    let group = this.groups.get(name);
    if (!group) {
      group = { active: 0, waiting: [] };
      this.groups.set(name, group);
    }
    return group;
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
      const group = this.group(lane.group);
      if (group.active >= this.groupLimit) {
        if (!lane.waitingForGroup) {
          lane.waitingForGroup = true;
          group.waiting.push(lane);
        }
        return;
      }
      const next = lane.queue.shift()!;
      if (next.withdrawn?.test()) {
        next.withdrawn.skip();
        continue;
      }
      lane.active += 1;
      lane.lastStartedAtMs = this.now();
      this.active += 1;
      group.active += 1;
      void next.run().finally(() => {
        lane.active -= 1;
        this.active -= 1;
        group.active -= 1;
        this.pump(lane);
        this.pumpGroup(lane.group);
        this.pumpWaiting();
        this.forgetIfIdle(lane);
      });
    }
  }

  private pumpGroup(name: string): void {
    const group = this.groups.get(name);
    if (!group) return;
    while (group.active < this.groupLimit && group.waiting.length > 0) {
      const lane = group.waiting.shift()!;
      lane.waitingForGroup = false;
      this.pump(lane);
      this.forgetIfIdle(lane);
    }
    if (group.active === 0 && group.waiting.length === 0) this.groups.delete(name);
  }

  private forgetIfIdle(lane: Lane): void {
    if (lane.active === 0 && lane.queue.length === 0 && !lane.waiting && !lane.waitingForGroup) {
      this.lanes.delete(lane.key);
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
  withdrawn?: { test: () => boolean; skip: () => void };
}

interface Group {
  active: number;
  /** Lanes with work queued, waiting for one of the group's slots. */
  waiting: Lane[];
}

interface Lane {
  key: string;
  group: string;
  concurrency: number;
  active: number;
  queue: Entry[];
  waiting: boolean;
  waitingForGroup: boolean;
  /** When the lane last started a task (or was created). */
  lastStartedAtMs: number;
}
