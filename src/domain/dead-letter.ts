import type { ParseFailureReason } from './cloud-event';
import {
  attemptStateToHeaders,
  decodeTask,
  HEADER,
  MAX_HEADER_TEXT,
  type AttemptState,
  type DeliveryTask,
} from './delivery-task';
import { positionOf, type ConsumedRecord, type OutgoingRecord } from './records';
import { UnauthenticatedTask } from './task-seal';

/**
 * Why a record is in the dead-letter topic: its `hs-reason` header and the `reason` of its row.
 * The one list of reasons; nothing else may be written there.
 */
export type DeadLetterReason =
  /** A delivery whose retries are spent. */
  | 'attempts_exhausted'
  /** A delivery older than HOOKSTREAM_MAX_ATTEMPT_AGE when its next attempt would be due. */
  | 'max_age_exceeded'
  /** The endpoint is disabled (by its tenant, by a 410 Gone, or after failing for days). */
  | 'endpoint_disabled'
  /** The endpoint's row cannot be used (its signing secret does not decrypt with the configured keys). */
  | 'endpoint_unreadable'
  /** A record of Hookstream's own delivery or retry topics that does not decode. */
  | 'invalid_delivery_record'
  /**
   * A delivery task without a MAC that verifies (src/domain/task-seal.ts): not written by
   * Hookstream, or altered since. Never attempted, and never replayable (docs/security.md).
   */
  | 'task_unauthenticated'
  /** An input event whose `tenantid` is not its record's key (the tenant id every producer keys by). */
  | 'tenant_key_mismatch'
  /**
   * An input event whose tenant is not on its topic's list (HOOKSTREAM_INPUT_TOPIC_TENANTS): its
   * producing principal, bound to the topic by ACLs, may not speak for that tenant.
   */
  | 'tenant_not_allowed_on_topic'
  /**
   * An input event of a `hookstream.*` type without Hookstream's notification mark
   * (notification-mark.ts): a forged notification, never delivered (docs/security.md).
   */
  | 'reserved_type'
  /** An input event whose tenant does not exist. */
  | 'unknown_tenant'
  /** An input event whose data fails its type's schema in the event catalogue (validation `reject`). */
  | 'schema_mismatch'
  /** An input event that is not a valid CloudEvent (see ParseFailureReason). */
  | ParseFailureReason
  /**
   * A record Hookstream failed to handle for a reason that is not transient (a bug): kept here,
   * where it can be looked at and replayed, instead of holding up its partition for good.
   */
  | 'handler_failed';

/** Most bytes of the original value a dead-letter copy keeps (the broker's limit is about 1 MiB). */
export const DEAD_LETTER_VALUE_LIMIT = 256 * 1024;
/** Most bytes of original headers a dead-letter copy keeps. */
export const DEAD_LETTER_HEADERS_LIMIT = 16 * 1024;
/** Most bytes of the original key a dead-letter copy keeps. */
export const DEAD_LETTER_KEY_LIMIT = 16 * 1024;

/**
 * The dead-letter record of a delivery given up on. `state` is where its schedule stood; a delivery
 * dead-lettered for a disabled endpoint before any attempt failed counts the attempts it made.
 */
export function deadLetterOfTask(
  task: DeliveryTask,
  state: AttemptState,
  reason: DeadLetterReason,
  detail: string,
  encoded: Buffer,
): OutgoingRecord {
  const attempts =
    reason === 'endpoint_disabled' && state.lastError === null ? state.attempt - 1 : state.attempt;
  return {
    key: task.endpointId,
    value: encoded,
    headers: {
      ...attemptStateToHeaders({ ...state, attempt: attempts }),
      [HEADER.reason]: reason,
      [HEADER.reasonDetail]: detail.slice(0, MAX_HEADER_TEXT),
    },
  };
}

/** The reasons that say an input event's `tenantid` is not to be believed (see UNATTRIBUTED_REASONS). */
export type UnattributedReason = 'tenant_key_mismatch' | 'tenant_not_allowed_on_topic' | 'reserved_type';

/**
 * The dead-letter copy of a record that could not be used as it is (bad input, an undecodable
 * task): its key, value and headers as they arrived, plus the reason and where it was read.
 * `unattributed`: bad input refused before its tenant was checked, whose tenant failed that check
 * (`hs-unattributed`): its row is the operator's whatever the reason. A copy
 * that would not fit the broker's limit (the record was near it, or its key or headers were huge)
 * keeps the first {@link DEAD_LETTER_VALUE_LIMIT} bytes of the value and the first
 * {@link DEAD_LETTER_KEY_LIMIT} of the key, drops the original headers, and says so in
 * `hs-truncated`: writing it whole would fail for good and stall the partition.
 */
export function deadLetterOfRecord(
  record: ConsumedRecord,
  reason: DeadLetterReason,
  detail: string,
  unattributed?: UnattributedReason,
): OutgoingRecord {
  const original = record.rawHeaders ?? record.headers;
  const truncated: string[] = [];
  const value = keptValue(record.value);
  if (value !== record.value) {
    truncated.push(`value ${record.value?.length} bytes, first ${DEAD_LETTER_VALUE_LIMIT} kept`);
  }
  const headersBytes = headerBytes(original);
  if (headersBytes > DEAD_LETTER_HEADERS_LIMIT) truncated.push(`headers ${headersBytes} bytes, dropped`);
  let key = record.rawKey ?? record.key;
  const keyBytes = key === null ? 0 : Buffer.byteLength(key);
  if (key !== null && keyBytes > DEAD_LETTER_KEY_LIMIT) {
    truncated.push(`key ${keyBytes} bytes, first ${DEAD_LETTER_KEY_LIMIT} kept`);
    key = Buffer.from(key).subarray(0, DEAD_LETTER_KEY_LIMIT);
  }
  return {
    key,
    value,
    headers: {
      ...(headersBytes > DEAD_LETTER_HEADERS_LIMIT ? {} : original),
      [HEADER.reason]: reason,
      [HEADER.reasonDetail]: detail.slice(0, MAX_HEADER_TEXT),
      [HEADER.origin]: positionOf(record),
      ...(truncated.length > 0 ? { [HEADER.truncated]: truncated.join('; ') } : {}),
      ...(unattributed ? { [HEADER.unattributed]: unattributed } : {}),
    },
  };
}

function keptValue(value: Buffer | null): Buffer | null {
  return value !== null && value.length > DEAD_LETTER_VALUE_LIMIT
    ? value.subarray(0, DEAD_LETTER_VALUE_LIMIT)
    : value;
}

/**
 * The tenant the row of this record's dead-letter copy would be filed under (toDeadLetterRow),
 * read as the mirror will read it: from the copy, which may have lost the value's tail or the
 * headers. Null when the row would have no tenant.
 */
export function claimedTenantOfDeadLetter(record: ConsumedRecord): string | null {
  const original = record.rawHeaders ?? record.headers;
  const headers = headerBytes(original) > DEAD_LETTER_HEADERS_LIMIT ? {} : record.headers;
  const { tenantId } = rawEventAttributes(keptValue(record.value), headers);
  return tenantId !== null && UUID.test(tenantId) ? tenantId : null;
}

function headerBytes(headers: Record<string, unknown>): number {
  let total = 0;
  for (const [name, value] of Object.entries(headers)) {
    total += name.length;
    for (const part of Array.isArray(value) ? value : [value]) {
      if (typeof part === 'string') total += Buffer.byteLength(part);
      else if (Buffer.isBuffer(part)) total += part.length;
    }
  }
  return total;
}

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
 * Reasons that say the event's `tenantid` is not to be believed: the record's key names another
 * tenant, or its topic may not carry that tenant, or it poses as Hookstream's own notification.
 * Their rows are the operator's (no tenant), so a producer's mistake or a principal speaking for a
 * tenant it may not cannot put rows in that tenant's dead-letter list, and the tenant is not shown
 * the other tenant's id in the detail (nor a forged notification's text).
 * Bad input that failed the same checks before it could be parsed says so in `hs-unattributed`.
 */
const UNATTRIBUTED_REASONS: ReadonlySet<string> = new Set<UnattributedReason>([
  'tenant_key_mismatch',
  'tenant_not_allowed_on_topic',
  'reserved_type',
]);

/**
 * Turns a DLQ record into a row. Total: any bytes and headers give a row, because a record the
 * mirror cannot store would be handed back forever and stall its partition. `openTask` decodes a
 * task (the service verifies its MAC there, TaskSeal.open): one that is not authentic is kept
 * for the operator, with no tenant and no task, so no tenant sees it and nobody can replay it
 * into a task Hookstream would sign.
 */
export function toDeadLetterRow(
  record: ConsumedRecord,
  nowMs: number = Date.now(),
  openTask: (value: Buffer | null) => DeliveryTask = decodeTask,
): DeadLetterRow {
  const headers = record.headers;
  const common = {
    reason: text(headers[HEADER.reason], MAX_ID) ?? 'unknown',
    lastError: text(headers[HEADER.lastError] ?? headers[HEADER.reasonDetail], MAX_TEXT),
    attempts: attemptsFrom(headers[HEADER.attempt]),
    dlqTopic: record.topic,
    dlqPartition: record.partition,
    dlqOffset: record.offset,
    // The time the record was dead-lettered, not the time the mirror caught up with it.
    createdAt: new Date(isDate(record.timestampMs) && record.timestampMs > 0 ? record.timestampMs : nowMs),
  };
  const task = deliveryTaskOf(record.value, openTask);
  if (task === 'unauthenticated' || common.reason === 'task_unauthenticated') {
    const raw = rawEventAttributes(record.value, headers);
    return {
      ...common,
      tenantId: null,
      endpointId: null,
      deliveryId: null,
      eventId: text(raw.id, MAX_ID),
      eventType: text(raw.type, MAX_ID),
      task: null,
    };
  }
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
  // A forged hs-unattributed on bad input only gives the operator a row its tenant would have had.
  const attributed = !UNATTRIBUTED_REASONS.has(common.reason) && headers[HEADER.unattributed] === undefined;
  return {
    ...common,
    tenantId: attributed && raw.tenantId !== null && UUID.test(raw.tenantId) ? raw.tenantId : null,
    endpointId: null,
    deliveryId: null,
    eventId: text(raw.id, MAX_ID),
    eventType: text(raw.type, MAX_ID),
    task: null,
  };
}

/** A delivery task whose ids fit the table's uuid columns, or null; or that it is a task without a valid MAC. */
function deliveryTaskOf(
  value: Buffer | null,
  openTask: (value: Buffer | null) => DeliveryTask,
): DeliveryTask | null | 'unauthenticated' {
  let task: DeliveryTask;
  try {
    task = openTask(value);
  } catch (error) {
    return error instanceof UnauthenticatedTask ? 'unauthenticated' : null;
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

/** Whether a Date can hold `ms` (the broker accepts any int64 timestamp). */
function isDate(ms: number): boolean {
  return Number.isFinite(ms) && !Number.isNaN(new Date(ms).getTime());
}
