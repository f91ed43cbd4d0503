import { RESERVED_TYPE_PREFIX } from './subscription-matcher';

/**
 * Operational notifications: Hookstream's own events about a tenant's endpoints, published to the
 * tenant like any platform event (docs/notifications.md has the payloads). Pure: what a burst of
 * signals about one endpoint becomes (a tally), and when a tally may go out (one per endpoint and
 * type per interval, README decision 49).
 */

export const NOTIFICATION_TYPE = {
  disabled: 'hookstream.endpoint.disabled',
  failing: 'hookstream.endpoint.failing',
  deadLetter: 'hookstream.dead_letter.created',
} as const;

export type NotificationType = (typeof NOTIFICATION_TYPE)[keyof typeof NOTIFICATION_TYPE];

/** The types that are sent at most once per interval per endpoint, counting what happened between. */
export type TalliedType = typeof NOTIFICATION_TYPE.failing | typeof NOTIFICATION_TYPE.deadLetter;

/** The CloudEvents `source` of every notification. */
export const NOTIFICATION_SOURCE = 'hookstream';

/** Whether an event type is one of Hookstream's own (never counted or notified about: no loops). */
export function isHookstreamType(eventType: string): boolean {
  return eventType.startsWith(RESERVED_TYPE_PREFIX);
}

/**
 * A notification is about the endpoint named by its `subject`: that endpoint never receives it
 * (it is disabled or failing, and a notification it cannot take would only add to its failures).
 */
export function isAboutEndpoint(
  event: { type: string; source: string; subject?: string },
  endpointId: string,
): boolean {
  return event.source === NOTIFICATION_SOURCE && isHookstreamType(event.type) && event.subject === endpointId;
}

/** One signal about an endpoint: a dead letter, or a failed attempt with its circuit open. */
export interface Signal {
  atMs: number;
  /** The event the signal came from (a dead letter's event id); absent for failures. */
  eventId?: string;
  /** Why (a dead letter's reason). */
  reason?: string;
  /** The endpoint's state at that moment (failures). */
  consecutiveFailures?: number;
  failingSinceMs?: number;
  lastStatus?: number | null;
  lastError?: string | null;
}

/** What the signals about one endpoint and type add up to since its last notification. */
export interface Tally {
  count: number;
  firstAtMs: number;
  lastAtMs: number;
  firstEventId: string | null;
  lastEventId: string | null;
  /** Signals per reason. */
  reasons: Record<string, number>;
  /** The latest failure's figures. */
  consecutiveFailures: number | null;
  failingSinceMs: number | null;
  lastStatus: number | null;
  lastError: string | null;
}

export function tallyOf(signal: Signal): Tally {
  return {
    count: 1,
    firstAtMs: signal.atMs,
    lastAtMs: signal.atMs,
    firstEventId: signal.eventId ?? null,
    lastEventId: signal.eventId ?? null,
    reasons: signal.reason === undefined ? {} : { [signal.reason]: 1 },
    consecutiveFailures: signal.consecutiveFailures ?? null,
    failingSinceMs: signal.failingSinceMs ?? null,
    lastStatus: signal.lastStatus ?? null,
    lastError: signal.lastError ?? null,
  };
}

/** `earlier` then `later`: counts add up, the first comes from `earlier`, the latest from `later`. */
export function mergeTallies(earlier: Tally | null, later: Tally | null): Tally | null {
  if (earlier === null) return later;
  if (later === null) return earlier;
  const reasons = { ...earlier.reasons };
  for (const [reason, count] of Object.entries(later.reasons))
    reasons[reason] = (reasons[reason] ?? 0) + count;
  return {
    count: earlier.count + later.count,
    firstAtMs: Math.min(earlier.firstAtMs, later.firstAtMs),
    lastAtMs: Math.max(earlier.lastAtMs, later.lastAtMs),
    firstEventId: earlier.firstEventId ?? later.firstEventId,
    lastEventId: later.lastEventId ?? earlier.lastEventId,
    reasons,
    consecutiveFailures: later.consecutiveFailures ?? earlier.consecutiveFailures,
    failingSinceMs: earlier.failingSinceMs ?? later.failingSinceMs,
    lastStatus: later.consecutiveFailures === null ? earlier.lastStatus : later.lastStatus,
    lastError: later.consecutiveFailures === null ? earlier.lastError : later.lastError,
  };
}

/** The stored state of one endpoint and type: when it was last notified, what has come since. */
export interface NotificationWindow {
  sentAtMs: number | null;
  pending: Tally | null;
}

export interface WindowDecision {
  /** The tally to notify now, or null (nothing pending, or the interval has not passed). */
  send: Tally | null;
  next: NotificationWindow;
}

/**
 * Adds `added` to what is pending and sends it all if the last notification is at least
 * `intervalMs` old (or there was none): a burst yields its first notification at once and then at
 * most one per interval, each counting everything since the one before.
 */
export function decideWindow(
  window: NotificationWindow,
  added: Tally | null,
  nowMs: number,
  intervalMs: number,
): WindowDecision {
  const pending = mergeTallies(window.pending, added);
  if (pending === null) return { send: null, next: window };
  const due = window.sentAtMs === null || nowMs - window.sentAtMs >= intervalMs;
  if (!due) return { send: null, next: { sentAtMs: window.sentAtMs, pending } };
  return { send: pending, next: { sentAtMs: nowMs, pending: null } };
}

/**
 * Signals gathered in memory between flushes, one tally per key, so the hot path adds to a map and
 * only a flush touches PostgreSQL. Bounded by the endpoints with something to report.
 */
export class TallyBook<K> {
  private readonly tallies = new Map<K, Tally>();

  add(key: K, tally: Tally): void {
    this.tallies.set(key, mergeTallies(this.tallies.get(key) ?? null, tally)!);
  }

  /** Everything gathered, emptied. */
  drain(): Map<K, Tally> {
    const drained = new Map(this.tallies);
    this.tallies.clear();
    return drained;
  }

  /** Puts a tally back (its flush failed) before whatever came in meanwhile. */
  restore(key: K, tally: Tally): void {
    this.tallies.set(key, mergeTallies(tally, this.tallies.get(key) ?? null)!);
  }

  get size(): number {
    return this.tallies.size;
  }
}

/**
 * A notification's event id: the same for the same endpoint, type and moment, so a publish retried
 * after a crash carries the id the fan-out and the receivers already deduplicate by.
 */
export function notificationEventId(type: NotificationType, endpointId: string, atMs: number): string {
  return `${type}.${endpointId}.${atMs}`;
}

export interface EndpointRef {
  id: string;
  url: string | null;
}

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

/** `hookstream.endpoint.disabled` data. */
export function disabledData(endpoint: EndpointRef, reason: string, disabledAtMs: number) {
  return { endpoint, reason, disabledAt: iso(disabledAtMs) };
}

/** `hookstream.endpoint.failing` data: the latest state, and how many failures since the last one. */
export function failingData(endpoint: EndpointRef, tally: Tally, intervalMs: number) {
  return {
    endpoint,
    failingSince: iso(tally.failingSinceMs),
    consecutiveFailures: tally.consecutiveFailures,
    lastStatus: tally.lastStatus,
    lastError: tally.lastError,
    failuresSinceLastNotification: tally.count,
    intervalSeconds: intervalMs / 1000,
  };
}

/** `hookstream.dead_letter.created` data: the dead letters since the last one, counted. */
export function deadLetterData(endpoint: EndpointRef, tally: Tally, intervalMs: number) {
  return {
    endpoint,
    count: tally.count,
    reasons: tally.reasons,
    firstEventId: tally.firstEventId,
    lastEventId: tally.lastEventId,
    firstAt: iso(tally.firstAtMs),
    lastAt: iso(tally.lastAtMs),
    intervalSeconds: intervalMs / 1000,
  };
}
