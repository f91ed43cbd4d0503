import { randomUUID } from 'node:crypto';
import type { ApiClient } from '../support/api';
import { collectTopic, type ReceivedMessage } from '../support/kafka';
import { kafka, startStack, stopStack, structuredEvent, type Stack } from '../support/stack';
import { waitFor } from '../support/wait';
import { MAX_EVENT_TYPE_LENGTH } from '../../src/domain/event-contract';

const PATH = '/catalogue';
const TYPE = 'order.created';
const ORDER_SCHEMA = {
  type: 'object',
  required: ['orderId', 'customer'],
  properties: {
    orderId: { type: 'string' },
    customer: {
      type: 'object',
      required: ['email'],
      properties: { email: { type: 'string', format: 'email' } },
    },
    total: { type: 'number', minimum: 0 },
  },
};
const MISMATCH = `data/customer/email is required (schema of event type ${TYPE}, version 1)`;

/**
 * Issue 17 item 5, the event catalogue, on the real broker and database: the admin catalogues a
 * type with a schema, every tenant reads it, a tenant cannot write it; `POST /v1/events` refuses
 * data failing a reject-mode schema with 400 naming the path and delivers valid data; the same
 * failing event produced to Kafka is dead-lettered as schema_mismatch; a schema that does not
 * compile is 400 with the compiler's message; the OpenAPI document lists the routes and the schema.
 */
describe('the event catalogue', () => {
  let stack: Stack | undefined;
  let tenant: { id: string; apiKey: string; client: ApiClient };
  let dlq: { messages: ReceivedMessage[]; stop: () => Promise<void> } | undefined;

  beforeAll(async () => {
    stack = await startStack('catalogue');
    tenant = await stack.api.createTenant('catalogue');
    await tenant.client.ok('POST', '/v1/endpoints', {
      url: stack.receiver.url(PATH),
      eventTypes: ['order.*'],
    });
    dlq = await collectTopic(kafka, stack.dlqTopic);
  });

  afterAll(async () => {
    await dlq?.stop();
    await stopStack(stack);
  });

  const deliveredIds = () => stack!.receiver.on(PATH).map((request) => request.headers['webhook-id']);
  const delivered = (eventId: string) =>
    waitFor(() => deliveredIds().includes(eventId), {
      what: `event ${eventId} at ${PATH}`,
      timeoutMs: 60_000,
    });

  it('is written by the admin and read by any tenant, the schema as sent', async () => {
    const created = await stack!.api.request('POST', '/v1/event-types', {
      name: TYPE,
      description: 'An order was placed.',
      schema: ORDER_SCHEMA,
      validation: 'reject',
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ name: TYPE, validation: 'reject', deprecated: false, version: 1 });

    const other = await stack!.api.createTenant('catalogue-reader');
    const one = await other.client.request('GET', `/v1/event-types/${TYPE}`);
    expect([one.status, one.body.schema, one.body.description]).toEqual([
      200,
      ORDER_SCHEMA,
      'An order was placed.',
    ]);
    const list = await tenant.client.ok('GET', '/v1/event-types');
    expect(list.data.map((type: { name: string }) => type.name)).toContain(TYPE);
    expect((await tenant.client.request('GET', '/v1/event-types/no.such.type')).status).toBe(404);
  });

  it('warns, without refusing, of exact endpoint event types the catalogue lacks', async () => {
    const created = await tenant.client.request('POST', '/v1/endpoints', {
      url: stack!.receiver.url('/catalogue-warned'),
      eventTypes: [TYPE, 'order.typo', 'order.*'],
    });
    expect([created.status, created.headers.get('uncatalogued-event-types')]).toEqual([201, 'order.typo']);
    const fixed = await tenant.client.request('PATCH', `/v1/endpoints/${created.body.id}`, {
      eventTypes: [TYPE],
    });
    expect([fixed.status, fixed.headers.get('uncatalogued-event-types')]).toEqual([200, null]);
    await tenant.client.ok('DELETE', `/v1/endpoints/${created.body.id}`);
  });

  // Review 8: F5 (a nextCursor over 200 characters was refused), F10 (eventTypes stopped at 200).
  it('pages past a type of the longest name, and lets an endpoint subscribe to it exactly', async () => {
    const longest = `order.y${'x'.repeat(MAX_EVENT_TYPE_LENGTH - 'order.y'.length)}`;
    const after = 'order.z';
    for (const name of [longest, after]) {
      expect((await stack!.api.request('PUT', `/v1/event-types/${name}`, {})).status).toBe(201);
    }
    const names: string[] = [];
    for (let path: string | null = '/v1/event-types?limit=1'; path !== null;) {
      const page = await tenant.client.request('GET', path);
      expect([page.status, page.body.details]).toEqual([200, undefined]);
      names.push(...page.body.data.map((type: { name: string }) => type.name));
      const next = page.body.nextCursor as string | null;
      path = next === null ? null : `/v1/event-types?limit=1&cursor=${next}`;
    }
    expect(names.slice(names.indexOf(longest))).toEqual([longest, after]);

    const subscribed = await tenant.client.request('POST', '/v1/endpoints', {
      url: stack!.receiver.url('/catalogue-longest'),
      eventTypes: [longest],
    });
    expect([subscribed.status, subscribed.headers.get('uncatalogued-event-types')]).toEqual([201, null]);
    await tenant.client.ok('DELETE', `/v1/endpoints/${subscribed.body.id}`);
    for (const name of [longest, after]) await stack!.api.request('DELETE', `/v1/event-types/${name}`);
  });

  it('cannot be written with a tenant key, nor without a token', async () => {
    const attempts = [
      tenant.client.request('POST', '/v1/event-types', { name: 'tenant.made' }),
      tenant.client.request('PUT', `/v1/event-types/${TYPE}`, { description: 'mine now' }),
      tenant.client.request('DELETE', `/v1/event-types/${TYPE}`),
      fetch(`${stack!.service.url}/v1/event-types`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'anonymous.made' }),
      }),
    ];
    expect((await Promise.all(attempts)).map((answer) => answer.status)).toEqual([401, 401, 401, 401]);
    const stored = await tenant.client.ok('GET', `/v1/event-types/${TYPE}`);
    expect([stored.description, stored.version]).toEqual(['An order was placed.', 1]);
  });

  it("refuses a schema that does not compile with the compiler's message, and one past the bounds", async () => {
    const typo = await stack!.api.request('POST', '/v1/event-types', {
      name: 'bad.schema',
      schema: { type: 'object', requried: ['a'] },
    });
    expect([typo.status, typo.body.message]).toEqual([
      400,
      'schema does not compile: strict mode: unknown keyword: "requried"',
    ]);
    // 40 levels: past the schema bound (32), within the request body's (64).
    let deep: Record<string, unknown> = { type: 'string' };
    for (let level = 0; level < 40; level++) deep = { items: deep };
    const tooDeep = await stack!.api.request('PUT', '/v1/event-types/bad.schema', { schema: deep });
    expect([tooDeep.status, tooDeep.body.message]).toEqual([400, 'schema is nested deeper than 32 levels']);
    expect((await tenant.client.request('GET', '/v1/event-types/bad.schema')).status).toBe(404);
  });

  it("refuses a type under Hookstream's reserved prefix, by POST and by PUT", async () => {
    const reserved =
      "name: the prefix hookstream. is reserved for Hookstream's own notifications (docs/notifications.md)";
    const posted = await stack!.api.request('POST', '/v1/event-types', {
      name: 'hookstream.endpoint.failing',
    });
    const put = await stack!.api.request('PUT', '/v1/event-types/hookstream.dead_letter.created', {});
    expect([posted.status, posted.body.message, put.status, put.body.message]).toEqual([
      400,
      reserved,
      400,
      reserved,
    ]);
    expect((await tenant.client.request('GET', '/v1/event-types/hookstream.endpoint.failing')).status).toBe(
      404,
    );
  });

  it('refuses POST /v1/events data failing the schema with 400 naming the path, and delivers valid data', async () => {
    const bad = await tenant.client.request('POST', '/v1/events', {
      type: TYPE,
      data: { orderId: 'o-1', customer: {} },
    });
    expect([bad.status, bad.body.message]).toEqual([400, MISMATCH]);
    const wrongType = await tenant.client.request('POST', '/v1/events', {
      type: TYPE,
      data: { orderId: 'o-1', customer: { email: 'a@example.com' }, total: 'ten' },
    });
    expect([wrongType.status, wrongType.body.message]).toEqual([
      400,
      `data/total must be number (schema of event type ${TYPE}, version 1)`,
    ]);

    const good = await tenant.client.request('POST', '/v1/events', {
      type: TYPE,
      data: { orderId: 'o-2', customer: { email: 'a@example.com' }, total: 10 },
    });
    expect(good.status).toBe(202);
    await delivered(good.body.id);
  });

  it('dead-letters the same failing event produced to Kafka as schema_mismatch, and delivers the valid one after it', async () => {
    const failing = structuredEvent(tenant.id, TYPE, { orderId: 'o-3', customer: {} }, `bad-${randomUUID()}`);
    const valid = structuredEvent(tenant.id, TYPE, { orderId: 'o-4', customer: { email: 'b@example.com' } });
    await stack!.producer.send({ topic: stack!.inputTopic, messages: [failing.message, valid.message] });

    await delivered(valid.id);
    const deadLetter = await waitFor(
      () => dlq!.messages.find((message) => message.value?.includes(failing.id)),
      { what: `a dead letter of ${failing.id}`, timeoutMs: 60_000 },
    );
    expect(deadLetter.headers).toMatchObject({
      'hs-reason': 'schema_mismatch',
      'hs-reason-detail': MISMATCH,
    });
    expect(deliveredIds()).not.toContain(failing.id);
    const listed = await waitFor(
      async () => {
        const page = await tenant.client.ok('GET', '/v1/dead-letters');
        return page.data.find((row: { eventId: string | null }) => row.eventId === failing.id);
      },
      { what: `${failing.id} in GET /v1/dead-letters`, timeoutMs: 30_000 },
    );
    expect(listed.reason).toBe('schema_mismatch');
  });

  it('stops validating once the admin turns validation off, and bumps the version only on a change', async () => {
    const fields = { description: 'An order was placed.', schema: ORDER_SCHEMA, validation: 'off' };
    const changed = await stack!.api.request('PUT', `/v1/event-types/${TYPE}`, fields);
    expect([changed.status, changed.body.version]).toEqual([200, 2]);
    const same = await stack!.api.request('PUT', `/v1/event-types/${TYPE}`, fields);
    expect([same.status, same.body.version]).toEqual([200, 2]);
    const accepted = await tenant.client.request('POST', '/v1/events', {
      type: TYPE,
      data: { anything: true },
    });
    expect(accepted.status).toBe(202);
    await delivered(accepted.body.id);
  });

  it('lists the catalogue routes in the OpenAPI document, with each type schema as a component', async () => {
    const document = (await (await fetch(`${stack!.service.url}/docs-json`)).json()) as {
      paths: Record<string, Record<string, unknown>>;
      components: { schemas: Record<string, unknown> };
    };
    expect(Object.keys(document.paths['/v1/event-types']).sort()).toEqual(['get', 'post']);
    expect(Object.keys(document.paths['/v1/event-types/{name}']).sort()).toEqual(['delete', 'get', 'put']);
    expect(document.components.schemas).toHaveProperty('EventTypeDto');
    expect(document.components.schemas[`EventData.${TYPE}`]).toMatchObject({
      required: ['orderId', 'customer'],
      'x-event-type-version': 2,
    });
  });

  it('reaches another replica by its change notice, without waiting for the periodic reload', async () => {
    // The reload is an hour away on the second replica: only the NOTIFY can tell it.
    const replica = await stack!.bootReplica('catalogue-replica', { HOOKSTREAM_CATALOGUE_REFRESH: '1h' });
    const onReplica = replica.as(tenant.apiKey);
    const body = { type: 'order.shipped', data: { carrier: 42 } };
    expect((await onReplica.request('POST', '/v1/events', body)).status).toBe(202);
    await stack!.api.ok('PUT', '/v1/event-types/order.shipped', {
      schema: { type: 'object', properties: { carrier: { type: 'string' } } },
      validation: 'reject',
    });
    const refused = await waitFor(
      async () => {
        const answer = await onReplica.request('POST', '/v1/events', body);
        return answer.status === 400 ? answer : undefined;
      },
      {
        what: 'the second replica to refuse order.shipped with a number carrier',
        timeoutMs: 30_000,
        intervalMs: 200,
      },
    );
    expect(refused.body.message).toBe(
      'data/carrier must be string (schema of event type order.shipped, version 1)',
    );
  });
});
