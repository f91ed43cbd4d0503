/**
 * kafkajs 2.2.4 as `patches/kafkajs+2.2.4.patch` leaves it (applied by `npm ci`'s postinstall, README
 * decision 76). Unpatched, a connection's request queue re-armed a timer every millisecond from its
 * first answer on, for as long as it lived (tulios/kafkajs#1556): an idle service of two workers spent
 * 17 % of a core, 13-14 % with the patch. These tests fail on the unpatched file.
 */
// The request queue is internal to kafkajs and untyped, like the partitioner partitioning.ts reads.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const RequestQueue = require('kafkajs/src/network/requestQueue') as new (options: object) => Queue;

interface Queue {
  push(request: { entry: object; expectResponse: boolean; sendRequest: () => void }): void;
  fulfillRequest(response: { correlationId: number; payload: Buffer; size: number }): void;
  maybeThrottle(ms: number): void;
  destroy(): void;
  pending: unknown[];
}

const silent = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
};

function queue(maxInFlightRequests: number | null = null): Queue {
  return new RequestQueue({
    maxInFlightRequests,
    requestTimeout: 30_000,
    enforceRequestTimeout: false,
    clientId: 'spec',
    broker: '127.0.0.1:9092',
    logger: silent,
  });
}

function request(correlationId: number, sent: number[]) {
  return {
    entry: {
      correlationId,
      apiKey: 1,
      apiName: 'Fetch',
      apiVersion: 11,
      resolve: () => undefined,
      reject: () => undefined,
    },
    expectResponse: true,
    sendRequest: () => sent.push(correlationId),
  };
}

describe('kafkajs request queue (patched)', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('arms no timer once its requests are answered and nothing waits', () => {
    const sent: number[] = [];
    const subject = queue();
    subject.push(request(1, sent));
    subject.fulfillRequest({ correlationId: 1, payload: Buffer.alloc(0), size: 0 });
    expect(sent).toEqual([1]);
    expect(jest.getTimerCount()).toBe(0);
    subject.destroy();
  });

  it('still sends a request that waited for the in-flight limit when an answer frees a slot', () => {
    const sent: number[] = [];
    const subject = queue(1);
    subject.push(request(1, sent));
    subject.push(request(2, sent));
    expect(sent).toEqual([1]);
    subject.fulfillRequest({ correlationId: 1, payload: Buffer.alloc(0), size: 0 });
    expect(sent).toEqual([1, 2]);
    subject.fulfillRequest({ correlationId: 2, payload: Buffer.alloc(0), size: 0 });
    jest.runOnlyPendingTimers();
    expect(jest.getTimerCount()).toBe(0);
    subject.destroy();
  });

  it('sends a request held by a broker throttle once the throttle ends, then arms nothing', () => {
    const sent: number[] = [];
    const subject = queue();
    subject.maybeThrottle(500);
    subject.push(request(1, sent));
    expect(sent).toEqual([]);
    jest.advanceTimersByTime(499);
    expect(sent).toEqual([]);
    jest.advanceTimersByTime(20);
    expect(sent).toEqual([1]);
    subject.fulfillRequest({ correlationId: 1, payload: Buffer.alloc(0), size: 0 });
    expect(subject.pending).toHaveLength(0);
    expect(jest.getTimerCount()).toBe(0);
    subject.destroy();
  });
});
