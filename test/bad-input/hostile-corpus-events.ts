/**
 * The event cases: every attribute value, `data` document, Kafka envelope and timestamp of the
 * corpus, put on every edge that reaches it (REST, structured and binary Kafka) with its verdict.
 */
import type { IHeaders } from 'kafkajs';
import type { SeededRandom } from '../support/seeded-random';
import { INVALID_UTF8, utf8 } from './hostile-corpus-characters';
import {
  BAD_DATA,
  GOOD_DATA,
  MAX_BODY_BYTES,
  MAX_EVENT_BYTES,
  type Reason,
  type Verdict,
  attributeValues,
  bad,
  good,
} from './hostile-corpus-event-values';
import { BINARY_EXTENSIONS, EXTENSIONS, TIMESTAMPS, hostileHeaders } from './hostile-corpus-kafka';

export type Edge = 'rest' | 'structured' | 'binary';
const EDGES: readonly Edge[] = ['rest', 'structured', 'binary'];
export type Group = 'attributes' | 'data' | 'envelope' | 'timestamps';

export interface KafkaMessage {
  key: Buffer | string | null;
  value: Buffer | string | null;
  headers?: IHeaders;
  timestamp?: string;
}

export interface EventCase {
  group: Group;
  edge: Edge;
  label: string;
  /** POST /v1/events body (bytes that may not be UTF-8). */
  rest?: Buffer;
  kafka?: KafkaMessage;
  /** A good event: answered 202, and its webhook body carries `id` and this `data` (parsed). */
  deliver?: { id: string; data: unknown; escapes: string[] };
  /**
   * Bad input: REST answers 400 naming `field` (without one: a body that cannot be decoded, any 400;
   * `too_large`, 400 or 413); Kafka dead-letters it with one of `reasons`.
   */
  refuse?: { field?: string; reasons: Reason[] };
  /** The event id it carries, to tell what became of bad input that was let through. */
  probeId?: string;
}

export const BASE_TIME = '2025-06-01T12:00:00.000Z';

/** `fields` as JSON with `data` (raw JSON bytes) spliced in, which JSON.stringify cannot write. */
function withData(fields: Record<string, unknown>, data: string | Buffer): Buffer {
  return Buffer.concat([
    utf8(`${JSON.stringify(fields).slice(0, -1)},"data":`),
    Buffer.from(data),
    utf8('}'),
  ]);
}

const wellFormed = (s: string) =>
  !/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(s);

/** The event on one edge, or null when that edge cannot carry its attributes (binary: strings only). */
function onEdge(
  edge: Edge,
  tenantId: string,
  attributes: Record<string, unknown>,
  data: string | Buffer,
  envelope: Partial<KafkaMessage> = {},
): Pick<EventCase, 'rest' | 'kafka'> | null {
  const { id, type, source, subject, time } = attributes;
  if (edge === 'rest') return { rest: withData({ type, id, source, subject, time }, data) };
  const all = { specversion: '1.0', source: '/hostile', time: BASE_TIME, tenantid: tenantId, ...attributes };
  if (edge === 'structured') return { kafka: { key: tenantId, value: withData(all, data), ...envelope } };
  const headers: IHeaders = { 'content-type': 'application/json' };
  for (const [name, value] of Object.entries(all)) {
    if (value === undefined) continue;
    if (!Buffer.isBuffer(value) && (typeof value !== 'string' || !wellFormed(value))) return null;
    headers[`ce_${name}`] = value;
  }
  return {
    kafka: {
      key: tenantId,
      value: Buffer.from(data),
      ...envelope,
      headers: { ...headers, ...envelope.headers },
    },
  };
}

export interface CorpusWorld {
  tenantId: string;
  otherTenantId: string;
  rng: SeededRandom;
}

/** Every event case: attributes, data, the Kafka envelope and timestamps, on every edge that reaches them. */
export function buildEventCorpus({ tenantId, otherTenantId, rng }: CorpusWorld): EventCase[] {
  const cases: EventCase[] = [];
  let counter = 0;
  const uniqueId = () => `hs${(counter++).toString(36)}-${rng.bytes(3).toString('hex')}`;
  const add = (
    group: Group,
    edge: Edge,
    label: string,
    attributes: Record<string, unknown>,
    data: string | Buffer,
    verdict: Verdict,
    envelope?: Partial<KafkaMessage>,
    field?: string,
  ) => {
    const message = onEdge(edge, tenantId, { type: `hostile.${group}`, ...attributes }, data, envelope);
    if (!message) return;
    const id = attributes.id;
    if (verdict.good) {
      const deliver = {
        id: String(id),
        data: JSON.parse(Buffer.from(data).toString()),
        escapes: [...(verdict.escapes ?? [])],
      };
      cases.push({ group, edge, label, ...message, deliver });
    } else {
      const probeId = typeof id === 'string' ? id : undefined;
      cases.push({ group, edge, label, ...message, refuse: { field, reasons: verdict.reasons }, probeId });
    }
  };
  const delivered = (escapes: readonly string[] = []): Verdict => ({ good: true, reasons: [], escapes });

  // Attributes: every value of every attribute, on every edge that can carry it.
  for (const name of ['id', 'type', 'source', 'subject', 'time'] as const) {
    EDGES.forEach((edge, edgeIndex) => {
      for (const v of attributeValues(name, uniqueId(), edgeIndex)) {
        const id = name === 'id' ? v.value : uniqueId();
        add(
          'attributes',
          edge,
          `${name}: ${v.label}`,
          { id, [name]: v.value },
          `{"attribute":"${name}"}`,
          v,
          {},
          name,
        );
      }
    });
    for (const [label, bytes] of INVALID_UTF8) {
      const value = Buffer.concat([utf8('a'), bytes]);
      add(
        'attributes',
        'binary',
        `${name}: ${label}`,
        { id: uniqueId(), [name]: value },
        '{}',
        bad(label, value),
        {},
        name,
      );
    }
    if (name !== 'subject' && name !== 'time') {
      const missing = bad('null', null, ['missing_attribute']);
      add(
        'attributes',
        'structured',
        `${name}: null`,
        { id: uniqueId(), [name]: null },
        '{}',
        missing,
        {},
        name,
      );
    }
  }
  const tenant = ['unknown_tenant', 'invalid_attribute'] as Reason[];
  for (const v of [
    good('the tenant id in upper case', tenantId.toUpperCase()),
    ...[
      ['empty', ''],
      ['one space', ' '],
      ['a random UUID', rng.uuid()],
      ['the nil UUID', '00000000-0000-0000-0000-000000000000'],
      ['in braces', `{${tenantId}}`],
      ['as a URN', `urn:uuid:${tenantId}`],
      ['a trailing NUL', `${tenantId}\u0000`],
      ['a trailing space', `${tenantId} `],
    ].map(([label, value]) => bad(label, value, tenant)),
    bad('a number', 42, tenant),
  ]) {
    for (const edge of ['structured', 'binary'] as const) {
      add(
        'attributes',
        edge,
        `tenantid: ${v.label}`,
        { id: uniqueId(), tenantid: v.value },
        '{}',
        v,
        {},
        'tenantid',
      );
    }
  }

  // data: good values on every edge, bad ones, then sizes at and past the limit.
  for (const [label, text, escapes] of GOOD_DATA) {
    for (const edge of EDGES)
      add('data', edge, `data: ${label}`, { id: uniqueId() }, text, delivered(escapes));
  }
  for (const [label, bytes, namesData, reasons] of BAD_DATA) {
    for (const edge of EDGES) {
      const field = namesData ? 'data' : undefined;
      add('data', edge, `data: ${label}`, { id: uniqueId() }, bytes, bad(label, null, reasons), {}, field);
    }
  }
  const tooLarge = bad('too large', null, ['too_large']);
  for (const [unitLabel, unit, escapes] of [
    ['ASCII', 'a', []],
    ['two-byte characters', 'é', []],
    ['NUL escapes', '\\u0000', ['\\u0000']],
  ] as const) {
    for (const size of [MAX_EVENT_BYTES, MAX_EVENT_BYTES + 1]) {
      const id = uniqueId();
      const empty = onEdge('structured', tenantId, { type: 'hostile.data', id }, '{"pad":""}');
      const room = size - (empty?.kafka?.value as Buffer).length;
      const units = unit.repeat(Math.floor(room / Buffer.byteLength(unit)));
      const data = `{"pad":"${units}${'a'.repeat(room % Buffer.byteLength(unit))}"}`;
      const verdict = size === MAX_EVENT_BYTES ? delivered(escapes) : tooLarge;
      add(
        'data',
        'structured',
        `data: a structured event of ${size} bytes of ${unitLabel}`,
        { id },
        data,
        verdict,
      );
    }
  }
  const padding = (bytes: number) => JSON.stringify({ pad: 'p'.repeat(bytes) });
  const sized: Array<[Edge, string, number, Verdict]> = [
    ['binary', 'a binary event 1 KiB under the limit', MAX_EVENT_BYTES - 1024, delivered()],
    ['binary', 'a binary event 1 byte over the limit', MAX_EVENT_BYTES - 9, tooLarge],
    ['rest', 'a REST event 2 KiB under the limit', MAX_EVENT_BYTES - 2048, delivered()],
    ['rest', 'a REST event over the limit', MAX_EVENT_BYTES + 1, tooLarge],
    ['rest', 'a body over the 1 MiB body limit', MAX_BODY_BYTES + 1, tooLarge],
  ];
  for (const [edge, label, bytes, verdict] of sized) {
    add('data', edge, `data: ${label}`, { id: uniqueId() }, padding(bytes), verdict);
  }
  // Numbers JSON.stringify writes longer than they came (`9e20` as 21 digits): under the limit as
  // sent, over it as delivered, and its task over the broker's 1 MiB record limit.
  const growing = `[${new Array<string>(Math.floor((MAX_EVENT_BYTES - 1024) / 5)).fill('9e20').join(',')}]`;
  for (const edge of EDGES) {
    add(
      'data',
      edge,
      'data: numbers that grow 4.4 times once re-serialized',
      { id: uniqueId() },
      growing,
      tooLarge,
    );
  }

  // The Kafka envelope: keys, headers and extension attributes around good events.
  // The key must be the event's tenantid in lower case; anything else is a tenant_key_mismatch.
  const keys: Array<[string, Buffer | string | null]> = [
    ['null', null],
    ['empty', Buffer.alloc(0)],
    ['invalid UTF-8', Buffer.from([0xff, 0xfe, 0xc0, 0x80, 0xed, 0xa0, 0x80])],
    ['controls and emoji', 'k\u0000\u001b[31m😀\u007f'],
    ['64 KiB', 'k'.repeat(64 * 1024)],
    ["the other tenant's id", otherTenantId],
    // The endpoint-change markers go under the lower-case id: an upper-case key is another partition.
    ['the tenant id in upper case', tenantId.toUpperCase()],
    ['random bytes', rng.bytes(40)],
  ];
  const ok = delivered();
  const mismatch = bad('key', null, ['tenant_key_mismatch']);
  for (const [label, key] of keys)
    add('envelope', 'structured', `key: ${label}`, { id: uniqueId() }, '{"e":1}', mismatch, { key });
  for (const [label, headers] of hostileHeaders()) {
    const explicit = { ...headers, 'content-type': 'application/cloudevents+json' };
    add('envelope', 'structured', `headers: ${label}`, { id: uniqueId() }, '{"e":1}', ok, {
      headers: explicit,
    });
  }
  for (const [label, member] of EXTENSIONS) {
    const id = uniqueId();
    const event = onEdge('structured', tenantId, { type: 'hostile.envelope', id }, '{"e":1}');
    const value = (event?.kafka?.value as Buffer).toString().replace(',"data":', `,${member},"data":`);
    cases.push({
      group: 'envelope',
      edge: 'structured',
      label: `extension: ${label}`,
      kafka: { key: tenantId, value },
      deliver: { id, data: { e: 1 }, escapes: [] },
    });
  }
  for (const [label, headers] of BINARY_EXTENSIONS) {
    add('envelope', 'binary', `binary extension: ${label}`, { id: uniqueId() }, '{"e":1}', ok, { headers });
  }
  const forged = { 'hs-reason': 'attempts_exhausted', 'hs-origin': 'elsewhere/0/0', 'hs-reason-detail': 'x' };
  const label = 'bad input with forged hs-* headers';
  const missing = bad('no type', null, ['missing_attribute']);
  add('envelope', 'structured', label, { id: uniqueId(), type: null }, '{}', missing, { headers: forged });
  cases.push({
    group: 'envelope',
    edge: 'structured',
    label: 'bad input under an invalid UTF-8 key',
    kafka: { key: Buffer.from([0xff, 0x00, 0xfe]), value: '{"specversion":' },
    refuse: { reasons: ['invalid_json'] },
  });

  // Timestamps (the spec sends these last, each alone).
  for (const [label, timestamp, isDate] of TIMESTAMPS) {
    add('timestamps', 'structured', `timestamp ${label}, with a time`, { id: uniqueId() }, '{}', ok, {
      timestamp,
    });
    if (isDate === null) continue;
    const verdict = isDate ? ok : bad('no date', null, ['invalid_attribute', 'missing_attribute']);
    add(
      'timestamps',
      'structured',
      `timestamp ${label}, without a time`,
      { id: uniqueId(), time: undefined },
      '{}',
      verdict,
      { timestamp },
    );
  }
  return cases;
}
