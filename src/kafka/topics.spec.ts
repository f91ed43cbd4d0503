import { DELIVERY_RECORD_OVERHEAD_BYTES, topicsTooSmallForDeliveries } from './topics';

describe('topicsTooSmallForDeliveries', () => {
  const brokerDefault = 1_048_588;

  it("names the topics whose max.message.bytes cannot take an event's largest delivery record", () => {
    const limits = new Map([
      ['hs.deliveries', brokerDefault],
      ['hs.retry-5s', brokerDefault],
      ['hs.dlq', 2 * brokerDefault],
    ]);
    // The default 256 KiB fits the broker's default limit with room to spare.
    expect(topicsTooSmallForDeliveries(256 * 1024, limits)).toEqual([]);
    expect(topicsTooSmallForDeliveries(brokerDefault - DELIVERY_RECORD_OVERHEAD_BYTES, limits)).toEqual([]);
    // 1 MiB of data plus a retry's headers is over it: the DLQ, raised, still takes it.
    expect(topicsTooSmallForDeliveries(1024 * 1024, limits)).toEqual(['hs.deliveries', 'hs.retry-5s']);
  });

  it('bounds the largest task around 256-character attributes of 6 JSON bytes each, and two 500-unit headers', () => {
    const attribute = '\ud800'.repeat(256); // a lone surrogate: JSON writes it as \ud800, 6 bytes
    const task = JSON.stringify({
      deliveryId: '00000000-0000-5000-a000-000000000000',
      eventId: attribute,
      endpointId: '00000000-0000-4000-8000-000000000000',
      tenantId: '00000000-0000-4000-8000-000000000000',
      eventType: attribute,
      eventTime: attribute,
      data: null,
      publishedAtMs: Number.MAX_SAFE_INTEGER,
      orderingKey: attribute,
      mac: 'x'.repeat(44),
    });
    const headers = 2 * 500 * 3 + 200;
    expect(Buffer.byteLength(task) + headers).toBeLessThan(DELIVERY_RECORD_OVERHEAD_BYTES);
  });
});
