import { parseCloudEvent, toStructuredCloudEvent } from './cloud-event';
import { decodeTask, deliveryTaskFor, encodeTask } from './delivery-task';
import { blocksToRead, laneOrderKey, orderingKeyOf, parkingLot, WHOLE_STREAM } from './ordering-key';

const TENANT = '7b0e6f7e-9a43-4a41-9b43-6f0f2a5c1d11';

function parse(extra: Record<string, unknown>) {
  const value = Buffer.from(
    JSON.stringify({
      specversion: '1.0',
      id: 'evt-1',
      source: '/billing',
      type: 'record.updated',
      time: '2026-01-01T00:00:00Z',
      tenantid: TENANT,
      data: {},
      ...extra,
    }),
  );
  const result = parseCloudEvent(value, {}, 1 << 20);
  if (!result.ok) throw new Error(result.detail);
  return result.event;
}

describe('orderingKeyOf', () => {
  it('takes the partitionkey extension over the subject', () => {
    expect(orderingKeyOf(parse({ partitionkey: 'customer/1', subject: 'invoice/9' }))).toBe('customer/1');
  });

  it('falls back to the subject, then to no key', () => {
    expect(orderingKeyOf(parse({ subject: 'invoice/9' }))).toBe('invoice/9');
    expect(orderingKeyOf(parse({}))).toBeUndefined();
  });

  it('reads partitionkey in binary mode and writes it back in structured mode', () => {
    const result = parseCloudEvent(
      Buffer.from('{}'),
      {
        ce_specversion: '1.0',
        ce_id: 'evt-2',
        ce_source: '/billing',
        ce_type: 'record.updated',
        ce_time: '2026-01-01T00:00:00Z',
        ce_tenantid: TENANT,
        ce_partitionkey: 'customer/2',
        'content-type': 'application/json',
      },
      1 << 20,
    );
    if (!result.ok) throw new Error(result.detail);
    expect(result.event.partitionKey).toBe('customer/2');
    expect(JSON.parse(toStructuredCloudEvent(result.event))).toMatchObject({ partitionkey: 'customer/2' });
  });

  it('refuses a partitionkey that is not storable text', () => {
    const value = Buffer.from(
      JSON.stringify({
        specversion: '1.0',
        id: 'evt-3',
        source: '/b',
        type: 'record.updated',
        time: '2026-01-01T00:00:00Z',
        tenantid: TENANT,
        partitionkey: 'a\u0000b',
      }),
    );
    expect(parseCloudEvent(value, {}, 1 << 20)).toMatchObject({ ok: false, reason: 'invalid_attribute' });
  });

  it('travels in the delivery task, and a task without one stays keyless', () => {
    const keyed = deliveryTaskFor(parse({ subject: 'invoice/9' }), 'ep-1', 0);
    expect(decodeTask(encodeTask(keyed)).orderingKey).toBe('invoice/9');
    const keyless = deliveryTaskFor(parse({}), 'ep-1', 0);
    expect('orderingKey' in decodeTask(encodeTask(keyless))).toBe(false);
  });
});

describe('laneOrderKey', () => {
  it('keeps maxConcurrency 1 as it was: one at a time, the whole stream one key when strict', () => {
    expect(laneOrderKey({ maxConcurrency: 1, ordering: 'none' }, 'k')).toBeNull();
    expect(laneOrderKey({ maxConcurrency: 1, ordering: 'strict' }, 'k')).toBe(WHOLE_STREAM);
    expect(laneOrderKey({ maxConcurrency: 1, ordering: 'strict' }, undefined)).toBe(WHOLE_STREAM);
  });

  it('orders by the key above maxConcurrency 1', () => {
    expect(laneOrderKey({ maxConcurrency: 8, ordering: 'none' }, 'k')).toBe('k');
    expect(laneOrderKey({ maxConcurrency: 8, ordering: 'strict' }, 'k')).toBe('k');
  });

  it('leaves keyless deliveries unordered for none, one stream for strict', () => {
    expect(laneOrderKey({ maxConcurrency: 8, ordering: 'none' }, undefined)).toBeNull();
    expect(laneOrderKey({ maxConcurrency: 8, ordering: 'strict' }, undefined)).toBe(WHOLE_STREAM);
  });
});

describe('parkingLot (decision 74: a block keeps the rule it was made under)', () => {
  const stream = { key: WHOLE_STREAM, wholeStream: true };
  const keyless = { key: WHOLE_STREAM, wholeStream: false };
  const ofK = { key: 'k', wholeStream: false };

  it('reads the lane key, the whole stream behind a record key, and the record behind the whole stream', () => {
    expect(blocksToRead('k', false, 'k')).toEqual(['k', WHOLE_STREAM]);
    expect(blocksToRead(WHOLE_STREAM, true, 'k')).toEqual([WHOLE_STREAM, 'k']);
    expect(blocksToRead(WHOLE_STREAM, false, undefined)).toEqual([WHOLE_STREAM]);
    expect(blocksToRead(WHOLE_STREAM, true, undefined)).toEqual([WHOLE_STREAM]);
  });

  it("parks in the lane key's own lot first, unless its record's earlier deliveries are parked elsewhere", () => {
    expect(parkingLot('k', false, 'k', [ofK, stream])).toBe('k');
    expect(parkingLot(WHOLE_STREAM, true, 'j', [stream, ofK])).toBe(WHOLE_STREAM);
    // Lowered to one at a time while k was blocked, then the stream blocked by another record: in
    // the stream's lot, it would be released when that blocker finishes, ahead of k's lot.
    expect(parkingLot(WHOLE_STREAM, true, 'k', [stream, ofK])).toBe('k');
  });

  it('parks a keyed delivery behind a whole-stream block, not behind the keyless deliveries’ block', () => {
    expect(parkingLot('k', false, 'k', [stream])).toBe(WHOLE_STREAM);
    expect(parkingLot('k', false, 'k', [keyless])).toBeNull();
  });

  it("parks a whole-stream delivery behind its record's block, and no other record's", () => {
    expect(parkingLot(WHOLE_STREAM, true, 'k', [ofK])).toBe('k');
    expect(parkingLot(WHOLE_STREAM, true, 'j', [])).toBeNull();
    expect(parkingLot(WHOLE_STREAM, true, undefined, [])).toBeNull();
  });
});
