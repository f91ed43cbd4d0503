import { randomUUID } from 'node:crypto';
import type { IHeaders, Message } from 'kafkajs';

/**
 * The hostile tenant's records for the chaos run (issue 15): the worst it can publish to the input
 * topic and through `POST /v1/events`. A small bench-side list, because bench/tsconfig.json's
 * rootDir is bench/ and cannot import test/bad-input/hostile-corpus.ts; the kinds are those of that
 * corpus which reach the most code (invalid UTF-8, NUL and control characters, unpaired surrogates,
 * deep nesting, sizes at the limits, dates and numbers past their ranges, undecodable keys, unknown
 * and garbage tenant ids, huge headers).
 */

/** What the contract says becomes of a record: delivered to the tenant's endpoints, or dead-lettered. */
export type HostileVerdict = 'delivered' | 'dead-lettered';

/** Each Kafka record carries its kind here; a dead-letter copy keeps the original headers. */
export const KIND_HEADER = 'x-hostile-kind';

/** The broker's default message.max.bytes is 1,048,588: a value this size still fits. */
const NEAR_BROKER_LIMIT_BYTES = 1_000_000;
/** HOOKSTREAM_MAX_EVENT_BYTES by default; events up to it are delivered. */
const MAX_EVENT_BYTES = 256 * 1024;
const MAX_BODY_BYTES = 1024 * 1024;
const INVALID_UTF8 = Buffer.from([0xff, 0xc0, 0x80, 0xed, 0xa0, 0x80]);
const BASE_TIME = '2025-06-01T12:00:00.000Z';

export interface HostileKafkaKind {
  kind: string;
  verdict: HostileVerdict;
  build(tenantId: string): Message;
}

export interface HostileRestKind {
  kind: string;
  /** The answer the contract gives. */
  expect: number;
  /** Sends the request with the tenant's key unless `token` says otherwise. */
  body(): Buffer;
  token?: 'garbage';
}

const utf8 = (text: string): Buffer => Buffer.from(text, 'utf8');

/** A structured CloudEvent with `data` spliced in as raw bytes, which JSON.stringify cannot write. */
function structured(attributes: Record<string, unknown>, data: string | Buffer): Buffer {
  const fields = {
    specversion: '1.0',
    id: randomUUID(),
    source: '/hostile',
    type: 'hostile.event',
    time: BASE_TIME,
    ...attributes,
  };
  return Buffer.concat([
    utf8(`${JSON.stringify(fields).slice(0, -1)},"data":`),
    Buffer.from(data),
    utf8('}'),
  ]);
}

const nested = (depth: number): string => `${'['.repeat(depth)}1${']'.repeat(depth)}`;
const padTo = (bytes: number): string => JSON.stringify({ pad: 'p'.repeat(bytes) });

function record(kind: string, tenantId: string, value: Buffer | null, extra: Partial<Message> = {}): Message {
  const headers: IHeaders = { [KIND_HEADER]: kind, ...(extra.headers ?? {}) };
  return { key: tenantId, value, ...extra, headers };
}

/** One record of each kind per round; `tenantId` is the hostile tenant's. */
export const HOSTILE_KAFKA_KINDS: readonly HostileKafkaKind[] = [
  {
    kind: 'header value of invalid UTF-8',
    verdict: 'delivered',
    build: (t) =>
      record('header value of invalid UTF-8', t, structured({ tenantid: t }, '{}'), {
        headers: { 'x-bytes': INVALID_UTF8 },
      }),
  },
  {
    kind: 'header value of 64 KiB',
    verdict: 'delivered',
    build: (t) =>
      record('header value of 64 KiB', t, structured({ tenantid: t }, '{}'), {
        headers: { 'x-long': 'v'.repeat(64 * 1024) },
      }),
  },
  {
    // A key that is not the event's tenantid: tenant_key_mismatch (docs/security.md).
    kind: 'undecodable key',
    verdict: 'dead-lettered',
    build: (t) => ({ ...record('undecodable key', t, structured({ tenantid: t }, '{}')), key: INVALID_UTF8 }),
  },
  {
    kind: 'event 1 KiB under the event limit',
    verdict: 'delivered',
    build: (t) =>
      record(
        'event 1 KiB under the event limit',
        t,
        structured({ tenantid: t }, padTo(MAX_EVENT_BYTES - 1024 - 200)),
      ),
  },
  {
    kind: 'invalid UTF-8 in data',
    verdict: 'dead-lettered',
    build: (t) =>
      record(
        'invalid UTF-8 in data',
        t,
        structured({ tenantid: t }, Buffer.concat([utf8('"x'), INVALID_UTF8, utf8('"')])),
      ),
  },
  {
    kind: 'raw NUL in data',
    verdict: 'dead-lettered',
    build: (t) => record('raw NUL in data', t, structured({ tenantid: t }, Buffer.from([0x22, 0x00, 0x22]))),
  },
  {
    kind: 'NUL in the id',
    verdict: 'dead-lettered',
    build: (t) => record('NUL in the id', t, structured({ tenantid: t, id: 'x\u0000y' }, '{}')),
  },
  {
    kind: 'control character in the source',
    verdict: 'dead-lettered',
    build: (t) =>
      record('control character in the source', t, structured({ tenantid: t, source: '/s\u001b[31m' }, '{}')),
  },
  {
    kind: 'unpaired surrogate in the subject',
    verdict: 'dead-lettered',
    build: (t) =>
      record('unpaired surrogate in the subject', t, structured({ tenantid: t, subject: 'x\ud800' }, '{}')),
  },
  {
    kind: '100,000 levels of nesting',
    verdict: 'dead-lettered',
    build: (t) => record('100,000 levels of nesting', t, structured({ tenantid: t }, nested(100_000))),
  },
  {
    kind: 'record near the broker size limit',
    verdict: 'dead-lettered',
    build: (t) =>
      record(
        'record near the broker size limit',
        t,
        structured({ tenantid: t }, padTo(NEAR_BROKER_LIMIT_BYTES)),
      ),
  },
  {
    kind: 'time past year 9999',
    verdict: 'dead-lettered',
    build: (t) =>
      record('time past year 9999', t, structured({ tenantid: t, time: '+275760-09-13T00:00:00Z' }, '{}')),
  },
  {
    kind: 'record timestamp int64 max, no time',
    verdict: 'dead-lettered',
    build: (t) =>
      record('record timestamp int64 max, no time', t, structured({ tenantid: t, time: undefined }, '{}'), {
        timestamp: '9223372036854775807',
      }),
  },
  {
    kind: 'number past the double range',
    verdict: 'dead-lettered',
    build: (t) => record('number past the double range', t, structured({ tenantid: t }, '[1e400,-1e309]')),
  },
  {
    kind: 'unknown tenant id',
    verdict: 'dead-lettered',
    build: (t) => record('unknown tenant id', t, structured({ tenantid: randomUUID() }, '{}')),
  },
  {
    kind: 'garbage tenant id',
    verdict: 'dead-lettered',
    build: (t) => record('garbage tenant id', t, structured({ tenantid: `urn:uuid:${t}\u0000` }, '{}')),
  },
  {
    kind: 'not JSON',
    verdict: 'dead-lettered',
    build: (t) => record('not JSON', t, utf8('{"specversion":')),
  },
  {
    kind: 'no value (tombstone)',
    verdict: 'dead-lettered',
    build: (t) => record('no value (tombstone)', t, null),
  },
  {
    kind: 'binary mode, ce_type of invalid UTF-8',
    verdict: 'dead-lettered',
    build: (t) =>
      record('binary mode, ce_type of invalid UTF-8', t, utf8('{}'), {
        headers: {
          'content-type': 'application/json',
          ce_specversion: '1.0',
          ce_id: randomUUID(),
          ce_source: '/hostile',
          ce_type: Buffer.concat([utf8('a'), INVALID_UTF8]),
          ce_time: BASE_TIME,
          ce_tenantid: t,
        },
      }),
  },
];

/** `POST /v1/events` bodies: one of each kind per round. */
const restEvent = (fields: Record<string, unknown>, data: string | Buffer = '{}'): Buffer => {
  const attributes = { type: 'hostile.rest', id: randomUUID(), ...fields };
  return Buffer.concat([
    utf8(`${JSON.stringify(attributes).slice(0, -1)},"data":`),
    Buffer.from(data),
    utf8('}'),
  ]);
};

export const HOSTILE_REST_KINDS: readonly HostileRestKind[] = [
  {
    kind: 'invalid UTF-8 in data',
    expect: 400,
    body: () => restEvent({}, Buffer.concat([utf8('"x'), INVALID_UTF8, utf8('"')])),
  },
  { kind: 'NUL in the id', expect: 400, body: () => restEvent({ id: 'x\u0000y' }) },
  { kind: 'control character in the type', expect: 400, body: () => restEvent({ type: 'a\u0001b' }) },
  { kind: 'unpaired surrogate in the source', expect: 400, body: () => restEvent({ source: '/s\udc00' }) },
  { kind: '65 levels of nesting', expect: 400, body: () => restEvent({}, nested(65)) },
  { kind: 'number past the double range', expect: 400, body: () => restEvent({}, '{"n":1e400}') },
  { kind: 'time past year 9999', expect: 400, body: () => restEvent({ time: '10000-01-01T00:00:00Z' }) },
  { kind: 'body over the 1 MiB limit', expect: 413, body: () => restEvent({}, padTo(MAX_BODY_BYTES + 1)) },
  {
    kind: 'event 2 KiB under the event limit',
    expect: 202,
    body: () => restEvent({}, padTo(MAX_EVENT_BYTES - 2048)),
  },
  { kind: 'garbage API key', expect: 401, body: () => restEvent({}), token: 'garbage' },
];

/** A burst past the tenant's ingest rate: the first `rate` are accepted, the rest answered 429. */
export const FLOOD_KIND = 'flood past the ingest rate';
export const floodBody = (): Buffer => restEvent({ type: 'hostile.flood' });
