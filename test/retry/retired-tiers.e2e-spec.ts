import { connectedAdmin, committedOffsetsOf } from '../support/kafka';
import type { ReceivedRequest } from '../support/receiver';
import { createStack, kafka, stopStack, structuredEvent, type Stack } from '../support/stack';
import { waitFor } from '../support/wait';

/**
 * HOOKSTREAM_RETRY_DELAYS changed while retries wait: the tiers of the old list keep their records
 * (README Section B). Before, nothing read them again after the restart: those retries were lost,
 * and a strict key blocked by one of them stayed blocked.
 */
describe('retry tiers retired by a new HOOKSTREAM_RETRY_DELAYS', () => {
  let stack: Stack;

  beforeAll(async () => {
    stack = await createStack('retired', { HOOKSTREAM_CIRCUIT_FAILURE_THRESHOLD: '1000' });
  });

  afterAll(() => stopStack(stack));

  const event = (tenantId: string, seq: number) =>
    structuredEvent(tenantId, 'record.updated', { seq }).message;

  const seqOf = (request: ReceivedRequest) =>
    (JSON.parse(request.body) as { data: { seq: number } }).data.seq;
  const delivered = (path: string) => stack.receiver.on(path).filter((request) => request.status === 200);

  it('reads the waiting retries of the old tiers after the restart, strict order kept', async () => {
    const { receiver, producer, inputTopic, namespace } = stack;
    const api = await stack.boot('old-delays', { HOOKSTREAM_RETRY_DELAYS: '6s,7s' });
    const tenant = await api.createTenant('Renamed');
    await tenant.client.ok('POST', '/v1/endpoints', { url: receiver.url('/relaxed'), maxConcurrency: 5 });
    await tenant.client.ok('POST', '/v1/endpoints', { url: receiver.url('/strict'), ordering: 'strict' });
    // Every event's first attempt fails; the strict endpoint fails until the restart.
    const attempted = new Set<string>();
    receiver.respond('/relaxed', (request) => {
      const first = !attempted.has(request.headers['webhook-id']);
      attempted.add(request.headers['webhook-id']);
      return { status: first ? 503 : 200 };
    });
    let strictFailing = true;
    receiver.respond('/strict', () => ({ status: strictFailing ? 503 : 200 }));

    const count = 5;
    await producer.send({
      topic: inputTopic,
      acks: -1,
      messages: Array.from({ length: count }, (_, seq) => event(tenant.id, seq)),
    });
    await waitFor(() => attempted.size === count && receiver.on('/strict').length >= 1, {
      what: () => `${count} first attempts on /relaxed (got ${attempted.size}) and the strict head's`,
    });
    // Every retry is now in the 6 s tier, the strict head among them, the rest of its line parked.
    expect(receiver.on('/relaxed')).toHaveLength(count);
    expect(new Set(receiver.on('/strict').map((r) => r.headers['webhook-id'])).size).toBe(1);

    await stack.boot('new-delays', { HOOKSTREAM_RETRY_DELAYS: '1s,2s' });
    strictFailing = false;
    const retired = stack.service.logs.find((entry) =>
      String(entry.msg).startsWith('retry tiers no longer in HOOKSTREAM_RETRY_DELAYS'),
    );
    // The 5 relaxed retries and the strict head wait in the old first tier; the second is empty.
    expect(retired?.topics).toEqual([`${namespace}.retry.1.6s`]);
    expect(retired?.records).toEqual([count + 1]);

    await waitFor(() => delivered('/relaxed').length === count && delivered('/strict').length === count, {
      what: () =>
        `${count} deliveries each on /relaxed (got ${delivered('/relaxed').length}) and /strict (got ${delivered('/strict').length})`,
    });
    expect(new Set(delivered('/relaxed').map((r) => r.headers['webhook-id'])).size).toBe(count);
    expect(delivered('/strict').map(seqOf)).toEqual([0, 1, 2, 3, 4]);

    // Drained: the delivery group commits past every record of the old tiers.
    const admin = await connectedAdmin(kafka);
    try {
      const committed = committedOffsetsOf(
        () => admin,
        () => `${namespace}-delivery`,
      );
      const lag = async (topic: string) => {
        const [ends, offsets] = await Promise.all([admin.fetchTopicOffsets(topic), committed(topic)]);
        return ends.reduce((sum, end) => {
          const at = Number(offsets.find((p) => p.partition === end.partition)?.offset ?? -1);
          return sum + Number(end.high) - Math.max(at, Number(end.low));
        }, 0);
      };
      await waitFor(async () => (await lag(`${namespace}.retry.1.6s`)) === 0, {
        what: 'the old first tier read to its end',
      });

      // Drained, the old tiers are left out at the next boot, so they may be deleted.
      await stack.boot('drained', { HOOKSTREAM_RETRY_DELAYS: '1s,2s' });
      const drained = stack.service.logs.find((entry) =>
        String(entry.msg).startsWith('retired retry tiers read to their end'),
      );
      expect(drained?.topics).toEqual([`${namespace}.retry.1.6s`, `${namespace}.retry.2.7s`]);
      await admin.deleteTopics({ topics: [`${namespace}.retry.1.6s`, `${namespace}.retry.2.7s`] });
      await producer.send({ topic: inputTopic, acks: -1, messages: [event(tenant.id, count)] });
      await waitFor(
        () => delivered('/relaxed').length === count + 1 && delivered('/strict').length === count + 1,
        { what: 'an event after the deletion, retried through the new tiers' },
      );
      expect(
        stack.service.logs.filter((entry) => entry.msg === 'consumer crashed; kafkajs restarts it'),
      ).toEqual([]);
    } finally {
      await admin.disconnect();
    }
  });
});
