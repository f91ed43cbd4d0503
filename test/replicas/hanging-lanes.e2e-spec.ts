import { sampleOf, scrape } from '../support/metrics';
import { startStack, stopStack, structuredEvent, type Stack } from '../support/stack';
import { waitFor } from '../support/wait';

/**
 * README decision 84: a fan-out holds the deliveries of an endpoint whose lane hangs on another
 * process at once, as it does for an endpoint it owns, instead of sending each through the
 * deliveries topic for the owner to shed. Here the fan-out and the delivery run on two replicas
 * (HOOKSTREAM_ROLES), so every endpoint is owned by the other one; the circuit never opens, so
 * only the reported hang can tell the fan-out.
 */
const HANG = '/hang';
const HELD_AT_FANOUT = 'hookstream_deliveries_total{outcome="held_at_fanout"}';
const SHED = 'hookstream_deliveries_total{outcome="shed"}';
const HANGING = 'hookstream_lanes_hanging';

describe('a lane hanging on its owner is held at the fan-out of another replica', () => {
  let stack: Stack | undefined;

  beforeAll(async () => {
    stack = await startStack('hanging-lanes', {
      HOOKSTREAM_ROLES: 'api,fanout',
      HOOKSTREAM_LANE_STALL_AFTER: '500ms',
      HOOKSTREAM_DELIVERY_TIMEOUT: '10s',
      HOOKSTREAM_RETRY_DELAYS: '300ms,300ms,300ms',
      HOOKSTREAM_CIRCUIT_FAILURE_THRESHOLD: '1000',
    });
    await stack.bootReplica('hanging-lanes-delivery', { HOOKSTREAM_ROLES: 'delivery' });
  });

  afterAll(() => stopStack(stack));

  it('holds at the fan-out once the owner reports the hang, and delivers everything once the endpoint answers', async () => {
    const { receiver, producer, inputTopic } = stack!;
    const fanout = stack!.service.url;
    const owner = stack!.replicas[0].url;
    const tenant = await stack!.api.createTenant('hanging-lanes');
    receiver.respond(HANG, { hang: true });
    const { id } = await tenant.client.ok<{ id: string }>('POST', '/v1/endpoints', {
      url: receiver.url(HANG),
    });
    const published = new Set<string>();
    const publish = async (count: number) => {
      const events = Array.from({ length: count }, () => structuredEvent(tenant.id, 'record.updated', {}));
      for (const event of events) published.add(event.id);
      await producer.send({ topic: inputTopic, acks: -1, messages: events.map((event) => event.message) });
    };

    // The first delivery hangs; the owner's lane hangs half a second later and reports it.
    await publish(3);
    await waitFor(() => receiver.on(HANG).length > 0, { what: 'the first delivery at the hanging receiver' });
    const db = await stack!.database.connect();
    await waitFor(
      async () =>
        (await db.query('SELECT 1 FROM endpoint_lane_hangs WHERE endpoint_id = $1', [id])).length === 1,
      { what: "the owner's report of the hanging lane" },
    );
    // The fan-out reads the reports every second: one event at a time until one is held there.
    await waitFor(
      async () => {
        if (sampleOf(await scrape(fanout), HELD_AT_FANOUT) > 0) return true;
        await publish(1);
        return false;
      },
      { what: 'a delivery held at the fan-out', intervalMs: 200, timeoutMs: 8_000 },
    );

    const heldBefore = sampleOf(await scrape(fanout), HELD_AT_FANOUT);
    const shedBefore = sampleOf(await scrape(owner), SHED);
    await publish(20);
    await waitFor(async () => sampleOf(await scrape(fanout), HELD_AT_FANOUT) >= heldBefore + 20, {
      what: 'the next 20 deliveries held at the fan-out',
      timeoutMs: 5_000,
    });
    // None of them crossed the deliveries topic to be shed by the owner, which counts the hang.
    const ownerMetrics = await scrape(owner);
    expect(sampleOf(ownerMetrics, SHED)).toBe(shedBefore);
    expect(sampleOf(ownerMetrics, HANGING)).toBe(1);

    // The endpoint answers again: the hung attempt times out, and every event arrives.
    receiver.respond(HANG, { status: 204 });
    await waitFor(
      () => {
        const arrived = new Set(
          receiver
            .on(HANG)
            .filter((request) => request.status === 204)
            .map((request) => request.headers['webhook-id']),
        );
        return [...published].every((eventId) => arrived.has(eventId));
      },
      { what: 'every event delivered once the endpoint answers', timeoutMs: 60_000 },
    );
    await waitFor(
      async () =>
        (await db.query('SELECT 1 FROM endpoint_lane_hangs WHERE endpoint_id = $1', [id])).length === 0,
      { what: 'the report gone once the lane moves' },
    );
    expect(sampleOf(await scrape(owner), HANGING)).toBe(0);
  });
});
