import type { DataSource } from 'typeorm';
import { startStack, stopStack, structuredEvent, type Stack } from '../support/stack';
import { waitFor } from '../support/wait';

/** README decision 22: an endpoint that cannot take deliveries has them held in PostgreSQL, not cycled. */
describe('retries: deliveries held while the circuit is open', () => {
  let stack: Stack;
  let db: DataSource;

  beforeAll(async () => {
    stack = await startStack('held', {
      HOOKSTREAM_INPUT_PARTITIONS: '1',
      HOOKSTREAM_RETRY_DELAYS: '300ms,300ms,300ms,300ms,300ms,300ms,300ms,300ms,300ms,300ms',
      HOOKSTREAM_CIRCUIT_FAILURE_THRESHOLD: '3',
      HOOKSTREAM_CIRCUIT_OPEN_FOR: '1s',
      // /metrics serves held deliveries as last read in the background (README decision 53).
      HOOKSTREAM_GAUGE_REFRESH: '1s',
    });
    db = await stack.database.connect();
  });
  afterAll(() => stopStack(stack));

  const heldRows = async (): Promise<number> => {
    const [row] = await db.query<Array<{ count: number }>>(
      'SELECT count(*)::int AS count FROM held_deliveries',
    );
    return row.count;
  };

  const metric = async (name: string): Promise<number> => {
    const text = await fetch(`${stack.service.url}/metrics`).then((response) => response.text());
    const match = new RegExp(`^${name} (\\d+)$`, 'm').exec(text);
    if (!match) throw new Error(`${name} not in /metrics`);
    return Number(match[1]);
  };

  it('holds a down endpoint backlog in PostgreSQL, probes it alone, and delivers all of it once it recovers', async () => {
    const { api, receiver, producer, inputTopic } = stack;
    const tenant = await api.createTenant('Held');
    await tenant.client.ok('POST', '/v1/endpoints', { url: receiver.url('/down'), maxConcurrency: 5 });
    let down = true;
    const delivered = new Set<string>();
    receiver.respond('/down', (request) => {
      if (down) return { status: 503 };
      delivered.add(request.headers['webhook-id']);
      return { status: 204 };
    });
    const publish = (from: number, to: number) =>
      producer.send({
        topic: inputTopic,
        acks: -1,
        messages: Array.from(
          { length: to - from },
          (_, index) => structuredEvent(tenant.id, 'record.updated', { seq: from + index }).message,
        ),
      });
    const first = 200;
    await publish(0, first);
    // Most of the backlog waits as rows: the endpoint saw a few attempts, not one per delivery.
    let held = 0;
    await waitFor(async () => (held = await heldRows()) >= first / 2, {
      what: () => `half of ${first} deliveries held (held ${held})`,
    });
    await waitFor(async () => (await metric('hookstream_held_deliveries')) >= first / 2, {
      what: `hookstream_held_deliveries in /metrics to reach ${first / 2}`,
    });
    // While it stays down the circuit lets one probe through per opening: a second of open circuit
    // at a time, so a few probes, not the whole backlog again.
    const attemptsWhileDown = receiver.on('/down').length;
    await waitFor(() => receiver.on('/down').length >= attemptsWhileDown + 2, {
      what: 'two more probes while the endpoint is down',
    });
    expect(receiver.on('/down').length).toBeLessThan(attemptsWhileDown + 20);

    // Events published while the circuit is open are held by the fan-out itself, without a pass
    // through the deliveries topic (the circuit is half-open for moments between probes).
    const count = first + 50;
    await publish(first, count);
    await waitFor(
      async () => (await metric('hookstream_deliveries_total\\{outcome="held_at_fanout"\\}')) > 0,
      { what: 'a delivery held by the fan-out' },
    );

    down = false;
    await waitFor(() => delivered.size === count, {
      timeoutMs: 60_000,
      what: () => `${count} deliveries after recovery (got ${delivered.size})`,
    });
    await waitFor(async () => (await heldRows()) === 0, { what: 'no held rows left' });
    expect(await metric('hookstream_held_released_total')).toBeGreaterThanOrEqual(first / 2);
  });
});

describe('retries: held deliveries still age out', () => {
  let stack: Stack;

  beforeAll(async () => {
    // The circuit stays open for the whole test, so nothing but age can move a held delivery.
    stack = await startStack('held-age', {
      HOOKSTREAM_RETRY_DELAYS: '500ms,1s',
      HOOKSTREAM_CIRCUIT_FAILURE_THRESHOLD: '2',
      HOOKSTREAM_CIRCUIT_OPEN_FOR: '5m',
      HOOKSTREAM_MAX_ATTEMPT_AGE: '3s',
    });
  });
  afterAll(() => stopStack(stack));

  it('dead-letters a delivery held past HOOKSTREAM_MAX_ATTEMPT_AGE while its endpoint stays down', async () => {
    const { api, receiver, producer, inputTopic } = stack;
    const tenant = await api.createTenant('Aged');
    const endpoint = await tenant.client.ok('POST', '/v1/endpoints', { url: receiver.url('/gone-quiet') });
    receiver.respond('/gone-quiet', { status: 503 });
    const count = 20;
    await producer.send({
      topic: inputTopic,
      acks: -1,
      messages: Array.from(
        { length: count },
        (_, seq) => structuredEvent(tenant.id, 'record.updated', { seq }).message,
      ),
    });
    let reasons: string[] = [];
    await waitFor(
      async () => {
        const page = await tenant.client.ok('GET', `/v1/dead-letters?endpointId=${endpoint.id}&limit=100`);
        reasons = (page.data as Array<{ reason: string }>).map((dead) => dead.reason);
        return reasons.length === count;
      },
      { timeoutMs: 45_000, what: () => `${count} dead letters (got ${reasons.length})` },
    );
    expect(new Set(reasons)).toEqual(new Set(['max_age_exceeded']));
    // Two attempts opened the circuit; nothing else reached the endpoint.
    expect(receiver.on('/gone-quiet')).toHaveLength(2);
  });
});
