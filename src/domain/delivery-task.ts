import { createHash } from 'node:crypto';
import type { PlatformEvent } from './cloud-event';
import { orderingKeyOf } from './ordering-key';
import type { OutgoingRecord } from './records';

/** One event to be delivered to one endpoint: the value of a `hookstream.deliveries` record. */
export interface DeliveryTask {
  /** Unique per (event, endpoint, replay); the attempt log and dead letters refer to it. */
  deliveryId: string;
  /** The producer's event id: the `webhook-id` of every attempt and replay. */
  eventId: string;
  endpointId: string;
  tenantId: string;
  eventType: string;
  eventTime: string;
  data: unknown;
  /** When the event entered Kafka (ms epoch), for event-to-delivery latency. */
  publishedAtMs: number;
  /**
   * The event's ordering key (ordering-key.ts), absent when it has none. Part of the task's bytes,
   * so the task's MAC covers it: held, parked and retried copies keep the key they were fanned out with.
   */
  orderingKey?: string;
}

/** Where a task stands in its retry schedule; carried in Kafka headers of retry-tier records. */
export interface AttemptState {
  /** The attempt about to be made, 1-based. */
  attempt: number;
  firstAttemptAtMs: number | null;
  dueAtMs: number | null;
  lastError: string | null;
  lastStatus: number | null;
  origin: string | null;
}

export const HEADER = {
  attempt: 'hs-attempt',
  dueAt: 'hs-due-at',
  firstAttemptAt: 'hs-first-attempt-at',
  lastError: 'hs-last-error',
  lastStatus: 'hs-last-status',
  origin: 'hs-origin',
  reason: 'hs-reason',
  reasonDetail: 'hs-reason-detail',
  /** On a dead-letter copy that could not keep the whole original record. */
  truncated: 'hs-truncated',
  /**
   * On a dead-letter copy of bad input whose tenant could not be believed (dead-letter.ts,
   * `deadLetterOfRecord`): which check it failed. Its row is the operator's.
   */
  unattributed: 'hs-unattributed',
  /** On a record of the input topic that Hookstream writes for itself (endpoint-change-marker.ts). */
  control: 'hs-control',
  /** On a notification Hookstream publishes to the input topic: its MAC (notification-mark.ts). */
  notificationMark: 'hs-notification-mac',
} as const;

/**
 * `hs-origin` of a held delivery handed back to a retry tier: one probe while its endpoint is
 * failing, a batch once it takes deliveries, or one past its maximum age (to be dead-lettered).
 * One of these turned away again without an attempt has cycled (README decision 22).
 */
export const HELD_ORIGIN = { probe: 'held-probe', batch: 'held-batch', expired: 'held-expired' } as const;
export type HeldOrigin = (typeof HELD_ORIGIN)[keyof typeof HELD_ORIGIN];

/** Longest error text carried in a header (a receiver's error message is the receiver's to choose). */
export const MAX_HEADER_TEXT = 500;

/** The state of a first attempt: nothing tried yet. */
export const FIRST_ATTEMPT: AttemptState = {
  attempt: 1,
  firstAttemptAtMs: null,
  dueAtMs: null,
  lastError: null,
  lastStatus: null,
  origin: null,
};

export function encodeTask(task: DeliveryTask): Buffer {
  return Buffer.from(encodeTaskText(task));
}

/** The task's JSON text, before it is encoded to bytes (task-seal.ts encodes it once, sealed). */
export function encodeTaskText(task: DeliveryTask): string {
  return JSON.stringify(task);
}

export function decodeTask(value: Buffer | null): DeliveryTask {
  if (!value) throw new Error('delivery record has no value');
  const parsed = JSON.parse(value.toString()) as Partial<DeliveryTask> & { mac?: unknown };
  if (typeof parsed !== 'object' || parsed === null) throw new Error('delivery record is not an object');
  // The MAC (task-seal.ts) belongs to these bytes, not to the task: encoding the task again must not carry it.
  const { mac: _mac, ...task } = parsed;
  for (const field of ['deliveryId', 'eventId', 'endpointId', 'tenantId', 'eventType'] as const) {
    if (typeof task[field] !== 'string') throw new Error(`delivery record lacks ${field}`);
  }
  if (task.orderingKey !== undefined && typeof task.orderingKey !== 'string') {
    throw new Error('delivery record has an orderingKey that is not a string');
  }
  return task as DeliveryTask;
}

export function attemptStateFromHeaders(headers: Record<string, string>): AttemptState {
  const number = (name: string) => (headers[name] === undefined ? null : Number(headers[name]));
  return {
    attempt: number(HEADER.attempt) ?? 1,
    firstAttemptAtMs: number(HEADER.firstAttemptAt),
    dueAtMs: number(HEADER.dueAt),
    lastError: headers[HEADER.lastError] ?? null,
    lastStatus: number(HEADER.lastStatus),
    origin: headers[HEADER.origin] ?? null,
  };
}

export function attemptStateToHeaders(state: AttemptState): Record<string, string> {
  const headers: Record<string, string> = { [HEADER.attempt]: String(state.attempt) };
  if (state.firstAttemptAtMs !== null) headers[HEADER.firstAttemptAt] = String(state.firstAttemptAtMs);
  if (state.dueAtMs !== null) headers[HEADER.dueAt] = String(state.dueAtMs);
  if (state.lastError !== null) headers[HEADER.lastError] = state.lastError.slice(0, MAX_HEADER_TEXT);
  if (state.lastStatus !== null) headers[HEADER.lastStatus] = String(state.lastStatus);
  if (state.origin !== null) headers[HEADER.origin] = state.origin;
  return headers;
}

/**
 * The record that carries a task to a topic: keyed by endpoint id, so per-endpoint order holds.
 * `encoded`: the task's sealed bytes (task-seal.ts); an unsealed task would be dead-lettered.
 */
export function taskRecord(
  task: DeliveryTask,
  state: AttemptState | undefined,
  encoded: Buffer,
): OutgoingRecord {
  return {
    key: task.endpointId,
    value: encoded,
    ...(state ? { headers: attemptStateToHeaders(state) } : {}),
  };
}

/** Stable per (tenant, event, endpoint): a re-fan-out of the same event yields the same delivery id. */
export function deliveryIdFor(tenantId: string, eventId: string, endpointId: string): string {
  const hex = createHash('sha256').update(`${tenantId}\u0000${eventId}\u0000${endpointId}`).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/**
 * The task that delivers `event` to one endpoint. The fan-out's delivery id is derived from the
 * event (so fanning out again gives the same id); a replay passes a fresh one.
 */
export function deliveryTaskFor(
  event: PlatformEvent,
  endpointId: string,
  publishedAtMs: number,
  deliveryId = deliveryIdFor(event.tenantId, event.id, endpointId),
): DeliveryTask {
  const orderingKey = orderingKeyOf(event);
  return {
    deliveryId,
    eventId: event.id,
    endpointId,
    tenantId: event.tenantId,
    eventType: event.type,
    eventTime: event.time,
    data: event.data,
    publishedAtMs,
    ...(orderingKey === undefined ? {} : { orderingKey }),
  };
}
