import type { DataSource } from 'typeorm';
import { summed } from '../support/metrics';
import { startStack, stopStack, structuredEvent, type Stack } from '../support/stack';
import { waitFor } from '../support/wait';

/**
 * Issue 16, "HeldRelease asks its own process whether an endpoint can take deliveries": a replica
 * that never tried the endpoint said yes and handed the held rows back in batches to a tier whose
 * owner, circuit open, held them again, PostgreSQL → Kafka → PostgreSQL, as long as the endpoint
 * stayed down. Only the endpoint's owner releases its rows now, by the circuit that decides them.
 */
describe('two replicas: held deliveries released by their owner only', () => {
  let stack: Stack | undefined;
  let db: DataSource;
  let urls: string[];

  beforeAll(async () => {
    const env = {
      HOOKSTREAM_INPUT_PARTITIONS: '1',
      // One partition each: one replica owns the endpoint, the other never tries it.
      HOOKSTREAM_DELIVERY_PARTITIONS: '2',
      HOOKSTREAM_RETRY_DELAYS: '300ms,300ms,300ms,300ms,300ms,300ms,300ms,300ms',
      HOOKSTREAM_CIRCUIT_FAILURE_THRESHOLD: '3',
      HOOKSTREAM_CIRCUIT_OPEN_FOR: '2s',
    };
    stack = await startStack('held-owner', env);
    await stack.bootReplica('held-owner-2', env);
    urls = [stack.service.url, ...stack.replicas.map((replica) => replica.url)];
    db = await stack.database.connect();
  });

  afterAll(() => stopStack(stack));

  const heldRows = async (): Promise<number> => {
    const [row] = await db.query<Array<{ count: number }>>(
      'SELECT count(*)::int AS count FROM held_deliveries',
    );
    return row.count;
  };

  it('keeps a down endpoint backlog held, probing it alone, and delivers all of it once it is back', async () => {
    const { api, receiver, producer, inputTopic } = stack!;
    const tenant = await api.createTenant('held-owner');
    await tenant.client.ok('POST', '/v1/endpoints', { url: receiver.url('/down'), maxConcurrency: 5 });
    let down = true;
    const delivered = new Set<string>();
    receiver.respond('/down', (request) => {
      if (down) return { status: 503 };
      delivered.add(request.headers['webhook-id']);
      return { status: 204 };
    });
    const events = Array.from({ length: 300 }, (_, seq) =>
      structuredEvent(tenant.id, 'record.updated', { seq }),
    );
    await producer.send({ topic: inputTopic, acks: -1, messages: events.map((event) => event.message) });

    let held = 0;
    await waitFor(async () => (held = await heldRows()) >= 250, {
      what: () => `most of 300 deliveries held (held ${held})`,
      timeoutMs: 60_000,
    });
    // While the endpoint stays down: two more openings of its circuit, each letting one probe out.
    const releasedBefore = await summed(urls, 'hookstream_held_released_total');
    const attemptsBefore = receiver.on('/down').length;
    await waitFor(() => receiver.on('/down').length >= attemptsBefore + 2, {
      what: 'two more probes while the endpoint is down',
      timeoutMs: 30_000,
    });
    const released = (await summed(urls, 'hookstream_held_released_total')) - releasedBefore;
    // A probe at a time, never a batch: rows did not go round PostgreSQL → Kafka → PostgreSQL.
    expect(released).toBeLessThanOrEqual(receiver.on('/down').length - attemptsBefore + 2);
    expect(await summed(urls, 'hookstream_held_turned_away_total{release="batch"}')).toBe(0);
    expect(await heldRows()).toBeGreaterThanOrEqual(held - 10);

    down = false;
    await waitFor(() => events.every((event) => delivered.has(event.id)), {
      what: () => `all 300 events delivered once the endpoint is back (${delivered.size})`,
      timeoutMs: 90_000,
    });
    expect(await heldRows()).toBe(0);
  });
});
