import {
  kafkaTimestampToIso,
  timestampToIso,
  MAX_DATA_DEPTH,
  parseCloudEvent,
  parseRfc3339,
  toStructuredCloudEvent,
  type ParseResult,
  type PlatformEvent,
} from './cloud-event';

const MAX = 64 * 1024;
const FALLBACK = '2024-05-01T10:00:00.000Z';

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const validEvent = {
  specversion: '1.0',
  id: 'evt_123',
  source: '/records',
  type: 'record.updated',
  time: '2024-05-01T09:30:00.123Z',
  tenantid: 'tenant-a',
  data: { recordId: 42, fields: ['name'] },
};

function structured(
  event: Record<string, unknown>,
  headers: Record<string, string | undefined> = {},
): ParseResult {
  return parseCloudEvent(Buffer.from(JSON.stringify(event)), headers, MAX, FALLBACK);
}

function expectFailure(result: ParseResult, reason: string, detailPart?: string): void {
  expect(result.ok).toBe(false);
  if (result.ok) return;
  expect(result.reason).toBe(reason);
  if (detailPart !== undefined) expect(result.detail).toContain(detailPart);
}

function expectEvent(result: ParseResult): PlatformEvent {
  if (!result.ok) throw new Error(`expected a parsed event, got ${result.reason}: ${result.detail}`);
  return result.event;
}

describe('parseCloudEvent, structured mode', () => {
  it('parses a valid event', () => {
    expect(expectEvent(structured(validEvent))).toEqual({
      specversion: '1.0',
      id: 'evt_123',
      source: '/records',
      type: 'record.updated',
      time: '2024-05-01T09:30:00.123Z',
      tenantId: 'tenant-a',
      data: { recordId: 42, fields: ['name'] },
    });
  });

  it.each([
    undefined,
    'application/cloudevents+json',
    'application/json',
    'Application/JSON; charset=utf-8',
    '',
  ])('accepts content-type %p', (contentType) => {
    expect(structured(validEvent, { 'content-type': contentType }).ok).toBe(true);
  });

  it.each([
    ['a space', 'evt 1'],
    ['a control character', 'evt\u0001'],
    ['a NUL', 'evt\u0000'],
    ['a non-ASCII letter', 'évt'],
    ['257 characters', 'e'.repeat(257)],
  ])('refuses an id with %s: it becomes the webhook-id header', (_what, id) => {
    expectFailure(structured({ ...validEvent, id }), 'invalid_attribute', "'id'");
  });

  it('accepts an id of 256 visible ASCII characters', () => {
    const id = '!~'.repeat(128);
    expect(expectEvent(structured({ ...validEvent, id })).id).toBe(id);
  });

  it.each([
    ['a control character', '/src\u0007'],
    ['a newline', '/a\nb'],
    ['a NUL', '/\u0000'],
    ['an unpaired surrogate', '/\ud800'],
    ['whitespace only', ' '],
  ])('judges a source with %s by the text rule', (what, source) => {
    const result = structured({ ...validEvent, source });
    if (what === 'whitespace only') expect(result.ok).toBe(true);
    else expectFailure(result, 'invalid_attribute', "'source'");
  });

  it('carries a valid subject and refuses one that is not one line of storable text', () => {
    expect(expectEvent(structured({ ...validEvent, subject: 'invoice/in_42' })).subject).toBe(
      'invoice/in_42',
    );
    expectFailure(structured({ ...validEvent, subject: 42 }), 'invalid_attribute', "'subject'");
    expectFailure(structured({ ...validEvent, subject: 'a\u0000' }), 'invalid_attribute', "'subject'");
  });

  it('delivers data whatever characters its strings hold', () => {
    const data = {
      nul: '\u0000',
      lone: '\ud800',
      controls: '\u0001\u001f\u007f',
      rtl: '\u202e',
      emoji: '🙂',
    };
    const value = Buffer.from(JSON.stringify({ ...validEvent, data }));
    expect(expectEvent(parseCloudEvent(value, {}, MAX, FALLBACK)).data).toEqual(data);
  });

  it('rejects other content types when no ce_specversion header marks binary mode', () => {
    expectFailure(
      structured(validEvent, { 'content-type': 'text/plain' }),
      'unsupported_content_type',
      'text/plain',
    );
  });

  it('normalises time to UTC ISO form', () => {
    const event = expectEvent(structured({ ...validEvent, time: '2024-05-01T11:30:00.5+02:00' }));
    expect(event.time).toBe('2024-05-01T09:30:00.500Z');
  });

  it('uses the fallback time when the event has none', () => {
    const { time: _time, ...withoutTime } = validEvent;
    expect(expectEvent(structured(withoutTime)).time).toBe(FALLBACK);
  });

  it('reports a missing time when there is no fallback either', () => {
    const { time: _time, ...withoutTime } = validEvent;
    const result = parseCloudEvent(Buffer.from(JSON.stringify(withoutTime)), {}, MAX);
    expectFailure(result, 'missing_attribute', "'time'");
  });

  it.each([
    'yesterday',
    '2024-13-01T00:00:00Z',
    '2024-02-30T00:00:00Z',
    '2024-05-01',
    '2024-05-01T25:00:00Z',
    1714555800,
  ])('rejects the invalid time %p instead of falling back', (time) => {
    expectFailure(structured({ ...validEvent, time }), 'invalid_attribute', "'time'");
  });

  it('treats absent data as null and keeps falsy data as is', () => {
    const { data: _data, ...withoutData } = validEvent;
    expect(expectEvent(structured(withoutData)).data).toBeNull();
    expect(expectEvent(structured({ ...validEvent, data: 0 })).data).toBe(0);
    expect(expectEvent(structured({ ...validEvent, data: '' })).data).toBe('');
    expect(expectEvent(structured({ ...validEvent, data: [1, 2] })).data).toEqual([1, 2]);
  });

  it('keeps data_base64 as a base64 string and refuses both data forms at once', () => {
    const { data: _data, ...withoutData } = validEvent;
    expect(expectEvent(structured({ ...withoutData, data_base64: 'AAEC' })).data).toBe('AAEC');
    expectFailure(structured({ ...validEvent, data_base64: 'AAEC' }), 'invalid_attribute', 'data_base64');
    expectFailure(structured({ ...withoutData, data_base64: 7 }), 'invalid_attribute', 'data_base64');
  });

  it.each(['id', 'source', 'type', 'tenantid', 'specversion'])(
    'reports the missing attribute %s by name',
    (name) => {
      const event: Record<string, unknown> = { ...validEvent };
      delete event[name];
      expectFailure(structured(event), 'missing_attribute', `'${name}'`);
      expectFailure(structured({ ...validEvent, [name]: null }), 'missing_attribute', `'${name}'`);
    },
  );

  it.each(['id', 'source', 'type', 'tenantid'])(
    'requires %s to be a non-empty string of at most 256 chars',
    (name) => {
      expectFailure(structured({ ...validEvent, [name]: '' }), 'invalid_attribute', `'${name}'`);
      expectFailure(structured({ ...validEvent, [name]: 12 }), 'invalid_attribute', `'${name}'`);
      expectFailure(structured({ ...validEvent, [name]: ['x'] }), 'invalid_attribute', `'${name}'`);
      expectFailure(structured({ ...validEvent, [name]: 'a'.repeat(257) }), 'invalid_attribute', `'${name}'`);
      expect(structured({ ...validEvent, [name]: 'a'.repeat(256) }).ok).toBe(true);
    },
  );

  it.each(['record updated', 'record/updated', 'récord.updated', 'record.*', 'a\nb'])(
    'rejects the event type %p',
    (type) => {
      expectFailure(structured({ ...validEvent, type }), 'invalid_attribute', "'type'");
    },
  );

  it.each(['A.b-c_d.1', 'record.updated', 'x'])('accepts the event type %p', (type) => {
    expect(expectEvent(structured({ ...validEvent, type })).type).toBe(type);
  });

  it.each([['0.3'], ['1.1'], [1], [1.0]])('rejects specversion %p', (specversion) => {
    expectFailure(structured({ ...validEvent, specversion }), 'unsupported_specversion');
  });

  it.each([
    ['an empty value', null],
    ['an empty buffer', Buffer.alloc(0)],
    ['invalid JSON', Buffer.from('{"id": ')],
    ['a JSON array', Buffer.from('[]')],
    ['a JSON string', Buffer.from('"x"')],
    ['JSON null', Buffer.from('null')],
    ['invalid UTF-8', Buffer.from([0x7b, 0xff, 0xfe, 0x7d])],
  ])('reports %s as invalid_json', (_label, value) => {
    expectFailure(parseCloudEvent(value, {}, MAX, FALLBACK), 'invalid_json');
  });

  it('checks the size before parsing', () => {
    const value = Buffer.from(JSON.stringify(validEvent));
    expectFailure(parseCloudEvent(value, {}, value.length - 1, FALLBACK), 'too_large', String(value.length));
    expect(parseCloudEvent(value, {}, value.length, FALLBACK).ok).toBe(true);
    expectFailure(parseCloudEvent(Buffer.alloc(100, 0xff), {}, 10, FALLBACK), 'too_large');
  });

  it('does not read attributes from the prototype chain', () => {
    const value = Buffer.from(
      '{"__proto__":{"specversion":"1.0","id":"x","source":"s","type":"t","tenantid":"t"},"constructor":{}}',
    );
    expectFailure(parseCloudEvent(value, {}, MAX, FALLBACK), 'missing_attribute', "'specversion'");
    expect(({} as Record<string, unknown>).specversion).toBeUndefined();
  });

  it('refuses data nested deeper than the limit, which JSON.stringify could not serialise', () => {
    let deep: unknown = 1;
    for (let i = 0; i < MAX_DATA_DEPTH; i++) deep = [deep];
    expect(structured({ ...validEvent, data: deep }).ok).toBe(true);
    expectFailure(structured({ ...validEvent, data: [deep] }), 'invalid_attribute', "'data'");
    const hostile = Buffer.from(
      `{"specversion":"1.0","id":"i","source":"s","type":"t","tenantid":"x","data":${'['.repeat(100_000)}${']'.repeat(100_000)}}`,
    );
    expectFailure(parseCloudEvent(hostile, {}, 1024 * 1024, FALLBACK), 'invalid_attribute', "'data'");
  });

  it('ignores unknown extension attributes', () => {
    expect(structured({ ...validEvent, traceparent: '00-abc', partitionkey: 'k' }).ok).toBe(true);
  });
});

describe('parseCloudEvent, binary mode', () => {
  const ceHeaders = {
    ce_specversion: '1.0',
    ce_id: 'evt_9',
    ce_source: '/status',
    ce_type: 'status.changed',
    ce_time: '2024-05-01T09:30:00Z',
    ce_tenantid: 'tenant-b',
  };

  it('takes attributes from ce_ headers and parses a JSON body as data', () => {
    const result = parseCloudEvent(
      Buffer.from('{"status":"active"}'),
      { ...ceHeaders, 'content-type': 'application/json' },
      MAX,
      FALLBACK,
    );
    expect(expectEvent(result)).toEqual({
      specversion: '1.0',
      id: 'evt_9',
      source: '/status',
      type: 'status.changed',
      time: '2024-05-01T09:30:00.000Z',
      tenantId: 'tenant-b',
      data: { status: 'active' },
    });
  });

  it('matches header names case-insensitively', () => {
    const upper = Object.fromEntries(Object.entries(ceHeaders).map(([k, v]) => [k.toUpperCase(), v]));
    const result = parseCloudEvent(Buffer.from('{}'), { ...upper, 'Content-Type': 'application/json' }, MAX);
    expect(expectEvent(result).data).toEqual({});
  });

  it('lets a structured content type win over stray ce_ headers', () => {
    const result = parseCloudEvent(
      Buffer.from(JSON.stringify(validEvent)),
      { ...ceHeaders, 'content-type': 'application/cloudevents+json' },
      MAX,
    );
    expect(expectEvent(result).id).toBe('evt_123');
  });

  it('parses +json media types as JSON', () => {
    const result = parseCloudEvent(
      Buffer.from('[1]'),
      { ...ceHeaders, 'content-type': 'application/vnd.x+json' },
      MAX,
    );
    expect(expectEvent(result).data).toEqual([1]);
  });

  it('keeps a non-JSON body as base64', () => {
    const body = Buffer.from([0, 1, 2, 255]);
    const result = parseCloudEvent(body, { ...ceHeaders, 'content-type': 'application/octet-stream' }, MAX);
    expect(expectEvent(result).data).toBe(body.toString('base64'));
    const noType = parseCloudEvent(body, ceHeaders, MAX);
    expect(expectEvent(noType).data).toBe(body.toString('base64'));
  });

  it('treats an empty body as null data', () => {
    expect(expectEvent(parseCloudEvent(null, ceHeaders, MAX)).data).toBeNull();
  });

  it('reports invalid JSON in a JSON body', () => {
    expectFailure(
      parseCloudEvent(Buffer.from('{oops'), { ...ceHeaders, 'content-type': 'application/json' }, MAX),
      'invalid_json',
    );
  });

  it('uses the fallback time when ce_time is absent', () => {
    const { ce_time: _time, ...headers } = ceHeaders;
    expect(expectEvent(parseCloudEvent(null, headers, MAX, FALLBACK)).time).toBe(FALLBACK);
  });

  it.each(['ce_id', 'ce_source', 'ce_type', 'ce_tenantid'])(
    'reports a missing %s header by attribute name',
    (name) => {
      const headers: Record<string, string | undefined> = { ...ceHeaders, [name]: undefined };
      expectFailure(parseCloudEvent(null, headers, MAX), 'missing_attribute', `'${name.slice(3)}'`);
    },
  );

  it('rejects an unsupported ce_specversion', () => {
    expectFailure(
      parseCloudEvent(null, { ...ceHeaders, ce_specversion: '0.3' }, MAX),
      'unsupported_specversion',
    );
  });

  it('applies the size limit to the body', () => {
    expectFailure(parseCloudEvent(Buffer.alloc(11), ceHeaders, 10), 'too_large');
  });
});

describe('toStructuredCloudEvent', () => {
  it('round-trips through the parser', () => {
    const event: PlatformEvent = {
      specversion: '1.0',
      id: 'evt_rt',
      source: '/x',
      type: 'transaction.processed',
      time: '2024-05-01T09:30:00.000Z',
      tenantId: 't',
      data: { amount: 12.5, nested: { ok: true }, text: 'é✓' },
    };
    const json = toStructuredCloudEvent(event);
    expect(JSON.parse(json)).toMatchObject({ tenantid: 't', specversion: '1.0' });
    expect(expectEvent(parseCloudEvent(Buffer.from(json), {}, MAX))).toEqual(event);
  });

  it('writes undefined data as null', () => {
    const json = toStructuredCloudEvent({ ...expectEvent(structured(validEvent)), data: undefined });
    expect(JSON.parse(json).data).toBeNull();
  });
});

describe('parseRfc3339', () => {
  it.each([
    ['2024-05-01T09:30:00Z', Date.UTC(2024, 4, 1, 9, 30)],
    ['2024-05-01t09:30:00z', Date.UTC(2024, 4, 1, 9, 30)],
    ['2024-05-01T09:30:00.123456789Z', Date.UTC(2024, 4, 1, 9, 30, 0, 123)],
    ['2024-05-01T09:30:00-01:30', Date.UTC(2024, 4, 1, 11, 0)],
    ['2024-02-29T00:00:00Z', Date.UTC(2024, 1, 29)],
    ['2016-12-31T23:59:60Z', Date.UTC(2017, 0, 1)],
    ['0050-01-01T00:00:00Z', Date.parse('0050-01-01T00:00:00.000Z')],
    // Year 0 is a leap year (1900, where Date.UTC puts it, is not).
    ['0000-02-29T00:00:00Z', Date.parse('0000-02-29T00:00:00.000Z')],
    ['0000-03-01T00:00:00+01:00', Date.parse('0000-02-29T23:00:00.000Z')],
  ])('parses %p', (value, expected) => {
    expect(parseRfc3339(value)).toBe(expected);
  });

  it.each([
    '2023-02-29T00:00:00Z',
    '0100-02-29T00:00:00Z',
    '2024-05-01T09:30:00',
    '2024-05-01 09:30:00Z',
    '2024-05-01T09:30Z',
    '2024-05-01T09:30:00+2:00',
    '2024-05-01T09:30:00+24:00',
    ' 2024-05-01T09:30:00Z',
    '9999-12-31T23:59:59-01:00',
    'Wed, 01 May 2024 09:30:00 GMT',
  ])('rejects %p', (value) => {
    expect(parseRfc3339(value)).toBeNull();
  });
});

describe('timestampToIso', () => {
  it('is undefined for a timestamp no Date can hold, which the broker still accepts', () => {
    expect(timestampToIso(2 ** 60)).toBeUndefined();
    expect(timestampToIso(Number.NaN)).toBeUndefined();
    expect(timestampToIso(0)).toBe('1970-01-01T00:00:00.000Z');
  });
});

describe('kafkaTimestampToIso', () => {
  it('converts epoch milliseconds', () => {
    expect(kafkaTimestampToIso('1714555800000')).toBe('2024-05-01T09:30:00.000Z');
  });
  it.each([undefined, '', '-1', 'abc', '1e12', '9'.repeat(16)])('gives undefined for %p', (value) => {
    expect(kafkaTimestampToIso(value)).toBeUndefined();
  });
});

describe('parseCloudEvent never throws', () => {
  const headerSets: Array<Record<string, string | undefined>> = [
    {},
    { 'content-type': 'application/json' },
    { ce_specversion: '1.0', 'content-type': 'application/json' },
    { ce_specversion: '1.0' },
    {
      ce_specversion: '1.0',
      ce_id: 'i',
      ce_source: 's',
      ce_type: 't',
      ce_tenantid: 'x',
      'content-type': 'a/b+json',
    },
  ];

  it('on random bytes', () => {
    const random = mulberry32(7);
    let parsed = 0;
    for (let i = 0; i < 3000; i++) {
      const value = Buffer.alloc(Math.floor(random() * 200));
      for (let j = 0; j < value.length; j++) value[j] = Math.floor(random() * 256);
      for (const headers of headerSets) {
        const result = parseCloudEvent(value, headers, 150, FALLBACK);
        expect(typeof result.ok).toBe('boolean');
        if (result.ok) parsed++;
      }
    }
    // Random bytes are only ever accepted as a binary-mode base64 body.
    expect(parsed).toBeGreaterThan(0);
  });

  it('on mutated valid events', () => {
    const random = mulberry32(11);
    const original = Buffer.from(JSON.stringify(validEvent));
    const alphabet = '{}[]":,.\\0123456789eE+-tfnul ';
    for (let i = 0; i < 5000; i++) {
      const value = Buffer.from(original);
      const edits = 1 + Math.floor(random() * 4);
      for (let e = 0; e < edits; e++) {
        const position = Math.floor(random() * value.length);
        value[position] =
          random() < 0.5
            ? alphabet.charCodeAt(Math.floor(random() * alphabet.length))
            : Math.floor(random() * 256);
      }
      const result = parseCloudEvent(value, headerSets[i % headerSets.length], MAX, FALLBACK);
      if (!result.ok) expect(result.detail.length).toBeGreaterThan(0);
    }
  });

  it('on hostile JSON values for every attribute', () => {
    const hostile: unknown[] = [
      null,
      true,
      0,
      -1,
      1e308,
      '',
      ' ',
      '\u0000',
      [],
      {},
      [[]],
      { toString: 1 },
      'a'.repeat(10_000),
    ];
    for (const name of ['specversion', 'id', 'source', 'type', 'tenantid', 'time', 'data', 'data_base64']) {
      for (const value of hostile) {
        const result = structured({ ...validEvent, [name]: value });
        expect(typeof result.ok).toBe('boolean');
      }
    }
  });
});
