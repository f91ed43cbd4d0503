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

  const count = 5;
  const seqOf = (body: string) => (JSON.parse(body) as { data: { seq: number } }).data.seq;
  /** The deliveries of the endpoint's `path` that arrived, by seq, the head (0) left out. */
  const seqsAt = (path: string) =>
    stack.receiver
      .on(path)
      .map((request) => seqOf(request.body))
      .filter((seq) => seq !== 0);

  /**
   * A strict endpoint at `path` whose head (seq 0) fails: it blocks the endpoint and the other
   * `count - 1` deliveries park behind it. Resolves once they are parked.
   */
  async function blockedStrictEndpoint(path: string, tenantName: string) {
    const { api, receiver, producer, inputTopic } = stack;
    const tenant = await api.createTenant(tenantName);
    const endpoint = await tenant.client.ok<{ id: string }>('POST', '/v1/endpoints', {
      url: receiver.url(path),
      ordering: 'strict',
    });
    receiver.respond(path, (request) => (seqOf(request.body) === 0 ? { status: 503 } : { status: 204 }));
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
    return { tenant, endpoint, parked };
  }

  it('is handed on by the service and the parked deliveries behind it follow, in order', async () => {
    const { endpoint, parked } = await blockedStrictEndpoint('/strict', 'Strict recovery');
    expect(stack.receiver.on('/strict')).toHaveLength(1);

    // The head finished and the next was promoted; the process died before handing it on, 61 s ago.
    const [next] = await parked();
    await db.query(
      `UPDATE endpoint_blocks SET delivery_id = $2, blocked_at = now() - interval '61 seconds'
        WHERE endpoint_id = $1`,
      [endpoint.id, next.delivery_id],
    );

    const seqs = () => seqsAt('/strict');
    await waitFor(() => seqs().length >= count - 1, {
      what: () => `seq 1-${count - 1} on /strict (got ${seqs().join(', ')})`,
    });
    expect(seqs()).toEqual([1, 2, 3, 4]);
    expect(await parked()).toEqual([]);
    expect(sampleOf(await scrape(stack.service.url), 'hookstream_strict_releases_recovered_total')).toBe(1);
  });

  it('hands on what is parked behind an endpoint switched from strict to none while it is blocked', async () => {
    const { tenant, endpoint, parked } = await blockedStrictEndpoint('/switched', 'Strict to none');

    // Order no longer asked for: the parked deliveries must not wait for the head.
    await tenant.client.ok('PATCH', `/v1/endpoints/${endpoint.id}`, { ordering: 'none' });
    const seqs = () => seqsAt('/switched');
    await waitFor(() => seqs().length >= count - 1, {
      what: () => `seq 1-${count - 1} on /switched (got ${seqs().join(', ')})`,
    });
    expect([...seqs()].sort()).toEqual([1, 2, 3, 4]);
    expect(await parked()).toEqual([]);
    expect(await db.query(`SELECT 1 FROM endpoint_blocks WHERE endpoint_id = $1`, [endpoint.id])).toEqual([]);
  });
});
