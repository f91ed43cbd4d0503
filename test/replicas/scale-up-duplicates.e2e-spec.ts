import { startStack, stopStack, structuredEvent, type Stack } from '../support/stack';
import { waitFor } from '../support/wait';

const ENDPOINTS = 8;
/** Each answer takes this long, so that deliveries are in flight whenever partitions move. */
const ANSWER_MS = 400;
/** One event (ENDPOINTS deliveries) this often: some 50 deliveries a second, about 20 in flight. */
const EVENT_EVERY_MS = 150;

/**
 * A replica joining takes partitions from those running, with deliveries in flight on them. The
 * losing replica finishes those, commits them and only then releases the partitions; the new owner
 * starts past them (README decision 93). Before, each of them was delivered again by the new owner:
 * every scale-up, and every step of a rolling deploy, sent duplicates.
 */
describe('replicas joining and leaving under load', () => {
  let stack: Stack | undefined;

  beforeAll(async () => {
    const env = {
      HOOKSTREAM_DELIVERY_PARTITIONS: '4',
      // The answers are slow on purpose; their lanes must not count as stalled (held in PostgreSQL).
      HOOKSTREAM_LANE_STALL_AFTER: '10s',
    };
    stack = await startStack('scale-up-duplicates', env);
    await stack.bootReplica('scale-up-duplicates-2', env);
  });

  afterAll(() => stopStack(stack));

  it('delivers nothing twice when a third replica joins and leaves', async () => {
    const { api, receiver, producer, inputTopic } = stack!;
    const tenant = await api.createTenant('scale-up');
    const paths = Array.from({ length: ENDPOINTS }, (_, i) => `/scale-up/${i}`);
    for (const path of paths) {
      receiver.respond(path, { status: 204, delayMs: ANSWER_MS });
      await tenant.client.ok('POST', '/v1/endpoints', { url: receiver.url(path), maxConcurrency: 4 });
    }
    const received = () => paths.reduce((sum, path) => sum + receiver.on(path).length, 0);

    let published = 0;
    let publishing = true;
    const publisher = (async () => {
      while (publishing) {
        const event = structuredEvent(tenant.id, 'record.updated', { n: published });
        await producer.send({ topic: inputTopic, acks: -1, messages: [event.message] });
        published++;
        // Paces the load; nothing waits on it.
        await new Promise((resolve) => setTimeout(resolve, EVENT_EVERY_MS));
      }
    })();
    const afterMore = async (count: number, what: string) => {
      const target = received() + count;
      await waitFor(() => received() >= target, { timeoutMs: 60_000, what });
    };

    await afterMore(100, 'deliveries under way before the third replica joins');
    await stack!.bootReplica('scale-up-duplicates-3', stack!.env);
    await afterMore(200, 'deliveries after the third replica joined');
    await stack!.replicas.pop()!.stop();
    await afterMore(100, 'deliveries after the third replica left');
    publishing = false;
    await publisher;

    await waitFor(
      () =>
        paths.every(
          (path) => new Set(receiver.on(path).map((r) => r.headers['webhook-id'])).size === published,
        ),
      {
        timeoutMs: 120_000,
        what: () => `all ${published} events at every endpoint (${received()} requests)`,
      },
    );
    const duplicates = paths.map((path) => receiver.on(path).length - published);
    expect(duplicates).toEqual(paths.map(() => 0));
  });
});
