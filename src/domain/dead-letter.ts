import { decodeTask, HEADER, type DeliveryTask } from './delivery-task';
import type { ConsumedRecord } from '../kafka/watermark-consumer';

/** What the mirror stores for one record of the dead-letter topic. */
export interface DeadLetterRow {
  tenantId: string | null;
  endpointId: string | null;
  deliveryId: string | null;
  eventId: string | null;
  eventType: string | null;
  reason: string;
  lastError: string | null;
  attempts: number;
  dlqTopic: string;
  dlqPartition: number;
  dlqOffset: string;
  /** The delivery task to replay; null for bad input (nothing to deliver). */
  task: DeliveryTask | null;
  createdAt: Date;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const MAX_TEXT = 1_000;
const MAX_ID = 256;
const MAX_ATTEMPTS = 2_147_483_647;

/**
 * Turns a DLQ record into a row. Total: any bytes and headers give a row, because a record the
 * mirror cannot store would be handed back forever and stall its partition.
 */
export function toDeadLetterRow(record: ConsumedRecord, nowMs: number = Date.now()): DeadLetterRow {
  const headers = record.headers;
  const common = {
    reason: text(headers[HEADER.reason], MAX_ID) ?? 'unknown',
    lastError: text(headers[HEADER.lastError] ?? headers[HEADER.reasonDetail], MAX_TEXT),
    attempts: attemptsFrom(headers[HEADER.attempt]),
    dlqTopic: record.topic,
    dlqPartition: record.partition,
    dlqOffset: record.offset,
    // The time the record was dead-lettered, not the time the mirror caught up with it.
    createdAt: new Date(
      Number.isFinite(record.timestampMs) && record.timestampMs > 0 ? record.timestampMs : nowMs,
    ),
  };
  const task = deliveryTaskOf(record.value);
  if (task) {
    return {
      ...common,
      tenantId: task.tenantId,
      endpointId: task.endpointId,
      deliveryId: task.deliveryId,
      eventId: text(task.eventId, MAX_ID),
      eventType: text(task.eventType, MAX_ID),
      task,
    };
  }
  const raw = rawEventAttributes(record.value, headers);
  return {
    ...common,
    tenantId: raw.tenantId !== null && UUID.test(raw.tenantId) ? raw.tenantId : null,
    endpointId: null,
    deliveryId: null,
    eventId: text(raw.id, MAX_ID),
    eventType: text(raw.type, MAX_ID),
    task: null,
  };
}

/** A delivery task whose ids fit the table's uuid columns, or null. */
function deliveryTaskOf(value: Buffer | null): DeliveryTask | null {
  let task: DeliveryTask;
  try {
    task = decodeTask(value);
  } catch {
    return null;
  }
  const idsValid = [task.tenantId, task.endpointId, task.deliveryId].every((id) => UUID.test(id));
  return idsValid ? task : null;
}

/** Best effort: the tenant, id and type a bad event carried (structured JSON or binary `ce_*` headers). */
function rawEventAttributes(
  value: Buffer | null,
  headers: Record<string, string>,
): { tenantId: string | null; id: string | null; type: string | null } {
  let json: Record<string, unknown> = {};
  try {
    const parsed: unknown = value ? JSON.parse(value.toString('utf8')) : null;
    if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) {
      json = parsed as Record<string, unknown>;
    }
  } catch {
    // Not JSON: only the headers can say anything.
  }
  const attribute = (...candidates: unknown[]): string | null =>
    (candidates.find((candidate) => typeof candidate === 'string' && candidate !== '') as
      string | undefined) ?? null;
  const own = (name: string): unknown => (Object.hasOwn(json, name) ? json[name] : undefined);
  return {
    // `tenantId` too: a garbled delivery record (invalid_delivery_record) uses the task's field names.
    tenantId: attribute(own('tenantid'), headers.ce_tenantid, own('tenantId')),
    id: attribute(own('id'), headers.ce_id, own('eventId')),
    type: attribute(own('type'), headers.ce_type, own('eventType')),
  };
}

function attemptsFrom(header: string | undefined): number {
  const value = Number(header);
  return Number.isInteger(value) && value >= 0 ? Math.min(value, MAX_ATTEMPTS) : 0;
}

/** PostgreSQL text cannot hold NUL; cut to a bound so a hostile header cannot bloat the table. */
function text(value: string | undefined | null, max: number): string | null {
  if (value === undefined || value === null) return null;
  const clean = value.includes('\u0000') ? value.split('\u0000').join('') : value;
  return clean.slice(0, max);
}
