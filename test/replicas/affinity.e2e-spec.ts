import type { ApiClient } from '../support/api';
import { startStack, stopStack, type Stack } from '../support/stack';
import { waitFor } from '../support/wait';

/**
 * Issue 16, "an endpoint's first attempts and its retries can be owned by different replicas": with
 * two replicas, an endpoint limited to one concurrent request got several, because its lane lived
 * in whichever process read the record. One delivery group over the deliveries topic and every
 * retry tier, co-partitioned, keeps all of an endpoint's work in one replica; a partition moving
 * between replicas waits for its previous owner's attempts to finish.
 *
 * Five short tiers, and endpoints that fail each delivery's first attempts: every delivery crosses
 * several tiers, each once its own consumer group, so two replicas used to share nearly every
 * endpoint. The receiver counts the requests open at once per endpoint.
 */
const ENDPOINTS = 6;
const EVENTS = 40;
/** Attempts each delivery fails before it succeeds. */
const FAILURES = 2;

describe('two replicas: one owner per endpoint', () => {
  let stack: Stack | undefined;
  let second: ApiClient;

  beforeAll(async () => {
    const env = {
      HOOKSTREAM_DELIVERY_PARTITIONS: '4',
      HOOKSTREAM_RETRY_DELAYS: '100ms,200ms,300ms,400ms,500ms',
      HOOKSTREAM_CIRCUIT_FAILURE_THRESHOLD: '1000',
    };
    stack = await startStack('affinity', env);
    second = await stack.bootReplica('affinity-2', env);
  });

  afterAll(() => stopStack(stack));

  it('never sends a maxConcurrency-1 endpoint two requests at once, first attempts and retries alike, across a rebalance', async () => {
    const tenant = await stack!.api.createTenant('affinity');
    const paths = Array.from({ length: ENDPOINTS }, (_, i) => `/affinity/${i}`);
    for (const path of paths) {
      // Each delivery fails FAILURES times, then succeeds; every answer takes a while, so overlaps show.
      stack!.receiver.respond(path, (request) => {
        const tries = stack!.receiver
          .on(path)
          .filter((r) => r.headers['webhook-id'] === request.headers['webhook-id']);
        return { status: tries.length < FAILURES ? 503 : 204, delayMs: 15 };
      });
      await tenant.client.ok('POST', '/v1/endpoints', { url: stack!.receiver.url(path), maxConcurrency: 1 });
    }
    const publish = async (client: ApiClient, from: number, to: number) => {
      for (let n = from; n < to; n++) {
        await client.ok('POST', '/v1/events', { type: 'record.updated', data: { n } });
      }
    };
    await publish(tenant.client, 0, EVENTS / 2);
    // A third replica joins and leaves while deliveries and retries are under way: partitions move twice.
    await stack!.bootReplica('affinity-3', stack!.env);
    await publish(second.as(tenant.apiKey), EVENTS / 2, EVENTS);
    await stack!.replicas.pop()!.stop();

    await waitFor(
      () =>
        paths.every(
          (path) =>
            new Set(stack!.receiver.on(path).map((request) => request.headers['webhook-id'])).size ===
              EVENTS && stack!.receiver.on(path).length >= EVENTS * (FAILURES + 1),
        ),
      {
        what: () =>
          `every endpoint to get ${EVENTS} events, each after ${FAILURES} failures (got ` +
          paths.map((path) => stack!.receiver.on(path).length).join(', ') +
          ' requests)',
        timeoutMs: 120_000,
      },
    );
    expect(paths.map((path) => stack!.receiver.maxConcurrent(path))).toEqual(paths.map(() => 1));
  });
});
