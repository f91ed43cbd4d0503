import { parseCloudEvent, type ParseResult, type PlatformEvent } from './cloud-event';
import type { RecordHeaders } from './records';

/** The parser against bytes a producer may send that JSON.parse or a lenient decoder would accept. */

const MAX = 64 * 1024;
const FALLBACK = '2024-05-01T10:00:00.000Z';
const validEvent = {
  specversion: '1.0',
  id: 'evt_123',
  source: '/records',
  type: 'record.updated',
  time: '2024-05-01T09:30:00.123Z',
  tenantid: 'tenant-a',
};
const ceHeaders = {
  ce_specversion: '1.0',
  ce_id: 'evt_9',
  ce_source: '/status',
  ce_type: 'status.changed',
  ce_time: '2024-05-01T09:30:00Z',
  ce_tenantid: 'tenant-b',
};
const INVALID_UTF8: Array<[string, number[]]> = [
  ['byte 0xFF', [0xff]],
  ['overlong NUL 0xC0 0x80', [0xc0, 0x80]],
  ['encoded surrogate 0xED 0xA0 0x80', [0xed, 0xa0, 0x80]],
  ['truncated sequence 0xE2 0x82', [0xe2, 0x82]],
  ['lone continuation byte 0x80', [0x80]],
  ['past U+10FFFF 0xF4 0x90 0x80 0x80', [0xf4, 0x90, 0x80, 0x80]],
];

/** A structured event with `data` spliced in as JSON text (which JSON.stringify cannot write). */
function withData(data: string, extra: Record<string, unknown> = {}): Buffer {
  return Buffer.from(`${JSON.stringify({ ...validEvent, ...extra }).slice(0, -1)},"data":${data}}`);
}

function parse(value: Buffer | null, headers: Readonly<RecordHeaders> = {}): ParseResult {
  return parseCloudEvent(value, headers, MAX, FALLBACK);
}

function expectFailure(result: ParseResult, reason: string, detailPart: string): void {
  expect(result).toMatchObject({ ok: false, reason, detail: expect.stringContaining(detailPart) });
}

function expectEvent(result: ParseResult): PlatformEvent {
  if (!result.ok) throw new Error(`expected a parsed event, got ${result.reason}: ${result.detail}`);
  return result.event;
}

describe('parseCloudEvent and numbers past the double range', () => {
  it.each(['[1e400,-1e400]', '{"n":1e309}', '-1e400', `1${'0'.repeat(400)}`, '[[[{"a":[1E+999]}]]]'])(
    'refuses data %s, which JSON.stringify would write as null',
    (data) => {
      expectFailure(
        parse(withData(data)),
        'invalid_attribute',
        "attribute 'data' holds a number outside the range of a double (RFC 7493 I-JSON)",
      );
    },
  );

  it('keeps the numbers at the edges of the range, and underflow to zero', () => {
    const edges = '[1.7976931348623157e308,-1.7976931348623157e308,5e-324,1e-400]';
    expect(expectEvent(parse(withData(edges))).data).toEqual([
      Number.MAX_VALUE,
      -Number.MAX_VALUE,
      5e-324,
      0,
    ]);
  });

  it('refuses them in binary mode too, and ignores them in extension attributes', () => {
    const binary = parse(Buffer.from('[1e400]'), { ...ceHeaders, 'content-type': 'application/json' });
    expectFailure(binary, 'invalid_attribute', "attribute 'data' holds a number outside");
    expect(expectEvent(parse(withData('{}', { bigext: 1 }))).data).toEqual({});
    const extension = Buffer.from(withData('{}').toString().replace('"data":', '"bigext":1e400,"data":'));
    expect(expectEvent(parse(extension)).data).toEqual({});
  });
});

describe('parseCloudEvent and tenant ids', () => {
  it('reads a tenant id that is a UUID in lower case, whatever case it came in; other ids as sent', () => {
    const uuid = '0f8FAD5B-D9CB-469F-A165-70867728950E';
    const tenantOf = (tenantid: string) => expectEvent(parse(withData('{}', { tenantid }))).tenantId;
    expect(tenantOf(uuid)).toBe(uuid.toLowerCase());
    expect(tenantOf(`{${uuid}}`)).toBe(`{${uuid}}`);
    expect(tenantOf('Tenant-A')).toBe('Tenant-A');
    const binary = parse(null, { ...ceHeaders, ce_tenantid: Buffer.from(uuid) });
    expect(expectEvent(binary).tenantId).toBe(uuid.toLowerCase());
  });
});

describe('parseCloudEvent and header bytes', () => {
  it.each(INVALID_UTF8)(
    'refuses a ce_ header that is not UTF-8 (%s), naming the attribute',
    (_label, bad) => {
      for (const name of ['source', 'subject', 'id', 'type', 'time', 'tenantid', 'specversion']) {
        const value = Buffer.concat([Buffer.from('a'), Buffer.from(bad)]);
        expectFailure(
          parse(null, { ...ceHeaders, [`ce_${name}`]: value }),
          'invalid_attribute',
          `attribute '${name}' (header ce_${name}) is not valid UTF-8`,
        );
      }
    },
  );

  it('reads ce_ headers given as bytes, the last of a repeated one, and ignores bad bytes elsewhere', () => {
    const bytes = Object.fromEntries(Object.entries(ceHeaders).map(([k, v]) => [k, Buffer.from(v)]));
    const result = parse(null, {
      ...bytes,
      ce_source: [Buffer.from([0xff]), Buffer.from('/é')],
      ce_bytesext: Buffer.from([0xff]),
      'x-other': Buffer.from([0xc0, 0x80]),
    });
    expect(expectEvent(result)).toMatchObject({ id: 'evt_9', source: '/é', tenantId: 'tenant-b' });
  });

  it('ignores ce_ headers with bad bytes in structured mode', () => {
    const result = parse(withData('{}'), {
      'content-type': 'application/cloudevents+json',
      ce_source: Buffer.from([0xff]),
    });
    expect(expectEvent(result).source).toBe('/records');
  });

  it('refuses a content-type header that is not UTF-8', () => {
    expectFailure(
      parse(Buffer.from('{}'), { 'content-type': Buffer.from([0xff]) }),
      'unsupported_content_type',
      'not valid UTF-8',
    );
  });
});
