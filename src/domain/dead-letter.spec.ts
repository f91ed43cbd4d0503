import { randomUUID } from 'node:crypto';
import type { ConsumedRecord } from './records';
import {
  DEAD_LETTER_HEADERS_LIMIT,
  DEAD_LETTER_KEY_LIMIT,
  DEAD_LETTER_VALUE_LIMIT,
  deadLetterOfRecord,
  toDeadLetterRow,
} from './dead-letter';
import { deriveTaskKeys, TaskSeal } from './task-seal';

function record(value: Buffer | string | null, headers: Record<string, string> = {}): ConsumedRecord {
  return {
    topic: 'hookstream.dlq',
    partition: 3,
    offset: '42',
    key: null,
    value: typeof value === 'string' ? Buffer.from(value) : value,
    headers,
    timestampMs: Date.parse('2025-06-01T12:00:00.000Z'),
  };
}

describe('toDeadLetterRow', () => {
  const task = {
    deliveryId: randomUUID(),
    eventId: 'evt_1',
    endpointId: randomUUID(),
    tenantId: randomUUID(),
    eventType: 'record.updated',
    eventTime: '2025-06-01T11:59:00.000Z',
    data: { n: 1 },
    publishedAtMs: 1,
  };

  it('keeps a delivery task with its ids, attempts and last error', () => {
    const row = toDeadLetterRow(
      record(JSON.stringify(task), {
        'hs-reason': 'attempts_exhausted',
        'hs-reason-detail': 'HTTP 500',
        'hs-last-error': 'HTTP 503',
        'hs-attempt': '3',
      }),
    );
    expect(row).toEqual({
      tenantId: task.tenantId,
      endpointId: task.endpointId,
      deliveryId: task.deliveryId,
      eventId: 'evt_1',
      eventType: 'record.updated',
      reason: 'attempts_exhausted',
      lastError: 'HTTP 503',
      attempts: 3,
      dlqTopic: 'hookstream.dlq',
      dlqPartition: 3,
      dlqOffset: '42',
      task,
      createdAt: new Date('2025-06-01T12:00:00.000Z'),
    });
  });

  it('takes the tenant of bad input from the raw event, but only a uuid', () => {
    const tenantId = randomUUID();
    const missingType = JSON.stringify({ specversion: '1.0', id: 'e1', source: '/s', tenantid: tenantId });
    const row = toDeadLetterRow(
      record(missingType, { 'hs-reason': 'missing_attribute', 'hs-reason-detail': "'type' is missing" }),
    );
    expect(row).toMatchObject({
      tenantId,
      endpointId: null,
      deliveryId: null,
      eventId: 'e1',
      eventType: null,
      reason: 'missing_attribute',
      lastError: "'type' is missing",
      attempts: 0,
      task: null,
    });
    const notUuid = JSON.stringify({ specversion: '1.0', id: 'e2', type: 't', tenantid: 'acme' });
    expect(toDeadLetterRow(record(notUuid, { 'hs-reason': 'unknown_tenant' })).tenantId).toBeNull();
  });

  it('keeps an event whose tenantid is not to be believed for the operator only', () => {
    const claimed = randomUUID();
    const event = JSON.stringify({
      specversion: '1.0',
      id: 'e3',
      type: 't',
      source: '/s',
      tenantid: claimed,
    });
    for (const reason of ['tenant_key_mismatch', 'tenant_not_allowed_on_topic', 'reserved_type']) {
      const row = toDeadLetterRow(record(event, { 'hs-reason': reason, 'hs-reason-detail': 'detail' }));
      expect({ reason, tenantId: row.tenantId, eventId: row.eventId }).toEqual({
        reason,
        tenantId: null,
        eventId: 'e3',
      });
    }
    expect(toDeadLetterRow(record(event, { 'hs-reason': 'invalid_attribute' })).tenantId).toBe(claimed);
    // Bad input whose tenant failed those checks before it could be parsed keeps its own reason.
    const unchecked = toDeadLetterRow(
      record(event, { 'hs-reason': 'invalid_attribute', 'hs-unattributed': 'tenant_key_mismatch' }),
    );
    expect({ reason: unchecked.reason, tenantId: unchecked.tenantId }).toEqual({
      reason: 'invalid_attribute',
      tenantId: null,
    });
  });

  it('reads binary-mode attributes from ce_ headers', () => {
    const tenantId = randomUUID();
    const row = toDeadLetterRow(
      record('{not json', {
        ce_tenantid: tenantId,
        ce_id: 'b1',
        ce_type: 'x.y',
        'hs-reason': 'invalid_json',
      }),
    );
    expect(row).toMatchObject({ tenantId, eventId: 'b1', eventType: 'x.y', task: null });
  });

  it('never throws: binary garbage, no value, odd headers', () => {
    const row = toDeadLetterRow(record(Buffer.from([0xff, 0x00, 0x13]), { 'hs-attempt': 'many' }));
    expect(row).toMatchObject({ tenantId: null, reason: 'unknown', attempts: 0, task: null });
    expect(toDeadLetterRow(record(null)).task).toBeNull();
    expect(toDeadLetterRow(record('[1,2]')).eventId).toBeNull();
  });

  it('treats a task whose ids are not uuids as bad input, so the uuid columns accept it', () => {
    const row = toDeadLetterRow(record(JSON.stringify({ ...task, endpointId: 'nope' })));
    expect(row).toMatchObject({ task: null, endpointId: null, tenantId: task.tenantId });
  });

  it('keeps a task without a valid MAC for the operator only: no tenant, no endpoint, nothing to replay', () => {
    const seal = new TaskSeal(deriveTaskKeys(['k'.repeat(32)]));
    const open = (value: Buffer | null) => seal.open(value).task;
    const forged = new TaskSeal(deriveTaskKeys(['f'.repeat(32)])).seal(task);
    for (const row of [
      toDeadLetterRow(record(forged, { 'hs-reason': 'attempts_exhausted' }), 0, open),
      toDeadLetterRow(record(JSON.stringify(task), { 'hs-reason': 'task_unauthenticated' }), 0, open),
      toDeadLetterRow(record(JSON.stringify(task), { 'hs-reason': 'task_unauthenticated' })),
    ]) {
      expect(row).toMatchObject({
        tenantId: null,
        endpointId: null,
        deliveryId: null,
        eventId: 'evt_1',
        task: null,
      });
    }
    const genuine = toDeadLetterRow(record(seal.seal(task), { 'hs-reason': 'attempts_exhausted' }), 0, open);
    expect(genuine).toMatchObject({ tenantId: task.tenantId, task });
  });

  it('strips NUL characters PostgreSQL text cannot hold', () => {
    const row = toDeadLetterRow(record('x', { 'hs-reason': 'invalid_json', 'hs-reason-detail': 'a\u0000b' }));
    expect(row.lastError).toBe('ab');
  });
});

describe('deadLetterOfRecord', () => {
  const base = {
    topic: 'platform.events',
    partition: 1,
    offset: '9',
    key: 'k',
    headers: { a: 'b' },
    timestampMs: 0,
  };

  it('keeps the record as it arrived, with the reason and where it was read', () => {
    const copy = deadLetterOfRecord({ ...base, value: Buffer.from('{}') }, 'invalid_json', 'bad');
    expect(copy).toEqual({
      key: 'k',
      value: Buffer.from('{}'),
      headers: {
        a: 'b',
        'hs-reason': 'invalid_json',
        'hs-reason-detail': 'bad',
        'hs-origin': 'platform.events/1/9',
      },
    });
  });

  it('cuts a value that would not fit the broker and drops huge headers, saying so', () => {
    const value = Buffer.alloc(DEAD_LETTER_VALUE_LIMIT + 10, 0x61);
    const headers = { big: 'x'.repeat(DEAD_LETTER_HEADERS_LIMIT) };
    const copy = deadLetterOfRecord({ ...base, value, headers }, 'too_large', 'over the limit');
    expect((copy.value as Buffer).length).toBe(DEAD_LETTER_VALUE_LIMIT);
    expect(copy.headers).not.toHaveProperty('big');
    expect(String(copy.headers?.['hs-truncated'])).toMatch(/value 262154 bytes.*headers \d+ bytes, dropped/);
  });

  it('cuts a key that would take the copy past the broker limit, saying so', () => {
    const key = 'k'.repeat(1024 * 1024 - 200);
    const copy = deadLetterOfRecord({ ...base, key, value: Buffer.from('{}') }, 'tenant_key_mismatch', 'no');
    expect(copy.key).toEqual(Buffer.from(key.slice(0, DEAD_LETTER_KEY_LIMIT)));
    expect(String(copy.headers?.['hs-truncated'])).toBe(
      `key ${key.length} bytes, first ${DEAD_LETTER_KEY_LIMIT} kept`,
    );
    const short = deadLetterOfRecord(
      { ...base, key: 'k'.repeat(DEAD_LETTER_KEY_LIMIT), value: null },
      'invalid_json',
      'x',
    );
    expect(short.key).toBe('k'.repeat(DEAD_LETTER_KEY_LIMIT));
    expect(short.headers).not.toHaveProperty('hs-truncated');
  });
});
