import { decodeTask } from '../domain/delivery-task';
import { endpointChangeMarker } from '../domain/endpoint-change-marker';
import { TransientError } from '../domain/transient';
import { endpoint } from '../testing/fakes';
import {
  config,
  deliveries,
  dlq,
  event,
  orders,
  record,
  settledAfter,
  status,
  TENANT,
  world,
} from '../testing/fanout-world';

/** The endpoint-change marker the API writes for `endpointId`, as the fan-out reads it. */
function marker(endpointId: string) {
  const written = endpointChangeMarker(TENANT, endpointId);
  return record(written.value as string, written.headers as Record<string, string>);
}

const eventIdsTo = (sent: Array<{ key: unknown; value: unknown }>) =>
  sent.map((task) => [task.key, decodeTask(task.value as Buffer).eventId]);

describe('FanoutService: endpoint-change markers', () => {
  it('refreshes an endpoint named by a change marker before the events after it', async () => {
    const created = endpoint({ id: '0a000000-0000-4000-8000-000000000009' });
    const { producer, fanOut } = world([], [created]);
    await fanOut(record(event('e-before')), marker(created.id), record(event('e-after')));
    expect(producer.to(deliveries).map((t) => decodeTask(t.value as Buffer).eventId)).toEqual(['e-after']);
    expect(producer.to(dlq)).toEqual([]);
  });

  it('refreshes a run of 500 markers of one endpoint with one call, before the events after it', async () => {
    // Cached before a PATCH moved it from status.changed to record.*; the markers say so.
    const patched = { ...status, eventTypes: ['record.*'] };
    const { producer, refreshes, fanOut } = world([status], [patched]);
    const patches = Array.from({ length: 500 }, () => marker(status.id));
    await fanOut(record(event('e-before')), ...patches, record(event('e-after')));
    expect(refreshes).toEqual([[status.id]]);
    expect(eventIdsTo(producer.to(deliveries))).toEqual([[status.id, 'e-after']]);
  });

  it('refreshes the markers of three endpoints in one call naming each once', async () => {
    const [a, b, c] = ['a1', 'a2', 'a3'].map((suffix) =>
      endpoint({ id: `0a000000-0000-4000-8000-0000000000${suffix}`, eventTypes: ['record.*'] }),
    );
    const { producer, refreshes, fanOut } = world([], [a, b, c]);
    await fanOut(
      marker(a.id),
      marker(b.id),
      marker(a.id),
      marker(c.id),
      marker(b.id),
      record(event('e-after')),
    );
    expect(refreshes).toEqual([[a.id, b.id, c.id]]);
    expect(eventIdsTo(producer.to(deliveries))).toEqual([
      [a.id, 'e-after'],
      [b.id, 'e-after'],
      [c.id, 'e-after'],
    ]);
  });

  it('applies each run of markers before the events after it, and a run that ends the batch before it resolves', async () => {
    const [a, b] = ['b1', 'b2'].map((suffix) =>
      endpoint({ id: `0a000000-0000-4000-8000-0000000000${suffix}`, eventTypes: ['record.*'] }),
    );
    const { producer, refreshes, fanOut } = world([], [a, b]);
    await fanOut(marker(a.id), record(event('e-1')), marker(b.id), record(event('e-2')), marker(a.id));
    expect(refreshes).toEqual([[a.id], [b.id], [a.id]]);
    expect(eventIdsTo(producer.to(deliveries))).toEqual([
      [a.id, 'e-1'],
      [a.id, 'e-2'],
      [b.id, 'e-2'],
    ]);
  });
});

describe("FanoutService: PostgreSQL on a partition's path", () => {
  const deadlineMs = config.fanoutDatabaseTimeoutMs;
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('waits (rejects with a transient error) rather than calling a tenant unknown while PostgreSQL is down', async () => {
    const { producer, fanOut, db } = world([orders]);
    db.down = true;
    await expect(fanOut(record(event('e-9')))).rejects.toBeInstanceOf(TransientError);
    expect(producer.sent).toEqual([]);
  });

  it('goes on past a marker refresh that hangs, at HOOKSTREAM_FANOUT_DB_TIMEOUT, counting it', async () => {
    const { producer, hangs, fanOut, timeouts } = world([orders]);
    hangs.refresh = true;
    const run = fanOut(marker(orders.id), record(event('e-1')));
    expect(await settledAfter(deadlineMs - 1, run)).toEqual({ state: 'pending' });
    expect(await settledAfter(1, run)).toEqual({ state: 'fulfilled', value: undefined });
    // Matched against the endpoint as cached: NOTIFY or the reload brings the change.
    expect(eventIdsTo(producer.to(deliveries))).toEqual([[orders.id, 'e-1']]);
    expect(await timeouts('marker_refresh')).toBe(1);
  });

  it('rejects with a transient error when the lookup of a tenant not cached hangs, at the deadline, sending nothing', async () => {
    const { producer, hangs, fanOut, timeouts } = world([orders]);
    hangs.tenant = true;
    const run = fanOut(record(event('e-1')));
    expect(await settledAfter(deadlineMs - 1, run)).toEqual({ state: 'pending' });
    const ended = await settledAfter(1, run);
    expect(ended).toEqual({ state: 'rejected', reason: expect.any(TransientError) });
    expect(ended.state === 'rejected' && String(ended.reason)).toContain(
      `tenant_lookup: no answer from PostgreSQL within ${deadlineMs} ms`,
    );
    expect(producer.sent).toEqual([]);
    expect(await timeouts('tenant_lookup')).toBe(1);
  });
});
