import { Fifo } from './fifo';
import { OrderKeyGate } from './order-key-gate';

/**
 * One endpoint's lane in the LaneScheduler (lane-scheduler.ts) and what can be read off it alone:
 * what it holds, whether it can start more, and the pace of its tasks.
 */

/** A queued task: its run, what runs instead when its lane sheds it, and whether it was withdrawn. */
export interface Entry {
  run: () => Promise<void>;
  shed?: (stalledForMs: number) => Promise<void>;
  withdrawn?: { test: () => boolean; skip: () => void };
  /** Tasks with the same order key start one at a time (null: none). */
  orderKey: string | null;
  /**
   * Queued while its lane ran one task at a time: it runs alone, so a raised concurrency cannot
   * start it beside a task queued before it (their order keys were never asked for).
   */
  serial: boolean;
}

export interface Lane {
  key: string;
  group: string;
  concurrency: number;
  active: number;
  /** Tasks that can start once a slot is free, in the order they became startable. */
  queue: Entry[];
  /** Tasks waiting for the one before them with the same order key. */
  keys: OrderKeyGate<Entry>;
  /** In its group's queue of lanes waiting for a slot (global or the group's). */
  waiting: boolean;
  /** When the lane last started a task (or was created). */
  lastStartedAtMs: number;
  /** Moving average of how long its tasks take, or null before the first one ends. */
  taskMs: number | null;
  /** The most tasks it has run at once (remembered for a slow lane that went idle). */
  peakActive: number;
  /** A serial task (see {@link Entry.serial}) is running: nothing starts beside it. */
  serialRunning: boolean;
}

/** A group (tenant) of lanes sharing its slots. */
export interface Group {
  name: string;
  active: number;
  /** Lanes that could start a task if a slot were free, in turn order. */
  waiting: Fifo<Lane>;
  /** In the scheduler's queue of groups waiting for a global slot. */
  queued: boolean;
}

/** Weight of the newest task time in a lane's moving average (about the last ten tasks count). */
const TASK_MS_WEIGHT = 0.2;

export function newLane(key: string, group: string, nowMs: number, remembered: SlowLane | undefined): Lane {
  return {
    key,
    group,
    concurrency: 1,
    active: 0,
    queue: [],
    keys: new OrderKeyGate(),
    waiting: false,
    lastStartedAtMs: nowMs,
    taskMs: remembered?.taskMs ?? null,
    peakActive: remembered?.capacity ?? 0,
    serialRunning: false,
  };
}

/** Folds a task that took `tookMs` into the lane's moving average. */
export function recordTaskTime(lane: Lane, tookMs: number): void {
  lane.taskMs = lane.taskMs === null ? tookMs : lane.taskMs + TASK_MS_WEIGHT * (tookMs - lane.taskMs);
}

/**
 * The tasks the lane may run at once now: one while a serial task runs or is next, else its
 * concurrency.
 */
export function limit(lane: Lane): number {
  return lane.serialRunning || lane.queue[0]?.serial ? 1 : lane.concurrency;
}

/** Has a task it could start now, were a slot free. */
export function startable(lane: Lane): boolean {
  return lane.queue.length > 0 && lane.active < limit(lane);
}

/** Queued in the lane: at the head of its queue or behind a busy key. */
export function queuedIn(lane: Lane): number {
  return lane.queue.length + lane.keys.waiting;
}

/** `entry` left the lane: the next task of its key, if any, joins the end of the lane's queue. */
export function releaseKey(lane: Lane, entry: Entry): void {
  const next = lane.keys.release(entry);
  if (next) lane.queue.push(next);
}

/**
 * Cannot start more: its own slots are full, it waits for its group (`waitsForGroup`: it waits for
 * a turn while its group is at its limit), or everything it has queued waits behind a running task
 * of the same order key.
 */
export function blocked(lane: Lane, waitsForGroup: boolean): boolean {
  return lane.active >= limit(lane) || waitsForGroup || (lane.queue.length === 0 && lane.keys.waiting > 0);
}

/**
 * The slots the lane actually runs: what its group leaves it while it waits for the group,
 * otherwise the most it has run at once (its maxConcurrency is only what it may run).
 */
export function capacity(lane: Lane, waitsForGroup = false): number {
  return waitsForGroup ? Math.max(1, lane.active) : Math.max(1, lane.peakActive);
}

/**
 * The pace of slow lanes: those whose tasks take `stallAfterMs` or more on average keep only what
 * they start within `stallAfterMs` (at least `keepWhenStalled`).
 */
export class LanePace {
  constructor(
    private readonly stallAfterMs: number,
    private readonly keepWhenStalled: number,
  ) {}

  isSlow(taskMs: number | null): taskMs is number {
    return taskMs !== null && taskMs >= this.stallAfterMs;
  }

  /** Tasks `capacity` slots start within `stallAfterMs` when each takes `taskMs`. */
  keep(capacity: number, taskMs: number): number {
    return Math.max(this.keepWhenStalled, Math.floor((capacity * this.stallAfterMs) / taskMs));
  }

  /**
   * What a slow lane running `active` of its `capacity` slots takes without shedding, its group
   * having `groupFree` slots free: the slots it can start now (its free ones, as far as its group
   * has free ones), plus what it keeps queued at the pace of the slots it can run (those it holds
   * and those it can start).
   */
  takes(capacity: number, active: number, groupFree: number, taskMs: number): number {
    const free = Math.max(0, Math.min(capacity - active, groupFree));
    return free + this.keep(Math.max(1, active + free), taskMs);
  }
}

/** How long an idle slow lane's pace is remembered. */
const SLOW_MEMORY_MS = 60_000;

/** What is remembered of a slow lane forgotten while idle. */
export interface SlowLane {
  group: string;
  taskMs: number;
  capacity: number;
  atMs: number;
}

/**
 * Slow lanes forgotten while idle, for a minute, so a backlog handed back to one meets its pace at
 * once instead of being queued whole until its first task ends (and shed again then).
 */
export class SlowLaneMemory {
  private readonly lanes = new Map<string, SlowLane>();

  get(key: string): SlowLane | undefined {
    return this.lanes.get(key);
  }

  /** Remembers `lane` if its tasks take `slowAfterMs` or more; forgets it otherwise. */
  remember(lane: Lane, slowAfterMs: number, nowMs: number): void {
    if (lane.taskMs !== null && lane.taskMs >= slowAfterMs) {
      this.lanes.set(lane.key, {
        group: lane.group,
        taskMs: lane.taskMs,
        capacity: capacity(lane),
        atMs: nowMs,
      });
    } else {
      this.lanes.delete(lane.key);
    }
  }

  forgetOld(nowMs: number): void {
    for (const [key, memory] of this.lanes) {
      if (nowMs - memory.atMs >= SLOW_MEMORY_MS) this.lanes.delete(key);
    }
  }
}
