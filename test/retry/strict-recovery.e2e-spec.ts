import type { DataSource } from 'typeorm';
import { sampleOf, scrape } from '../support/metrics';
import { startStack, stopStack, structuredEvent, type Stack } from '../support/stack';
import { waitFor } from '../support/wait';

/**
 * Blocks nothing else would lift. First, a strict endpoint's block names a delivery that was
 * promoted from the parking lot and never handed on: what a process SIGKILLed between the
 * promotion and the tier write leaves behind (two full chaos runs lost 438 and 793 deliveries
 * behind such a block). The state is made by hand in PostgreSQL, exactly as the promotion leaves
 * it, on the running service; the service must find it and deliver the rest of the stream, in
 * order. Then, a blocked strict endpoint is switched to `none`: what is parked behind it must be
 * delivered without waiting for its head.
 */
describe('strict ordering: blocks nothing else would lift', () => {
  let stack: Stack;
  let db: DataSource;

  beforeAll(async () => {
    stack = await startStack('strict-recovery', {
      HOOKSTREAM_INPUT_PARTITIONS: '1',
      // The failing head waits long in its tier: nothing but the recovery can move the stream.
      HOOKSTREAM_RETRY_DELAYS: '2m,2m',
    });
    db = await stack.database.connect();
  });
  afterAll(() => stopStack(stack));

  it('is handed on by the service and the parked deliveries behind it follow, in order', async () => {
    const { api, receiver, producer, inputTopic } = stack;
    const tenant = await api.createTenant('Strict recovery');
    const endpoint = await tenant.client.ok<{ id: string }>('POST', '/v1/endpoints', {
      url: receiver.url('/strict'),
      ordering: 'strict',
    });
    // The head (seq 0) fails: it blocks the endpoint and the rest park behind it.
    receiver.respond('/strict', (request) =>
      (JSON.parse(request.body) as { data: { seq: number } }).data.seq === 0
        ? { status: 503 }
        : { status: 204 },
    );
    const count = 5;
    await producer.send({
      topic: inputTopic,
      acks: -1,
      messages: Array.from(
        { length: count },
        (_, seq) => structuredEvent(tenant.id, 'record.updated', { seq }).message,
      ),
    });
    const parked = () =>
      db.query<Array<{ id: string; delivery_id: string }>>(
        `SELECT id, delivery_id FROM parked_deliveries WHERE endpoint_id = $1 ORDER BY id`,
        [endpoint.id],
      );
    await waitFor(async () => (await parked()).length === count - 1, {
      what: `${count - 1} parked deliveries`,
    });
    expect(receiver.on('/strict')).toHaveLength(1);

    // The head finished and the next was promoted; the process died before handing it on, 61 s ago.
    const [next] = await parked();
    await db.query(
      `UPDATE endpoint_blocks SET delivery_id = $2, blocked_at = now() - interval '61 seconds'
        WHERE endpoint_id = $1`,
      [endpoint.id, next.delivery_id],
    );

    const seqs = () =>
      receiver
        .on('/strict')
        .map((request) => (JSON.parse(request.body) as { data: { seq: number } }).data.seq)
        .filter((seq) => seq !== 0);
    await waitFor(() => seqs().length >= count - 1, {
      what: () => `seq 1-${count - 1} on /strict (got ${seqs().join(', ')})`,
    });
    expect(seqs()).toEqual([1, 2, 3, 4]);
    expect(await parked()).toEqual([]);
    expect(sampleOf(await scrape(stack.service.url), 'hookstream_strict_releases_recovered_total')).toBe(1);
  });

  it('hands on what is parked behind an endpoint switched from strict to none while it is blocked', async () => {
    const { api, receiver, producer, inputTopic } = stack;
    const tenant = await api.createTenant('Strict to none');
    const endpoint = await tenant.client.ok<{ id: string }>('POST', '/v1/endpoints', {
      url: receiver.url('/switched'),
      ordering: 'strict',
    });
    const seqOf = (body: string) => (JSON.parse(body) as { data: { seq: number } }).data.seq;
    // The head fails and waits 2 minutes in its tier; the rest park behind it.
    receiver.respond('/switched', (request) =>
      seqOf(request.body) === 0 ? { status: 503 } : { status: 204 },
    );
    const count = 5;
    await producer.send({
      topic: inputTopic,
      acks: -1,
      messages: Array.from(
        { length: count },
        (_, seq) => structuredEvent(tenant.id, 'record.updated', { seq }).message,
      ),
    });
    const parked = () =>
      db.query<Array<{ id: string }>>(`SELECT id FROM parked_deliveries WHERE endpoint_id = $1`, [
        endpoint.id,
      ]);
    await waitFor(async () => (await parked()).length === count - 1, {
      what: `${count - 1} parked deliveries`,
    });

    // Order no longer asked for: the parked deliveries must not wait for the head.
    await tenant.client.ok('PATCH', `/v1/endpoints/${endpoint.id}`, { ordering: 'none' });
    const seqs = () =>
      receiver
        .on('/switched')
        .map((request) => seqOf(request.body))
        .filter((seq) => seq !== 0);
    await waitFor(() => seqs().length >= count - 1, {
      what: () => `seq 1-${count - 1} on /switched (got ${seqs().join(', ')})`,
    });
    expect([...seqs()].sort()).toEqual([1, 2, 3, 4]);
    expect(await parked()).toEqual([]);
    expect(await db.query(`SELECT 1 FROM endpoint_blocks WHERE endpoint_id = $1`, [endpoint.id])).toEqual([]);
  });
});
