import { Webhook } from 'standardwebhooks';
import { sampleOf, scrape } from '../support/metrics';
import type { ReceivedRequest } from '../support/receiver';
import { startStack, stopStack, structuredEvent, type Stack } from '../support/stack';
import { waitFor } from '../support/wait';

/** Short enough to see several windows in a test, long enough to tell one window from two. */
const INTERVAL_MS = 6_000;
const EVENTS = 40;

interface Notification {
  request: ReceivedRequest;
  id: string;
  type: string;
  timestamp: string;
  data: any;
}

/**
 * Operational notifications (issue 17 item 4) on the real broker and database, with real receivers:
 * a tenant's ops endpoint, subscribed to `hookstream.*`, hears of its other endpoints being disabled,
 * failing and dead-lettering, signed like any delivery; a bounded number, with counts.
 */
describe('operational notifications', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack('notify', {
      HOOKSTREAM_RETRY_DELAYS: '300ms',
      HOOKSTREAM_CIRCUIT_FAILURE_THRESHOLD: '1000',
      HOOKSTREAM_NOTIFICATION_INTERVAL: `${INTERVAL_MS}ms`,
    });
  });
  afterAll(() => stopStack(stack));

  /** The notifications `path` received (answered or not), oldest first. */
  const notificationsAt = (path: string): Notification[] =>
    stack.receiver
      .on(path)
      .map((request) => ({ request, ...(JSON.parse(request.body) as Omit<Notification, 'request'>) }))
      .filter((body) => body.type.startsWith('hookstream.'));
  const about = (notifications: Notification[], type: string, endpointId: string) => {
    const seen = new Set<string>();
    // A delivery retried or redelivered carries the same webhook-id: count each notification once.
    return notifications.filter((n) => {
      if (n.type !== type || n.data.endpoint.id !== endpointId || seen.has(n.id)) return false;
      seen.add(n.id);
      return true;
    });
  };
  const spacingMs = (notifications: Notification[]) =>
    notifications.slice(1).map((n, i) => Date.parse(n.timestamp) - Date.parse(notifications[i].timestamp));

  it('tells the ops endpoint once of a 410 disable, signed, and of dead letters in a handful of counted notifications; no other tenant hears of it', async () => {
    const { api, receiver, producer, inputTopic } = stack;
    const tenant = await api.createTenant('Notified');
    const other = await api.createTenant('Bystander');
    for (const path of ['/ops', '/all', '/ops-b']) receiver.respond(path, { status: 204 });
    receiver.respond('/gone', { status: 410 });
    receiver.respond('/broken', { status: 500 });
    const create = (client: Stack['api'], path: string, eventTypes: string[]) =>
      client.ok('POST', '/v1/endpoints', { url: receiver.url(path), eventTypes });
    const ops = await create(tenant.client, '/ops', ['hookstream.*']);
    await create(tenant.client, '/all', ['*']);
    const gone = await create(tenant.client, '/gone', ['record.*']);
    // Failing and subscribed to notifications too: it must never get one about itself, and the
    // dead letters of the notifications it cannot take must not be counted (no loop).
    const broken = await create(tenant.client, '/broken', ['record.*', 'hookstream.*']);
    await create(other.client, '/ops-b', ['hookstream.*']);

    const startedMs = Date.now();
    await producer.send({
      topic: inputTopic,
      acks: -1,
      messages: Array.from(
        { length: EVENTS },
        (_, n) => structuredEvent(tenant.id, 'record.updated', { n }).message,
      ),
    });

    // Every dead letter of /broken is counted, across however many notifications it took.
    const deadLetterNotices = await waitFor(
      () => {
        const found = about(notificationsAt('/ops'), 'hookstream.dead_letter.created', broken.id);
        const counted = found.reduce((sum, n) => sum + (n.data.count as number), 0);
        return counted >= EVENTS ? found : null;
      },
      {
        timeoutMs: 120_000,
        what: () =>
          `dead_letter.created counts for /broken adding up to ${EVENTS}; /ops has ${JSON.stringify(
            notificationsAt('/ops').map((n) => [n.type, n.data.count]),
          )}`,
      },
    );
    const elapsedMs = Date.now() - startedMs;
    expect(deadLetterNotices.reduce((sum, n) => sum + (n.data.count as number), 0)).toBe(EVENTS);
    expect(deadLetterNotices.length).toBeLessThanOrEqual(2 + Math.ceil(elapsedMs / INTERVAL_MS));
    for (const gap of spacingMs(deadLetterNotices)) expect(gap).toBeGreaterThanOrEqual(INTERVAL_MS);
    expect(deadLetterNotices[0].data).toMatchObject({
      endpoint: { id: broken.id, url: receiver.url('/broken') },
      reasons: expect.objectContaining({ attempts_exhausted: expect.any(Number) }),
      firstEventId: expect.any(String),
      lastEventId: expect.any(String),
    });

    // The 410: one notification, whichever of its many deliveries found the endpoint gone.
    const disabled = about(notificationsAt('/ops'), 'hookstream.endpoint.disabled', gone.id);
    expect(disabled).toHaveLength(1);
    expect(disabled[0].data).toMatchObject({
      endpoint: { id: gone.id, url: receiver.url('/gone') },
      reason: expect.stringContaining('410'),
      disabledAt: expect.any(String),
    });
    const { key } = await tenant.client.ok('GET', `/v1/endpoints/${ops.id}/secret`);
    const verified = new Webhook(key).verify(disabled[0].request.body, disabled[0].request.headers) as any;
    expect(verified.type).toBe('hookstream.endpoint.disabled');
    expect(disabled[0].request.headers['webhook-id']).toBe(disabled[0].id);
    // The dead letters of /gone are counted as well (those fanned out before the disable).
    expect(about(notificationsAt('/ops'), 'hookstream.dead_letter.created', gone.id).length).toBeGreaterThan(
      0,
    );

    // Nobody hears of itself, `*` does not mean notifications, another tenant hears nothing.
    expect(notificationsAt('/broken').filter((n) => n.data.endpoint.id === broken.id)).toEqual([]);
    expect(notificationsAt('/broken').length).toBeGreaterThan(0);
    expect(notificationsAt('/all')).toEqual([]);
    expect(receiver.on('/ops-b')).toEqual([]);
    // The circuit never opened here (threshold 1000): nothing is failing in the circuit's sense.
    expect(notificationsAt('/ops').filter((n) => n.type === 'hookstream.endpoint.failing')).toEqual([]);

    // Counted: one disable published; the dead letters beyond each notification's first, suppressed.
    const metrics = await scrape(stack.service.url);
    const series = (type: string, result: string) =>
      sampleOf(metrics, `hookstream_notifications_total{type="${type}",result="${result}"}`);
    expect(series('hookstream.endpoint.disabled', 'published')).toBe(1);
    expect(series('hookstream.dead_letter.created', 'published')).toBeGreaterThanOrEqual(
      deadLetterNotices.length,
    );
    expect(series('hookstream.dead_letter.created', 'suppressed')).toBeGreaterThanOrEqual(
      EVENTS - deadLetterNotices.length,
    );

    // The notifications are the tenant's events: in its feed, with source hookstream.
    const feed = await tenant.client.ok('GET', '/v1/events?types=hookstream.endpoint.disabled');
    expect(feed.data.map((e: any) => [e.id, e.source])).toEqual([[disabled[0].id, 'hookstream']]);
  });

  it('tells the ops endpoint that an endpoint is failing at most once per interval', async () => {
    // Circuits that open after 3 failures and probe every 300 ms: a steady stream of failures.
    await stack.boot('notify-circuits', {
      HOOKSTREAM_CIRCUIT_FAILURE_THRESHOLD: '3',
      HOOKSTREAM_CIRCUIT_OPEN_FOR: '300ms',
    });
    const { api, receiver, producer, inputTopic } = stack;
    const tenant = await api.createTenant('Failing');
    receiver.respond('/ops-f', { status: 204 });
    receiver.respond('/down', { status: 503 });
    await tenant.client.ok('POST', '/v1/endpoints', {
      url: receiver.url('/ops-f'),
      eventTypes: ['hookstream.*'],
    });
    const down = await tenant.client.ok('POST', '/v1/endpoints', {
      url: receiver.url('/down'),
      eventTypes: ['record.*'],
    });
    const startedMs = Date.now();
    await producer.send({
      topic: inputTopic,
      acks: -1,
      messages: Array.from(
        { length: 10 },
        (_, n) => structuredEvent(tenant.id, 'record.updated', { n }).message,
      ),
    });
    // Long enough for a second window to open while the endpoint keeps failing.
    const failing = await waitFor(
      () => {
        const found = about(notificationsAt('/ops-f'), 'hookstream.endpoint.failing', down.id);
        return found.length >= 2 ? found : null;
      },
      { timeoutMs: 90_000, what: 'two hookstream.endpoint.failing notifications for /down' },
    );
    const attemptsSoFar = receiver.on('/down').length;
    const elapsedMs = Date.now() - startedMs;
    expect(attemptsSoFar).toBeGreaterThan(failing.length);
    expect(failing.length).toBeLessThanOrEqual(1 + Math.ceil(elapsedMs / INTERVAL_MS));
    for (const gap of spacingMs(failing)) expect(gap).toBeGreaterThanOrEqual(INTERVAL_MS);
    expect(failing[0].data).toMatchObject({
      endpoint: { id: down.id, url: receiver.url('/down') },
      failingSince: expect.any(String),
      consecutiveFailures: expect.any(Number),
      lastStatus: 503,
    });
    expect(failing[0].data.consecutiveFailures).toBeGreaterThanOrEqual(3);
    expect(failing[1].data.failuresSinceLastNotification).toBeGreaterThanOrEqual(1);
  });
});
