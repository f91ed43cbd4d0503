import type { Producer } from 'kafkajs';
import type { EventRecord } from './cloud-event-builder';
import { MAX_REQUEST_BYTES, sendRecords } from './publisher';

/** A producer that, like a broker with the default message.max.bytes, refuses a request past 1 MiB. */
function brokerLike() {
  const requests: EventRecord[][] = [];
  const producer = {
    send: async ({ messages }: { messages: EventRecord[] }) => {
      const bytes = messages.reduce((sum, message) => sum + message.value.length, 0);
      if (bytes > 1024 * 1024) throw Object.assign(new Error('MESSAGE_TOO_LARGE'), { retriable: false });
      requests.push(messages);
      return [];
    },
  };
  return { producer: producer as unknown as Producer, requests };
}

const record = (n: number, bytes: number): EventRecord => ({
  key: 'tenant-1',
  value: Buffer.from(JSON.stringify({ n, pad: 'x'.repeat(bytes) })),
  headers: { 'content-type': 'application/cloudevents+json' },
});

describe('sendRecords', () => {
  it("sends one tenant's backlog of 600 rows of 3 KB in requests the broker takes, in order", async () => {
    const { producer, requests } = brokerLike();
    const records = Array.from({ length: 600 }, (_, n) => record(n, 3_000));
    await sendRecords(producer, 'platform.events', records);
    expect(requests.length).toBeGreaterThan(1);
    for (const request of requests) {
      expect(request.reduce((sum, message) => sum + message.value.length, 0)).toBeLessThanOrEqual(
        MAX_REQUEST_BYTES,
      );
    }
    expect(requests.flat()).toEqual(records);
  });

  it('sends a record larger than a request alone, and a small batch in one request', async () => {
    const { producer, requests } = brokerLike();
    const large = record(1, 600_000);
    await sendRecords(producer, 'platform.events', [record(0, 10), large, record(2, 10)]);
    expect(requests.map((request) => request.length)).toEqual([1, 1, 1]);
    await sendRecords(producer, 'platform.events', [record(3, 10), record(4, 10)]);
    expect(requests[3]).toHaveLength(2);
  });
});
