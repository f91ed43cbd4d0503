import type { IHeaders } from 'kafkajs';

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
} as const;

export function encodeTask(task: DeliveryTask): Buffer {
  return Buffer.from(JSON.stringify(task));
}

export function decodeTask(value: Buffer | null): DeliveryTask {
  if (!value) throw new Error('delivery record has no value');
  const task = JSON.parse(value.toString()) as Partial<DeliveryTask>;
  for (const field of ['deliveryId', 'eventId', 'endpointId', 'tenantId', 'eventType'] as const) {
    if (typeof task[field] !== 'string') throw new Error(`delivery record lacks ${field}`);
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

export function attemptStateToHeaders(state: AttemptState): IHeaders {
  const headers: IHeaders = { [HEADER.attempt]: String(state.attempt) };
  if (state.firstAttemptAtMs !== null) headers[HEADER.firstAttemptAt] = String(state.firstAttemptAtMs);
  if (state.dueAtMs !== null) headers[HEADER.dueAt] = String(state.dueAtMs);
  if (state.lastError !== null) headers[HEADER.lastError] = state.lastError.slice(0, 500);
  if (state.lastStatus !== null) headers[HEADER.lastStatus] = String(state.lastStatus);
  if (state.origin !== null) headers[HEADER.origin] = state.origin;
  return headers;
}
