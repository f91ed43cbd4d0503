import { isUtf8 } from 'node:buffer';
import {
  ATTRIBUTE_RULES,
  attributeTextProblem,
  EVENT_ID_PATTERN,
  EVENT_TYPE_PATTERN,
  jsonValueProblem,
  MAX_ATTRIBUTE_LENGTH,
  MAX_DATA_DEPTH,
  TENANT_ID_PATTERN,
} from './event-contract';
import type { RecordHeaders } from './records';

/**
 * CloudEvents 1.0 over Kafka (structured JSON mode and binary `ce_*` header mode) into the
 * platform's event. Pure and total: any bytes and headers give a result, never an exception,
 * because a bad message must go to the dead-letter topic instead of stalling its partition.
 */

export interface PlatformEvent {
  id: string;
  type: string;
  source: string;
  /** What the event is about within its source (CloudEvents `subject`), when given. */
  subject?: string;
  /**
   * The CloudEvents partitioning extension (`partitionkey`), when given: the key deliveries of this
   * event are ordered by (ordering-key.ts).
   */
  partitionKey?: string;
  /** RFC 3339 UTC, normalised by `Date.prototype.toISOString`. */
  time: string;
  tenantId: string;
  data: unknown;
  specversion: '1.0';
}

export type ParseFailureReason =
  | 'invalid_json'
  | 'missing_attribute'
  | 'too_large'
  | 'unsupported_specversion'
  | 'unsupported_content_type'
  | 'invalid_attribute';

export type ParseResult =
  { ok: true; event: PlatformEvent } | { ok: false; reason: ParseFailureReason; detail: string };

export { MAX_ATTRIBUTE_LENGTH, MAX_DATA_DEPTH } from './event-contract';
const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|([+-])(\d{2}):(\d{2}))$/;
const MIN_TIME_MS = -62_167_219_200_000; // 0000-01-01T00:00:00.000Z
const MAX_TIME_MS = Date.UTC(9999, 11, 31, 23, 59, 59, 999);
const STRUCTURED_CONTENT_TYPES = new Set(['application/cloudevents+json', 'application/json']);
const REQUIRED_STRING_ATTRIBUTES = ['id', 'source', 'type', 'tenantid'] as const;
const OPTIONAL_STRING_ATTRIBUTES = ['subject', 'partitionkey'] as const;
const utf8 = new TextDecoder('utf-8', { fatal: true });

type Attributes = Record<string, unknown>;
type Failure = Extract<ParseResult, { ok: false }>;

function fail(reason: ParseFailureReason, detail: string): Failure {
  return { ok: false, reason, detail };
}

/** Media type without parameters, lower-cased: 'Application/JSON; charset=utf-8' -> 'application/json'. */
function mediaType(contentType: string | undefined): string | undefined {
  return contentType?.split(';', 1)[0].trim().toLowerCase();
}

function isJsonMediaType(type: string | undefined): boolean {
  return type === 'application/json' || type === 'text/json' || (type?.endsWith('+json') ?? false);
}

/**
 * Date.UTC for any year: Date.UTC maps years 0-99 to 1900-1999, and 1900 is not a leap year where
 * year 0 is; setUTCFullYear takes the year as it is.
 */
function utcMs(
  year: number,
  monthIndex: number,
  day: number,
  hour = 0,
  minute = 0,
  second = 0,
  ms = 0,
): number {
  const date = new Date(0);
  date.setUTCFullYear(year, monthIndex, day);
  date.setUTCHours(hour, minute, second, ms);
  return date.getTime();
}

/** Epoch ms of a valid RFC 3339 date-time, or null. Stricter than Date.parse, which accepts almost anything. */
export function parseRfc3339(value: string): number | null {
  const m = RFC3339.exec(value);
  if (m === null) return null;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number);
  if (month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 60) return null;
  if (day > new Date(utcMs(year, month, 0)).getUTCDate()) return null;
  let offsetMinutes = 0;
  if (m[9] !== undefined) {
    const offsetHours = Number(m[10]);
    const offsetMins = Number(m[11]);
    if (offsetHours > 23 || offsetMins > 59) return null;
    offsetMinutes = (m[9] === '-' ? -1 : 1) * (offsetHours * 60 + offsetMins);
  }
  const fractionMs = m[7] === undefined ? 0 : Math.floor(Number(`0${m[7]}`) * 1000);
  // A leap second (:60) is folded into the next second; Date cannot represent it.
  const result = utcMs(year, month - 1, day, hour, minute, second, fractionMs) - offsetMinutes * 60_000;
  // Only times that toISOString renders as RFC 3339 again (years 0000-9999).
  return result >= MIN_TIME_MS && result <= MAX_TIME_MS ? result : null;
}

function validateAttributes(attributes: Attributes, fallbackTimeIso: string | undefined): ParseResult {
  const specversion = attributes.specversion;
  if (specversion === undefined || specversion === null) {
    return fail('missing_attribute', "required attribute 'specversion' is missing");
  }
  if (specversion !== '1.0') {
    return fail('unsupported_specversion', `specversion must be "1.0", got ${describe(specversion)}`);
  }
  const strings: Partial<Record<(typeof REQUIRED_STRING_ATTRIBUTES)[number], string>> = {};
  for (const name of REQUIRED_STRING_ATTRIBUTES) {
    const value = attributes[name];
    if (value === undefined || value === null) {
      return fail('missing_attribute', `required attribute '${name}' is missing`);
    }
    if (typeof value !== 'string' || value.length === 0) {
      return fail('invalid_attribute', `attribute '${name}' must be a non-empty string`);
    }
    if (value.length > MAX_ATTRIBUTE_LENGTH) {
      return fail(
        'invalid_attribute',
        `attribute '${name}' is longer than ${MAX_ATTRIBUTE_LENGTH} characters`,
      );
    }
    strings[name] = value;
  }
  const { id, source, type, tenantid } = strings as Record<
    (typeof REQUIRED_STRING_ATTRIBUTES)[number],
    string
  >;
  if (!EVENT_ID_PATTERN.test(id)) return fail('invalid_attribute', `attribute 'id' ${ATTRIBUTE_RULES.id}`);
  if (!EVENT_TYPE_PATTERN.test(type)) {
    return fail('invalid_attribute', `attribute 'type' ${ATTRIBUTE_RULES.type}`);
  }
  for (const [name, value] of [
    ['source', source],
    ...OPTIONAL_STRING_ATTRIBUTES.map((optional) => [optional, attributes[optional]] as const),
  ] as const) {
    if (value === undefined || value === null) continue;
    const problem = typeof value === 'string' ? attributeTextProblem(value) : 'must be a string';
    if (problem !== null) return fail('invalid_attribute', `attribute '${name}' ${problem}`);
  }

  const dataProblem = jsonValueProblem(attributes.data, MAX_DATA_DEPTH);
  if (dataProblem !== null) return fail('invalid_attribute', `attribute 'data' ${dataProblem}`);

  const rawTime = attributes.time ?? fallbackTimeIso;
  if (rawTime === undefined || rawTime === null) {
    return fail('missing_attribute', "attribute 'time' is missing and no message timestamp was given");
  }
  const timeMs = typeof rawTime === 'string' ? parseRfc3339(rawTime) : null;
  if (timeMs === null) {
    return fail('invalid_attribute', `attribute 'time' ${ATTRIBUTE_RULES.time}`);
  }

  return {
    ok: true,
    event: {
      specversion: '1.0',
      id,
      source,
      type,
      tenantId: canonicalTenantId(tenantid),
      time: new Date(timeMs).toISOString(),
      data: attributes.data,
      ...(typeof attributes.subject === 'string' ? { subject: attributes.subject } : {}),
      ...(typeof attributes.partitionkey === 'string' ? { partitionKey: attributes.partitionkey } : {}),
    },
  };
}

/**
 * Tenant ids are UUIDs, which RFC 4122 makes case-insensitive: the platform's form is lower case
 * (as PostgreSQL writes them), so an id in upper case names the same tenant. Anything else is kept
 * as sent, to be refused as an unknown tenant.
 */
function canonicalTenantId(tenantid: string): string {
  return TENANT_ID_PATTERN.test(tenantid) ? tenantid.toLowerCase() : tenantid;
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.slice(0, 32));
  return typeof value;
}

function isPlainObject(value: unknown): value is Attributes {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function decodeJson(value: Buffer): { ok: true; json: unknown } | Failure {
  let text: string;
  try {
    text = utf8.decode(value);
  } catch {
    return fail('invalid_json', 'message value is not valid UTF-8');
  }
  try {
    return { ok: true, json: JSON.parse(text) as unknown };
  } catch (error) {
    return fail('invalid_json', `message value is not valid JSON: ${(error as Error).message}`);
  }
}

function parseStructured(value: Buffer | null, fallbackTimeIso: string | undefined): ParseResult {
  if (value === null || value.length === 0) return fail('invalid_json', 'message value is empty');
  const decoded = decodeJson(value);
  if (!decoded.ok) return decoded;
  if (!isPlainObject(decoded.json)) return fail('invalid_json', 'message value is not a JSON object');
  const event = decoded.json;
  // Own properties only: a JSON key like "__proto__" or "constructor" must not reach the prototype chain.
  const attributes: Attributes = {};
  for (const name of ['specversion', ...REQUIRED_STRING_ATTRIBUTES, ...OPTIONAL_STRING_ATTRIBUTES, 'time']) {
    if (Object.hasOwn(event, name)) attributes[name] = event[name];
  }
  const hasData = Object.hasOwn(event, 'data');
  const hasBase64 = Object.hasOwn(event, 'data_base64');
  if (hasData && hasBase64) {
    return fail('invalid_attribute', "an event must not carry both 'data' and 'data_base64'");
  }
  if (hasBase64 && typeof event.data_base64 !== 'string') {
    return fail('invalid_attribute', "attribute 'data_base64' must be a base64 string");
  }
  // Binary payloads stay base64, as in binary mode: the webhook body is JSON either way.
  attributes.data = hasData ? event.data : hasBase64 ? event.data_base64 : null;
  return validateAttributes(attributes, fallbackTimeIso);
}

/** A header's text: undefined when absent, null when its bytes are not UTF-8. */
type HeaderText = (name: string) => string | null | undefined;

function parseBinary(
  value: Buffer | null,
  header: HeaderText,
  fallbackTimeIso: string | undefined,
): ParseResult {
  const attributes: Attributes = {};
  for (const name of ['specversion', ...REQUIRED_STRING_ATTRIBUTES, ...OPTIONAL_STRING_ATTRIBUTES, 'time']) {
    const text = header(`ce_${name}`);
    // Decoded with U+FFFD for the bad bytes, it would be delivered as text the producer never sent.
    if (text === null) {
      return fail('invalid_attribute', `attribute '${name}' (header ce_${name}) is not valid UTF-8`);
    }
    attributes[name] = text;
  }
  if (value === null || value.length === 0) {
    attributes.data = null;
  } else if (isJsonMediaType(mediaType(header('content-type') ?? undefined))) {
    const decoded = decodeJson(value);
    if (!decoded.ok) return decoded;
    attributes.data = decoded.json;
  } else {
    attributes.data = value.toString('base64');
  }
  return validateAttributes(attributes, fallbackTimeIso);
}

/**
 * @param value the Kafka message value
 * @param headers Kafka headers as they arrived (bytes or text; the last of a repeated one counts);
 *   names are matched case-insensitively
 * @param maxBytes the largest accepted message value
 * @param fallbackTimeIso the Kafka message time, used when the event has no `time` attribute
 */
export function parseCloudEvent(
  value: Buffer | null,
  headers: Readonly<RecordHeaders>,
  maxBytes: number,
  fallbackTimeIso?: string,
): ParseResult {
  try {
    if (value !== null && value.length > maxBytes) {
      return fail('too_large', `message value is ${value.length} bytes, over the limit of ${maxBytes}`);
    }
    const byName = new Map<string, string | Buffer>();
    for (const [name, headerValue] of Object.entries(headers)) {
      const last = Array.isArray(headerValue) ? headerValue[headerValue.length - 1] : headerValue;
      if (typeof last === 'string' || Buffer.isBuffer(last)) byName.set(name.toLowerCase(), last);
    }
    const header: HeaderText = (name) => {
      const raw = byName.get(name);
      if (raw === undefined || typeof raw === 'string') return raw;
      return isUtf8(raw) ? raw.toString('utf8') : null;
    };

    const rawContentType = header('content-type');
    if (rawContentType === null) {
      return fail('unsupported_content_type', 'header content-type is not valid UTF-8');
    }
    const contentType = mediaType(rawContentType);
    // Kafka protocol binding: a CloudEvents content type means structured mode, whatever other headers say.
    if (header('ce_specversion') !== undefined && contentType !== 'application/cloudevents+json') {
      return parseBinary(value, header, fallbackTimeIso);
    }

    if (contentType !== undefined && contentType !== '' && !STRUCTURED_CONTENT_TYPES.has(contentType)) {
      return fail(
        'unsupported_content_type',
        `content-type ${JSON.stringify(contentType.slice(0, 64))} is neither structured CloudEvents JSON nor binary mode (no ce_specversion header)`,
      );
    }
    return parseStructured(value, fallbackTimeIso);
  } catch (error) {
    // Unreachable by design; kept so a bug here dead-letters one message instead of stalling a partition.
    return fail(
      'invalid_json',
      `message could not be parsed: ${error instanceof Error ? error.message : 'unknown error'}`,
    );
  }
}

/**
 * The event's `data` as every delivery of it carries it (`JSON.stringify`'s text, as bytes; null
 * without data), or a `too_large` failure when that is over `maxBytes`. The text can be longer than
 * what the producer sent (`9e20` is written out as 21 digits), and a task past the broker's record
 * limit could never be produced: `POST /v1/events` measures the event as re-serialized for the same
 * reason.
 */
export function deliveredData(
  event: PlatformEvent,
  maxBytes: number,
): { ok: true; bytes: Buffer | null } | Failure {
  if (event.data === undefined) return { ok: true, bytes: null };
  const bytes = Buffer.from(JSON.stringify(event.data));
  if (bytes.length > maxBytes) {
    return fail('too_large', `data is ${bytes.length} bytes as delivered, over the limit of ${maxBytes}`);
  }
  return { ok: true, bytes };
}

/** The event in structured JSON mode, as produced to the input topic and accepted back by the parser. */
export function toStructuredCloudEvent(event: PlatformEvent): string {
  return JSON.stringify({
    specversion: event.specversion,
    id: event.id,
    source: event.source,
    ...(event.subject === undefined ? {} : { subject: event.subject }),
    ...(event.partitionKey === undefined ? {} : { partitionkey: event.partitionKey }),
    type: event.type,
    time: event.time,
    tenantid: event.tenantId,
    datacontenttype: 'application/json',
    data: event.data ?? null,
  });
}

/** A record timestamp (epoch ms) as an ISO time, or undefined when no Date can hold it (the broker
 *  accepts any int64, Date only ±8.64e15 ms). */
export function timestampToIso(timestampMs: number): string | undefined {
  if (!Number.isFinite(timestampMs)) return undefined;
  const date = new Date(timestampMs);
  return Number.isNaN(date.getTime()) ? undefined : date.toISOString();
}

/** The Kafka message timestamp (epoch ms as a decimal string) as an ISO time, or undefined if unusable. */
export function kafkaTimestampToIso(timestamp: string | undefined): string | undefined {
  if (timestamp === undefined || !/^\d{1,15}$/.test(timestamp)) return undefined;
  const date = new Date(Number(timestamp));
  return Number.isNaN(date.getTime()) ? undefined : date.toISOString();
}
