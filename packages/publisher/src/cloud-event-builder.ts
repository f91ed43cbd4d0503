import { randomUUID } from 'node:crypto';
import {
  DEFAULT_MAX_EVENT_BYTES,
  jsonValueProblem,
  MAX_DATA_DEPTH,
  parseCloudEvent,
  TENANT_ID_PATTERN,
  type PlatformEvent,
} from './contract';
import { InvalidEventError } from './errors';
import type { ContentMode, EventInput, EventMap } from './event-types';

/** A Kafka record ready to produce: key = tenant id, so one tenant's events keep their order. */
export interface EventRecord {
  key: string;
  value: Buffer;
  headers: Record<string, string>;
}

export interface BuildOptions {
  /** The CloudEvents `source` of this service, like `/records-service`. */
  source: string;
  mode?: ContentMode;
  /** The service's `HOOKSTREAM_MAX_EVENT_BYTES`; 256 KiB by default, as the service's. */
  maxEventBytes?: number;
  newId?: () => string;
  now?: () => Date;
}

export interface BuiltEvent {
  /** The event as Hookstream will read it (tenant id lower-cased, time normalised). */
  event: PlatformEvent;
  record: EventRecord;
}

/**
 * The CloudEvent for `input` in the chosen mode, checked by the service's own parser on the exact
 * value and headers that will be sent. Throws InvalidEventError with the reason the service would
 * dead-letter it for.
 */
export function buildCloudEvent<M extends EventMap>(input: EventInput<M>, options: BuildOptions): BuiltEvent {
  // JSON.stringify would write Infinity as null: the receiver would get other data than was given.
  const dataProblem = jsonValueProblem(input.data, MAX_DATA_DEPTH);
  if (dataProblem !== null)
    throw new InvalidEventError('invalid_attribute', `attribute 'data' ${dataProblem}`);
  const time = input.time ?? (options.now?.() ?? new Date()).toISOString();
  const attributes = {
    specversion: '1.0',
    id: input.id ?? (options.newId ?? randomUUID)(),
    source: input.source ?? options.source,
    type: input.type,
    time,
    tenantid: input.tenantId,
    ...(input.subject === undefined ? {} : { subject: input.subject }),
  };
  const record =
    (options.mode ?? 'structured') === 'structured'
      ? structured(attributes, input.data)
      : binary(attributes, input.data);
  const parsed = parseCloudEvent(
    record.value,
    record.headers,
    options.maxEventBytes ?? DEFAULT_MAX_EVENT_BYTES,
  );
  if (!parsed.ok) throw new InvalidEventError(parsed.reason, parsed.detail);
  // The service would look it up and dead-letter it as unknown: no tenant has an id of another form.
  if (!TENANT_ID_PATTERN.test(parsed.event.tenantId)) {
    throw new InvalidEventError('unknown_tenant', "attribute 'tenantid' must be the tenant's id, a UUID");
  }
  // The parser reads the tenant id in lower case: key by the same form, so one tenant is one key.
  return { event: parsed.event, record: { ...record, key: parsed.event.tenantId } };
}

type Attributes = Record<string, unknown>;

function structured(attributes: Attributes, data: unknown): EventRecord {
  // No `datacontenttype`: in structured JSON mode `data` is JSON without it, and the bytes count
  // against the service's size limit.
  const value = { ...attributes, data: data ?? null };
  return {
    key: String(attributes.tenantid),
    value: Buffer.from(stringify(value), 'utf8'),
    headers: { 'content-type': 'application/cloudevents+json' },
  };
}

function binary(attributes: Attributes, data: unknown): EventRecord {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  for (const [name, value] of Object.entries(attributes)) {
    // A non-string reaches the parser as its text and is refused by the rule of that attribute.
    headers[`ce_${name}`] = typeof value === 'string' ? value : String(value);
  }
  return { key: String(attributes.tenantid), value: Buffer.from(stringify(data ?? null), 'utf8'), headers };
}

/** JSON.stringify, but a value it cannot write (a cycle, a BigInt) becomes an InvalidEventError. */
function stringify(value: unknown): string {
  try {
    return JSON.stringify(value);
  } catch (error) {
    throw new InvalidEventError(
      'invalid_attribute',
      `attribute 'data' cannot be written as JSON: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
}
