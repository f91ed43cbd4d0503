import type { DataSource } from 'typeorm';
import { partitionOf } from '../../src/kafka/partitioning';
import { ApiClient } from '../support/api';
import { startStack, stopStack, structuredEvent, type Stack } from '../support/stack';
import { GiveUp, waitFor } from '../support/wait';

/**
 * Issue 16, "failing since for the 5-day auto-disable lives in memory": each restart reset it, so
 * an endpoint behind a service that restarted more often than HOOKSTREAM_DISABLE_AFTER was never
 * disabled; and a replica taking an endpoint over knew nothing of its open circuit. Both now come
 * from `endpoint_health` (README decision 37).
 */
const DEAD = '/dead';

async function publishTo(stack: Stack, tenantId: string, count: number): Promise<void> {
  await stack.producer.send({
    topic: stack.inputTopic,
    acks: -1,
    messages: Array.from(
      { length: count },
      (_, seq) => structuredEvent(tenantId, 'record.updated', { seq }).message,
    ),
  });
}

async function clusterView(url: string) {
  return new ApiClient(url).ok<{
    answeredBy: string;
    replicas: Array<{ id: string; live: boolean; partitions: number[] }>;
  }>('GET', '/v1/ops/cluster');
}

async function endpointView(client: ApiClient, id: string) {
  return client.ok<{ enabled: boolean; circuitState: string; disabledReason: string | null }>(
    'GET',
    `/v1/endpoints/${id}`,
  );
}

describe('endpoint health outlives a restart', () => {
  let stack: Stack | undefined;
  const env = {
    HOOKSTREAM_INPUT_PARTITIONS: '1',
    HOOKSTREAM_RETRY_DELAYS: '300ms,300ms,300ms,300ms,300ms,300ms,300ms,300ms',
    HOOKSTREAM_CIRCUIT_FAILURE_THRESHOLD: '3',
    HOOKSTREAM_CIRCUIT_OPEN_FOR: '1s',
    HOOKSTREAM_DISABLE_AFTER: '12s',
  };

  beforeAll(async () => {
    stack = await startStack('health-restart', env);
  });

  afterAll(() => stopStack(stack));

  it('disables an endpoint failing longer than HOOKSTREAM_DISABLE_AFTER although the service restarts more often', async () => {
    const tenant = await stack!.api.createTenant('health-restart');
    stack!.receiver.respond(DEAD, { status: 503 });
    const { id } = await tenant.client.ok<{ id: string }>('POST', '/v1/endpoints', {
      url: stack!.receiver.url(DEAD),
    });
    await publishTo(stack!, tenant.id, 50);
    const startedAt = Date.now();
    let restarts = 0;
    // Restarted every 5 s, well inside the 12 s it must fail for: only a failing streak kept across
    // restarts gets there.
    for (;;) {
      const disabled = await waitFor(
        async () => {
          if (Date.now() - startedAt > 90_000) throw new GiveUp('still enabled after 90 s');
          return !(await endpointView(tenant.client, id)).enabled;
        },
        { what: 'the endpoint disabled', timeoutMs: 5_000 },
      ).catch((error: Error) => {
        if (error instanceof GiveUp) throw error;
        return false;
      });
      if (disabled) break;
      await stack!.boot(`health-restart-${++restarts}`);
      tenant.client = stack!.api.as(tenant.apiKey);
    }
    expect(restarts).toBeGreaterThanOrEqual(1);
    expect((await endpointView(tenant.client, id)).disabledReason).toMatch(/failing for more than/);
  });
});

describe('a replica taking an endpoint over keeps its open circuit', () => {
  let stack: Stack | undefined;
  let db: DataSource;
  const env = {
    HOOKSTREAM_INPUT_PARTITIONS: '1',
    HOOKSTREAM_DELIVERY_PARTITIONS: '2',
    HOOKSTREAM_RETRY_DELAYS: '300ms,300ms,300ms,300ms,300ms,300ms,300ms,300ms',
    HOOKSTREAM_CIRCUIT_FAILURE_THRESHOLD: '3',
    // Open far longer than the test: the new owner must not probe, let alone fail three times again.
    HOOKSTREAM_CIRCUIT_OPEN_FOR: '5m',
  };

  beforeAll(async () => {
    stack = await startStack('health-takeover', env);
    await stack.bootReplica('health-takeover-2', env);
    db = await stack.database.connect();
  });

  afterAll(() => stopStack(stack));

  it('sends the endpoint nothing after its owner leaves: the other replica finds the circuit open', async () => {
    const tenant = await stack!.api.createTenant('health-takeover');
    stack!.receiver.respond(DEAD, { status: 503 });
    const { id } = await tenant.client.ok<{ id: string }>('POST', '/v1/endpoints', {
      url: stack!.receiver.url(DEAD),
    });
    await publishTo(stack!, tenant.id, 20);
    await waitFor(async () => (await endpointView(tenant.client, id)).circuitState === 'open', {
      what: 'the circuit open',
    });
    const heldRows = async () =>
      (await db.query<Array<{ count: number }>>('SELECT count(*)::int AS count FROM held_deliveries'))[0]
        .count;
    await waitFor(async () => (await heldRows()) >= 15, { what: 'the backlog held' });

    // Stop the replica that owns the endpoint's partition; the other one takes it over.
    const services = [stack!.service, ...stack!.replicas];
    const views = await Promise.all(services.map((service) => clusterView(service.url)));
    const ownerIndex = views.findIndex((view) =>
      view.replicas.some(
        (replica) => replica.id === view.answeredBy && replica.partitions.includes(partitionOf(id, 2)),
      ),
    );
    expect(ownerIndex).toBeGreaterThanOrEqual(0);
    const survivor = services[1 - ownerIndex];
    await services[ownerIndex].stop();

    const attemptsBefore = stack!.receiver.on(DEAD).length;
    const heldBefore = await heldRows();
    await publishTo(stack!, tenant.id, 10);
    // The new owner holds the new deliveries at once, by the circuit it took over.
    await waitFor(async () => (await heldRows()) >= heldBefore + 10, {
      what: 'the new deliveries held by the replica that took the endpoint over',
      timeoutMs: 60_000,
    });
    expect(stack!.receiver.on(DEAD).length).toBe(attemptsBefore);
    await waitFor(
      async () => {
        const live = (await clusterView(survivor.url)).replicas.filter((replica) => replica.live);
        return live.length === 1 && live[0].partitions.join() === '0,1';
      },
      { what: 'the survivor alone, owning both partitions' },
    );
  });
});
