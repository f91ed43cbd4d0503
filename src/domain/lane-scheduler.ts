import {
  blocked,
  capacity,
  LanePace,
  newLane,
  queuedIn,
  recordTaskTime,
  releaseKey,
  SlowLaneMemory,
  startable,
  type Entry,
  type Group,
  type Lane,
} from './lane';
import { Fifo } from './fifo';
import { keepInPlace } from './order-key-gate';
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
 * Freed slots go to those waiting, in turns: groups take global slots one task a turn, a group's lanes
 * take its turns and slots, and a lane whose task ends goes behind those waiting, not first.
 *
 * A lane that has started nothing for `stallAfterMs` while all its slots are busy, or while its
 * group is at its limit, is stalled (its endpoint hangs, or its tenant's other endpoints do).
 * Queued tasks that can be shed (see {@link run}) are then handed to their `shed` function instead
 * of waiting: the engine holds them elsewhere, so a stalled backlog does not sit in memory holding
 * its partition's window.
 *
 * A lane whose tasks take `stallAfterMs` or longer on average, with every slot busy, is overloaded
 * even though it starts a task each time one ends (a slow endpoint with many slots, or a hanging one
 * whose timeouts free slots one by one): it keeps only the tasks it can start within `stallAfterMs`
 * at that pace and sheds the rest, so its backlog holds a bounded part of its partition's window.
 * A lane of fast tasks is never overloaded however long its queue: a burst behind a healthy endpoint
 * drains, and only the task time, not the queue, tells the two apart.
 *
 * A task may carry an order key (ordering-key.ts): tasks of one lane with the same order key start
 * one at a time, in submission order; one waits (counted as queued, but not at the head of the
 * lane's queue) until the task before it with that key has ended, been shed or been skipped, while
 * tasks of other keys start beside it up to the lane's concurrency. Stalls and shedding stay per
 * lane: a stalled lane sheds the queued tasks of every key alike. A task queued while its lane's
 * concurrency was 1 runs alone even after the concurrency is raised, so the tasks queued before a
 * raise keep the order they were promised, whatever their keys.
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

/**
 * Runs instead of the task when its lane is stalled or overloaded; gets how long the lane has been
 * stalled, or for an overloaded lane how long its tasks take.
 */
export type Shed<T> = (stalledForMs: number) => Promise<T>;

export class LaneScheduler {
  private readonly lanes = new Map<string, Lane>();
  /** Groups with a lane that could start if a global slot were free, in turn order. */
  private readonly waiting = new Fifo<Group>();
  private active = 0;
  private readonly groups = new Map<string, Group>();
  private readonly groupLimit: number;
  private shedding = 0;
  private readonly stallAfterMs: number;
  private readonly keepWhenStalled: number;
  private readonly pace: LanePace;
  private readonly now: () => number;
  /** Overloaded lanes forgotten while idle (their pace). */
  private readonly slowMemory = new SlowLaneMemory();

  constructor(
    private readonly globalLimit: number,
    options: LaneOptions = { stallAfterMs: Number.POSITIVE_INFINITY },
  ) {
    this.stallAfterMs = options.stallAfterMs;
    this.keepWhenStalled = options.keepWhenStalled ?? 1;
    this.pace = new LanePace(this.stallAfterMs, this.keepWhenStalled);
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
    orderKey?: string | null,
  ): Promise<void>;
  run<T>(
    key: string,
    concurrency: number,
    task: () => Promise<T>,
    shed?: Shed<T>,
    group = '',
    withdrawn?: () => boolean,
    orderKey: string | null = null,
  ): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      let lane = this.lanes.get(key);
      if (!lane) {
        lane = newLane(key, group, this.now(), this.slowMemory.get(key));
        this.lanes.set(key, lane);
      }
      const widened = Math.max(1, concurrency) > lane.concurrency;
      lane.concurrency = Math.max(1, concurrency);
      // Queued tasks the old concurrency kept waiting may start now, whatever becomes of this one.
      if (widened && lane.queue.length > 0) this.pump(lane);
      const entry: Entry = {
        run: () => task().then(resolve, reject),
        shed: shed && ((stalledForMs) => shed(stalledForMs).then(resolve, reject)),
        withdrawn: withdrawn && { test: withdrawn, skip: () => reject(new RecordWithdrawn()) },
        orderKey,
        serial: lane.concurrency === 1,
      };
      if (entry.withdrawn?.test()) {
        entry.withdrawn.skip();
        return;
      }
      const shedding = this.sheddingOf(lane);
      if (entry.shed && shedding !== null && queuedIn(lane) >= shedding.keep) {
        this.runShed(entry.shed, shedding.forMs);
        return;
      }
      if (!lane.keys.admit(entry)) return;
      lane.queue.push(entry);
      this.pump(lane);
      this.forgetIfIdle(lane);
    });
  }

  /**
   * Sheds the queued tasks of every stalled or overloaded lane beyond the ones it keeps; returns how
   * many.
   */
  shedStalled(): number {
    let shed = 0;
    this.slowMemory.forgetOld(this.now());
    for (const lane of this.lanes.values()) {
      const shedding = this.sheddingOf(lane);
      if (shedding === null) continue;
      const kept: Entry[] = [];
      const gone: Entry[] = [];
      for (const entry of lane.queue) {
        if (entry.withdrawn?.test()) {
          entry.withdrawn.skip();
          gone.push(entry);
        } else if (entry.shed && kept.length >= shedding.keep) {
          this.runShed(entry.shed, shedding.forMs);
          gone.push(entry);
          shed++;
        } else {
          kept.push(entry);
        }
      }
      lane.queue = kept;
      // Behind a busy key: the lane keeps what is at the head of its queue, so these are all shed.
      lane.keys.retain((entry) => {
        if (entry.withdrawn?.test()) {
          entry.withdrawn.skip();
          return false;
        }
        if (!entry.shed) return true;
        this.runShed(entry.shed, shedding.forMs);
        shed++;
        return false;
      });
      for (const entry of gone) releaseKey(lane, entry);
      this.pump(lane);
      this.forgetIfIdle(lane);
    }
    return shed;
  }

  /**
   * Skips every queued task that was withdrawn; returns how many. Runs on every sweep over queues
   * that can hold thousands of tasks, so a queue with nothing withdrawn is only read.
   */
  dropWithdrawn(): number {
    let dropped = 0;
    for (const lane of this.lanes.values()) {
      lane.keys.retain((entry) => {
        if (!entry.withdrawn?.test()) return true;
        entry.withdrawn.skip();
        dropped++;
        return false;
      });
      const gone: Entry[] = [];
      const kept = keepInPlace(lane.queue, (entry) => {
        if (!entry.withdrawn?.test()) return true;
        entry.withdrawn.skip();
        gone.push(entry);
        dropped++;
        return false;
      });
      if (gone.length === 0) continue;
      lane.queue.length = kept;
      for (const entry of gone) releaseKey(lane, entry);
      this.pump(lane);
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
    return lane !== undefined && this.hangs(lane, this.now());
  }

  /** The keys of the lanes hanging now ({@link isHanging}). */
  hangingKeys(): string[] {
    const nowMs = this.now();
    const keys: string[] = [];
    for (const [key, lane] of this.lanes) if (this.hangs(lane, nowMs)) keys.push(key);
    return keys;
  }

  private hangs(lane: Lane, nowMs: number): boolean {
    return this.blocked(lane) && nowMs - lane.lastStartedAtMs >= this.stallAfterMs;
  }

  /** Hanging, or overloaded with as many queued tasks as it keeps: a new task would be shed. */
  isSaturated(key: string): boolean {
    if (this.isHanging(key)) return true;
    const lane = this.lanes.get(key);
    const keep = lane ? this.overloadKeep(lane) : null;
    return keep !== null && queuedIn(lane!) >= keep;
  }

  /**
   * How many more tasks lane `key` can take now without shedding any: none while every slot is busy
   * and its pace is unknown or overdue; unbounded for a lane not known to be slow; none for a slow
   * lane with anything queued (its live traffic already takes every slot it frees, so a backlog
   * handed back now would only be shed again); for a slow lane
   * with nothing queued (or one forgotten while idle), the slots it can start now (its own free
   * ones, as far as its group has free ones) plus what it keeps queued at the pace of the slots it
   * can run. Lets a backlog be handed back at the lane's own pace, and not while its tenant's other
   * endpoints hold the group's slots (it would wait for one of them, stall and be shed again).
   */
  headroom(key: string): number {
    const lane = this.lanes.get(key);
    if (lane) {
      if (this.isHanging(key) || this.overdue(lane)) return 0;
      if (!this.pace.isSlow(lane.taskMs)) return Number.POSITIVE_INFINITY;
      if (queuedIn(lane) > 0) return 0;
      return this.slowLaneTakes(lane.group, this.capacity(lane), lane.active, lane.taskMs);
    }
    const memory = this.slowMemory.get(key);
    if (!memory) return Number.POSITIVE_INFINITY;
    return this.slowLaneTakes(memory.group, memory.capacity, 0, memory.taskMs);
  }

  /**
   * How many more tasks lane `key` takes now before it would shed one: none while it hangs; for a
   * slow lane (tasks averaging `stallAfterMs` or more, or one remembered so while idle), what
   * {@link headroom} allows it with nothing queued, less what is queued already; unbounded for any
   * other lane, so a burst behind a fast endpoint is never cut. Unlike {@link headroom}, live
   * traffic may fill what is queued: what the fan-out may send before holding the rest itself.
   */
  room(key: string): number {
    const lane = this.lanes.get(key);
    if (!lane) {
      const memory = this.slowMemory.get(key);
      if (!memory) return Number.POSITIVE_INFINITY;
      return this.slowLaneTakes(memory.group, memory.capacity, 0, memory.taskMs);
    }
    if (this.isHanging(key)) return 0;
    if (!this.pace.isSlow(lane.taskMs)) return Number.POSITIVE_INFINITY;
    const takes = this.slowLaneTakes(lane.group, this.capacity(lane), lane.active, lane.taskMs);
    return Math.max(0, takes - queuedIn(lane));
  }

  /**
   * Every slot busy and nothing started for longer than its tasks take (or before any has ended):
   * its slots are not freeing at its known pace, perhaps because its endpoint has just begun to
   * hang, so what is handed back now would wait and may be shed again. A new endpoint that hangs
   * from its first request sheds its queue a second in, and had none of its tasks ended; until its
   * first timeout, a backlog handed back met the same stall (the noisy-neighbour bench: 1,581 of
   * 1,715 held deliveries turned away again in one run).
   */
  private overdue(lane: Lane): boolean {
    if (!this.blocked(lane)) return false;
    return lane.taskMs === null || this.now() - lane.lastStartedAtMs > lane.taskMs;
  }

  /** What a slow lane of `group` takes without shedding ({@link LanePace.takes}). */
  private slowLaneTakes(group: string, capacity: number, active: number, taskMs: number): number {
    const groupFree = Math.max(0, this.groupLimit - (this.groups.get(group)?.active ?? 0));
    return this.pace.takes(capacity, active, groupFree, taskMs);
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
    for (const lane of this.lanes.values()) total += queuedIn(lane);
    return total;
  }

  /** Shed tasks still running (their records being moved to a retry tier). */
  sheddingNow(): number {
    return this.shedding;
  }

  laneDepth(key: string): number {
    const lane = this.lanes.get(key);
    return lane ? queuedIn(lane) + lane.active : 0;
  }

  /** Lanes held: running, queued or waiting for a turn (an idle one is forgotten). */
  laneCount(): number {
    return this.lanes.size;
  }

  private blocked(lane: Lane): boolean {
    return blocked(lane, this.waitsForGroup(lane));
  }

  private capacity(lane: Lane): number {
    return capacity(lane, this.waitsForGroup(lane));
  }

  /** Waits for a turn while its group is at its limit (not merely for a global slot). */
  private waitsForGroup(lane: Lane): boolean {
    return lane.waiting && this.groupInFlight(lane.group) >= this.groupLimit;
  }

  /**
   * Whether the lane sheds, the number of queued tasks it keeps, and what its shed tasks are told:
   * a stalled lane keeps `keepWhenStalled`, an overloaded one what it starts within `stallAfterMs`.
   */
  private sheddingOf(lane: Lane): { keep: number; forMs: number } | null {
    const stalledFor = this.stalledFor(lane);
    if (stalledFor !== null) return { keep: this.keepWhenStalled, forMs: stalledFor };
    const keep = this.overloadKeep(lane);
    return keep === null ? null : { keep, forMs: Math.round(lane.taskMs!) };
  }

  /**
   * The queued tasks an overloaded lane keeps, or null when it is not overloaded: its tasks take
   * `stallAfterMs` or more on average and it cannot start another now.
   */
  private overloadKeep(lane: Lane): number | null {
    if (!this.blocked(lane) || !this.pace.isSlow(lane.taskMs)) return null;
    return this.pace.keep(this.capacity(lane), lane.taskMs);
  }

  /** How long the lane has been stalled, or null when it is moving (or has nothing queued). */
  private stalledFor(lane: Lane): number | null {
    if (!this.blocked(lane) || queuedIn(lane) === 0) return null;
    const idleFor = this.now() - lane.lastStartedAtMs;
    return idleFor >= this.stallAfterMs ? idleFor : null;
  }

  private group(name: string): Group {
    let group = this.groups.get(name);
    if (!group) {
      group = { name, active: 0, waiting: new Fifo<Lane>(), queued: false };
      this.groups.set(name, group);
    }
    return group;
  }

  private forgetGroupIfIdle(group: Group): void {
    if (group.active === 0 && group.waiting.length === 0 && !group.queued) this.groups.delete(group.name);
  }

  private runShed(shed: (stalledForMs: number) => Promise<void>, stalledForMs: number): void {
    this.shedding += 1;
    void shed(stalledForMs).finally(() => (this.shedding -= 1));
  }

  /** Queues the lane for a turn if it can start something, then hands out the free slots. */
  private pump(lane: Lane): void {
    if (!lane.waiting && startable(lane)) this.queueForTurn(lane, this.group(lane.group));
    this.handOutSlots();
  }

  /** The lane goes to the back of its group's turn; the group asks for a global slot if it has room. */
  private queueForTurn(lane: Lane, group: Group): void {
    lane.waiting = true;
    group.waiting.push(lane);
    this.askForSlot(group);
  }

  /** A group at its limit asks again when one of its tasks ends. */
  private askForSlot(group: Group): void {
    if (group.queued || group.waiting.length === 0 || group.active >= this.groupLimit) return;
    group.queued = true;
    this.waiting.push(group);
  }

  /** Free global slots go to the waiting groups in turn, one task per turn. */
  private handOutSlots(): void {
    while (this.active < this.globalLimit && this.waiting.length > 0) {
      const group = this.waiting.shift()!;
      group.queued = false;
      if (group.active < this.groupLimit) this.startTurn(group);
      this.askForSlot(group);
      this.forgetGroupIfIdle(group);
    }
  }

  /**
   * Starts one task of the group's next lane that has one, which goes to the back if it can start
   * more; a lane emptied while it waited (shed, withdrawn) leaves here, forgotten if idle.
   */
  private startTurn(group: Group): void {
    for (let lane = group.waiting.shift(); lane; lane = group.waiting.shift()) {
      lane.waiting = false;
      const started = this.startNext(lane, group);
      if (startable(lane)) this.queueForTurn(lane, group);
      else this.forgetIfIdle(lane);
      if (started) return;
    }
  }

  /** Starts the lane's next task that was not withdrawn; false when it has none. */
  private startNext(lane: Lane, group: Group): boolean {
    while (startable(lane)) {
      const next = lane.queue.shift()!;
      if (next.withdrawn?.test()) {
        next.withdrawn.skip();
        releaseKey(lane, next);
        continue;
      }
      lane.active += 1;
      lane.serialRunning = next.serial;
      lane.peakActive = Math.max(lane.peakActive, lane.active);
      const startedAtMs = this.now();
      lane.lastStartedAtMs = startedAtMs;
      this.active += 1;
      group.active += 1;
      void next.run().finally(() => {
        recordTaskTime(lane, this.now() - startedAtMs);
        lane.active -= 1;
        if (next.serial) lane.serialRunning = false;
        this.active -= 1;
        group.active -= 1;
        releaseKey(lane, next);
        // Behind the lanes already waiting: the slot it frees is theirs first.
        if (!lane.waiting && startable(lane)) this.queueForTurn(lane, group);
        else this.askForSlot(group);
        this.handOutSlots();
        this.forgetIfIdle(lane);
        this.forgetGroupIfIdle(group);
      });
      return true;
    }
    return false;
  }

  private forgetIfIdle(lane: Lane): void {
    if (lane.active === 0 && lane.queue.length === 0 && !lane.waiting) {
      this.lanes.delete(lane.key);
      this.slowMemory.remember(lane, this.stallAfterMs, this.now());
    }
  }
}
