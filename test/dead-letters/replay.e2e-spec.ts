import { Webhook } from 'standardwebhooks';
import { collectTopic } from '../support/kafka';
import { waitForJob } from '../support/replay-jobs';
import { waitFor } from '../support/wait';
import {
  COUNTED_ATTEMPTS,
  kafka,
  startStack,
  stopStack,
  structuredEvent,
  type Stack,
} from '../support/stack';

describe('replay by time window and test events', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack('replay', COUNTED_ATTEMPTS);
  });
  afterAll(() => stopStack(stack));

  it('re-delivers exactly the events of the window, to that endpoint only', async () => {
    const { api, receiver, producer, inputTopic, deliveriesTopic } = stack;
    // This stack's input topic holds nothing from before this test.
    const quiet = { since: new Date(Date.now() - 60_000).toISOString(), until: new Date().toISOString() };
    const tenant = await api.createTenant('Window');
    const stranger = await api.createTenant('Stranger');
    const target = await tenant.client.ok('POST', '/v1/endpoints', {
      url: receiver.url('/win-target'),
      eventTypes: ['record.*'],
    });
    const bystander = await tenant.client.ok('POST', '/v1/endpoints', {
      url: receiver.url('/win-bystander'),
      eventTypes: ['record.*'],
    });
    await stranger.client.ok('POST', '/v1/endpoints', { url: receiver.url('/win-stranger') });
    const publish = async (events: Array<ReturnType<typeof structuredEvent>>) => {
      await producer.send({ topic: inputTopic, acks: -1, messages: events.map((event) => event.message) });
    };
    const count = (path: string) => receiver.on(path).length;
    const waitCounts = (target: number, stranger: number) =>
      waitFor(
        () =>
          count('/win-target') === target &&
          count('/win-bystander') === target &&
          count('/win-stranger') === stranger,
        {
          what: () =>
            `${target} deliveries to both endpoints, ${stranger} to the stranger (got ${count('/win-target')}, ${count('/win-bystander')}, ${count('/win-stranger')})`,
        },
      );

    await publish(
      [0, 1, 2].map((seq) => structuredEvent(tenant.id, 'record.updated', { batch: 'before', seq })),
    );
    await waitCounts(3, 0);
    const since = new Date().toISOString();
    const inWindow = [0, 1].map((seq) => structuredEvent(tenant.id, 'record.created', { batch: 'in', seq }));
    await publish([
      inWindow[0],
      structuredEvent(tenant.id, 'status.changed', { batch: 'in', unsubscribed: true }),
      structuredEvent(stranger.id, 'record.updated', { batch: 'in', stranger: true }),
      inWindow[1],
    ]);
    await waitCounts(5, 1);
    const until = new Date().toISOString();
    await publish([structuredEvent(tenant.id, 'record.updated', { batch: 'after' })]);
    await waitCounts(6, 1);

    const deliveries = await collectTopic(kafka, deliveriesTopic);
    try {
      const replay = await tenant.client.request('POST', `/v1/endpoints/${target.id}/replay`, {
        since,
        until,
      });
      expect(replay).toMatchObject({
        status: 202,
        body: { kind: 'window', endpointId: target.id, state: 'queued', window: { since, until } },
      });
      const done = await waitForJob(tenant.client, replay.body.id, 'succeeded');
      // The window held 4 records on this stack's input topic; 2 were the target's.
      expect(done).toMatchObject({ counts: { read: 4, matched: 2, replayed: 2 }, progress: 1, error: null });
      expect(done.resumePoint.partitions.every((p: any) => p.next === p.end)).toBe(true);
      await waitFor(() => count('/win-target') === 8, {
        what: () => `2 replayed deliveries (got ${count('/win-target') - 6})`,
      });
      const replayed = receiver.on('/win-target').slice(6);
      expect(replayed.map((request) => request.headers['webhook-id'])).toEqual(
        inWindow.map((event) => event.id),
      );
      const { key: secret } = await tenant.client.ok('GET', `/v1/endpoints/${target.id}/secret`);
      for (const request of replayed) {
        expect(new Webhook(secret).verify(request.body, request.headers)).toMatchObject({
          data: { batch: 'in' },
        });
      }

      // The replay's records are all in the deliveries topic once it succeeded: none for anyone else.
      await waitFor(() => deliveries.messages.filter((message) => message.key === target.id).length === 8, {
        what: '8 delivery tasks for the target in the deliveries topic',
      });
      const tasksFor = (endpointId: string) =>
        deliveries.messages.filter((message) => message.key === endpointId);
      expect(tasksFor(bystander.id)).toHaveLength(6);
      expect(count('/win-bystander')).toBe(6);
      expect(count('/win-stranger')).toBe(1);
      const replayTasks = tasksFor(target.id)
        .slice(6)
        .map((message) => JSON.parse(message.value!));
      const originals = tasksFor(target.id)
        .slice(0, 6)
        .map((message) => JSON.parse(message.value!));
      for (const task of replayTasks) {
        const original = originals.find((candidate) => candidate.eventId === task.eventId);
        expect(task.deliveryId).not.toBe(original.deliveryId);
        expect(task.endpointId).toBe(target.id);
      }
    } finally {
      await deliveries.stop();
    }

    // A window with nothing in it replays nothing.
    const empty = await tenant.client.request('POST', `/v1/endpoints/${target.id}/replay`, quiet);
    expect(empty.status).toBe(202);
    expect(await waitForJob(tenant.client, empty.body.id, 'succeeded')).toMatchObject({
      counts: { read: 0, matched: 0, replayed: 0 },
    });
  });

  it('ends a window without until at the offsets the topics held, not at the clock', async () => {
    const { api, receiver, producer, inputTopic } = stack;
    const tenant = await api.createTenant('Window ahead');
    const endpoint = await tenant.client.ok('POST', '/v1/endpoints', { url: receiver.url('/win-ahead') });
    const since = new Date(Date.now() - 1_000).toISOString();
    // Stamped by a producer whose clock runs ten minutes ahead of the API's.
    const ahead = structuredEvent(tenant.id, 'record.updated', { ahead: true });
    await producer.send({
      topic: inputTopic,
      acks: -1,
      messages: [{ ...ahead.message, timestamp: String(Date.now() + 600_000) }],
    });
    await waitFor(() => receiver.on('/win-ahead').length === 1, { what: 'the first delivery' });

    const replay = await tenant.client.request('POST', `/v1/endpoints/${endpoint.id}/replay`, { since });
    expect(replay).toMatchObject({ status: 202, body: { window: { since, until: null } } });
    expect(await waitForJob(tenant.client, replay.body.id, 'succeeded')).toMatchObject({
      counts: { matched: 1, replayed: 1 },
    });
    await waitFor(() => receiver.on('/win-ahead').length === 2, { what: 'the replayed delivery' });
    expect(receiver.on('/win-ahead').map((request) => request.headers['webhook-id'])).toEqual([
      ahead.id,
      ahead.id,
    ]);
  });

  it('validates the window', async () => {
    const { api, receiver } = stack;
    const tenant = await api.createTenant('Window validation');
    const endpoint = await tenant.client.ok('POST', '/v1/endpoints', { url: receiver.url('/win-validate') });
    const replay = (body: unknown) =>
      tenant.client.request('POST', `/v1/endpoints/${endpoint.id}/replay`, body);
    const now = Date.now();
    const iso = (ms: number) => new Date(ms).toISOString();

    const future = await replay({ since: iso(now + 60_000) });
    expect(future.status).toBe(400);
    expect(future.body.details).toContain('since must not be in the future');

    const backwards = await replay({ since: iso(now - 60_000), until: iso(now - 120_000) });
    expect(backwards.status).toBe(400);
    expect(backwards.body.details).toContain('until must be after since');

    const tooOld = await replay({ since: iso(now - 30 * 86_400_000) });
    expect(tooOld.status).toBe(400);
    expect(tooOld.body.details.join()).toMatch(/retention \(7d\)/);

    expect((await replay({ since: 'yesterday' })).status).toBe(400);
    expect((await replay({})).status).toBe(400);
    expect((await replay({ since: iso(now - 1000), extra: true })).status).toBe(400);
    expect(receiver.on('/win-validate')).toHaveLength(0);
  });

  it('sends a signed test event to that endpoint alone', async () => {
    const { api, receiver } = stack;
    const tenant = await api.createTenant('Ping');
    const endpoint = await tenant.client.ok('POST', '/v1/endpoints', {
      url: receiver.url('/ping'),
      eventTypes: ['record.*'],
    });
    await tenant.client.ok('POST', '/v1/endpoints', { url: receiver.url('/ping-other') });
    const response = await tenant.client.request('POST', `/v1/endpoints/${endpoint.id}/test`);
    expect(response.status).toBe(202);
    const { eventId } = response.body;
    const request = await waitFor(() => receiver.on('/ping')[0], { what: 'the test event' });
    expect(request.headers['webhook-id']).toBe(eventId);
    const { key: secret } = await tenant.client.ok('GET', `/v1/endpoints/${endpoint.id}/secret`);
    expect(new Webhook(secret).verify(request.body, request.headers)).toMatchObject({
      id: eventId,
      type: 'hookstream.test',
      data: { message: 'test event from Hookstream' },
    });
    // A second ping to the same endpoint arrives after the first: the other endpoint got neither.
    const second = await tenant.client.ok('POST', `/v1/endpoints/${endpoint.id}/test`);
    await waitFor(() => receiver.on('/ping').length === 2, { what: 'the second test event' });
    expect(receiver.on('/ping')[1].headers['webhook-id']).toBe(second.eventId);
    expect(receiver.on('/ping-other')).toHaveLength(0);
  });
});
