import { randomUUID } from 'node:crypto';
import { deriveTaskKeys, TaskSeal } from '../../src/domain/task-seal';
import type { DeliveryTask } from '../../src/domain/delivery-task';
import { generateSecret, SecretCipher, secretBinding } from '../../src/endpoints/secrets/secret-cipher';
import type { ApiClient } from '../support/api';
import { SECRET_KEY } from '../support/service';
import { startStack, stopStack, structuredEvent, type Stack } from '../support/stack';
import { waitFor } from '../support/wait';

/** Tasks written straight to the deliveries topic must carry Hookstream's MAC (docs/security.md). */
const seal = (task: DeliveryTask): Buffer => new TaskSeal(deriveTaskKeys([SECRET_KEY])).seal(task);

/**
 * Issue 15, "never drop silently", with two replicas on one Kafka cluster and one database: an
 * endpoint created through one replica gets the events published at once through the other,
 * whichever replica fans them out or delivers them; and a delivery for an endpoint a replica's
 * cache has never heard of is delivered after asking PostgreSQL, not dropped.
 */
describe('two replicas: nothing dropped for an endpoint a replica has not seen yet', () => {
  let stack: Stack | undefined;
  let first: ApiClient;
  let second: ApiClient;

  beforeAll(async () => {
    // A cache reload far away, so only the change marker, NOTIFY or a lookup can tell a replica.
    const env = { HOOKSTREAM_ENDPOINT_CACHE_REFRESH: '1h', HOOKSTREAM_DELIVERY_PARTITIONS: '4' };
    stack = await startStack('replicas', env);
    first = stack.api;
    second = await stack.bootReplica('replicas-2', env);
  });

  afterAll(() => stopStack(stack));

  it('delivers events published through one replica the moment an endpoint was created through the other', async () => {
    const tenant = await first.createTenant('replicas');
    const onSecond = second.as(tenant.apiKey);
    const expected: string[] = [];
    for (let round = 0; round < 10; round++) {
      const path = `/replicas/${round}`;
      await tenant.client.ok('POST', '/v1/endpoints', { url: stack!.receiver.url(path) });
      const { id } = await onSecond.ok<{ id: string }>('POST', '/v1/events', {
        type: 'record.updated',
        data: { round },
      });
      expected.push(`${path} ${id}`);
    }
    await waitFor(
      () =>
        expected.every((want) => {
          const [path, id] = want.split(' ');
          return stack!.receiver.on(path).some((request) => request.headers['webhook-id'] === id);
        }),
      { what: 'every event at the endpoint created just before it', timeoutMs: 60_000 },
    );
  });

  it('delivers a task for an endpoint neither replica has heard of, after asking PostgreSQL', async () => {
    const tenant = await first.createTenant('silent');
    // Written straight into the table with its NOTIFY trigger off: no notice, no marker, nothing cached.
    const endpointId = randomUUID();
    const db = await stack!.database.connect();
    // A secret encrypted for this endpoint: ciphertexts are bound to their endpoint id, so one copied
    // from another row would not decrypt.
    const secrets = [new SecretCipher([SECRET_KEY]).encrypt(generateSecret(), secretBinding(endpointId))];
    await db.transaction(async (manager) => {
      await manager.query(`ALTER TABLE endpoints DISABLE TRIGGER endpoints_notify`);
      await manager.query(
        `INSERT INTO endpoints (id, tenant_id, url, event_types, ordering, enabled, headers, max_concurrency,
                                metadata, secrets, created_at, updated_at)
         VALUES ($1, $2, $3, '{*}', 'none', true, '{}', 1, '{}', $4, now(), now())`,
        [endpointId, tenant.id, stack!.receiver.url('/silent'), JSON.stringify(secrets)],
      );
      await manager.query(`ALTER TABLE endpoints ENABLE TRIGGER endpoints_notify`);
    });
    const eventId = randomUUID();
    const task = {
      deliveryId: randomUUID(),
      eventId,
      endpointId,
      tenantId: tenant.id,
      eventType: 'record.updated',
      eventTime: new Date().toISOString(),
      data: { silent: true },
      publishedAtMs: Date.now(),
    };
    await stack!.producer.send({
      topic: stack!.deliveriesTopic,
      messages: [{ key: endpointId, value: seal(task) }],
    });
    await waitFor(() => stack!.receiver.on('/silent').some((r) => r.headers['webhook-id'] === eventId), {
      what: 'the delivery to the endpoint no cache had',
    });
  });

  it('drops, and counts, only a delivery whose endpoint PostgreSQL says does not exist', async () => {
    const endpointId = randomUUID();
    const dropped = async () => {
      let total = 0;
      for (const url of [stack!.service.url, stack!.replicas[0].url]) {
        const text = await (await fetch(`${url}/metrics`)).text();
        total += Number(
          /hookstream_deliveries_total\{outcome="endpoint_deleted"\} (\d+)/.exec(text)?.[1] ?? 0,
        );
      }
      return total;
    };
    const before = await dropped();
    const { message } = structuredEvent(randomUUID(), 'record.updated', {});
    await stack!.producer.send({
      topic: stack!.deliveriesTopic,
      messages: [
        {
          key: endpointId,
          value: seal({
            deliveryId: randomUUID(),
            eventId: randomUUID(),
            endpointId,
            tenantId: randomUUID(),
            eventType: 'record.updated',
            eventTime: new Date().toISOString(),
            data: JSON.parse(message.value).data,
            publishedAtMs: Date.now(),
          }),
        },
      ],
    });
    await waitFor(async () => (await dropped()) === before + 1, {
      what: 'one delivery dropped as endpoint_deleted',
    });
  });
});
