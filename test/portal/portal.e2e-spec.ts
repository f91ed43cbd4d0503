import { copyFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { Webhook } from 'standardwebhooks';
import { portalLinkKey, signPortalToken } from '../../src/domain/portal-link';
import { SECRET_KEY } from '../support/service';
import { startStack, stopStack, structuredEvent, type Stack } from '../support/stack';
import { waitFor } from '../support/wait';
import { PortalBrowser, screenshot, seriousAccessibilityViolations } from './portal-browser';

interface PortalLink {
  url: string;
  token: string;
  expiresAt: string;
}

/** Splits the page's "request as sent" block back into headers and body. */
function requestOnPage(headersText: string, body: string): { headers: Record<string, string>; body: string } {
  const headers: Record<string, string> = {};
  for (const line of headersText.split('\n').slice(1)) {
    const at = line.indexOf(': ');
    headers[line.slice(0, at)] = line.slice(at + 2);
  }
  return { headers, body };
}

describe('portal: a client engineer in a real browser', () => {
  let stack: Stack;
  let browser: PortalBrowser;

  beforeAll(async () => {
    // One short retry tier: a failing delivery is dead-lettered after two attempts, in about a second.
    stack = await startStack('portal', { HOOKSTREAM_RETRY_DELAYS: '300ms' });
    browser = await PortalBrowser.launch();
  });
  afterAll(async () => {
    await browser?.close();
    await stopStack(stack);
  });

  const mintLink = (tenantId: string, body: Record<string, unknown> = {}) =>
    stack.api.ok<PortalLink>('POST', `/v1/tenants/${tenantId}/portal-links`, body);

  async function expectAccessible(page: Page, what: string): Promise<void> {
    expect({ page: what, violations: await seriousAccessibilityViolations(page) }).toEqual({
      page: what,
      violations: [],
    });
  }

  /** Clicks Refresh on the deliveries until `probe` finds what it wants. */
  async function refreshUntil(page: Page, probe: () => Promise<boolean>, what: string): Promise<void> {
    await waitFor(
      async () => {
        await page.locator('#refresh-deliveries').click();
        await page.locator('#deliveries').waitFor();
        return probe();
      },
      { what, timeoutMs: 60_000, intervalMs: 500 },
    );
  }

  it('walks the story: add an endpoint, see a failure, fix, replay, rotate the secret, verify', async () => {
    const { receiver } = stack;
    const tenant = await stack.api.createTenant('Portal Co');
    // An event type the tenant already publishes, so the form can offer it.
    await tenant.client.ok('POST', '/v1/events', { type: 'order.created', data: { warmup: true } });
    await waitFor(async () => (await tenant.client.ok('GET', '/v1/events')).data.length > 0, {
      what: 'the first event in the feed',
    });

    // Signed in by a portal link: the token leaves the address bar at once.
    const link = await mintLink(tenant.id);
    expect(link.url).toMatch(/\/portal#token=hsp_/);
    expect(new Date(link.expiresAt).getTime() - Date.now()).toBeGreaterThan(14 * 60_000);
    const { page, pageErrors } = await browser.newPage();
    await page.goto(link.url);
    await page.locator('#endpoints, #view p').first().waitFor();
    expect(page.url()).not.toContain('hsp_');
    expect(await page.locator('#view h1').textContent()).toBe('Endpoints');
    await expectAccessible(page, 'endpoints (empty)');

    // Add an endpoint, picking the event type from what exists.
    await page.locator('a.new-endpoint').click();
    await page.locator('#endpoint-form').waitFor();
    await expectAccessible(page, 'new endpoint');
    await page.locator('#endpoint-url').fill(receiver.url('/hook'));
    await page.locator('#endpoint-description').fill('orders service');
    await page.getByLabel('All event types').uncheck();
    await page.getByLabel('order.created').check();
    // Longer than the 1,024-character excerpt a list of attempts gives: the details fetch the whole body.
    const lockedBody = `database is locked (orders-db-3)\n${'    at Connection.query (db.js:10:5)\n'.repeat(40)}`;
    receiver.respond('/hook', { status: 500, body: lockedBody });
    const creating = page.waitForRequest(
      (request) => request.method() === 'POST' && new URL(request.url()).pathname === '/v1/endpoints',
    );
    await page.locator('#endpoint-form button[type=submit]').click();
    // Concurrency left empty: the server's configured default applies, not the form's (review 8, F11).
    expect((await creating).postDataJSON()).not.toHaveProperty('maxConcurrency');
    await page.locator('#summary-title').waitFor();
    const endpointId = /#\/endpoints\/([0-9a-f-]{36})$/.exec(page.url())![1];
    const endpoint = await tenant.client.ok('GET', `/v1/endpoints/${endpointId}`);
    expect(endpoint).toMatchObject({ url: receiver.url('/hook'), eventTypes: ['order.created'] });

    // A delivery fails; the engineer sees the receiver's own response body, then the dead letter.
    const failing = await tenant.client.ok<{ id: string }>('POST', '/v1/events', {
      type: 'order.created',
      data: { order: 42 },
    });
    const failedRow = page.locator('tr.attempt[data-outcome=failed]', { hasText: failing.id.slice(0, 14) });
    await refreshUntil(
      page,
      async () => (await failedRow.locator('button.replay').count()) > 0,
      'the failed delivery, dead-lettered, with a Replay button',
    );
    expect(await failedRow.first().locator('.response-excerpt').textContent()).toContain(
      'database is locked',
    );
    await failedRow.first().locator('button.show-details').click();
    const details = page.locator('tr.attempt-details:not([hidden])').first();
    await details.locator('.request-body').waitFor();
    expect(await details.locator('.response-body').textContent()).toBe(lockedBody);
    expect(await details.locator('.request-headers').textContent()).toContain(`webhook-id: ${failing.id}`);
    await expectAccessible(page, 'endpoint with a failed delivery');
    await screenshot(page, '1-failed-delivery');

    // Health at a glance shows it.
    await page.locator('a[href="#/endpoints"]').first().click();
    const overview = page.locator(`#endpoints tr[data-endpoint-id="${endpointId}"]`);
    await overview.waitFor();
    expect(await overview.locator('.success-rate').textContent()).toContain('0.0 %');
    expect(await overview.locator('.dead-letters').textContent()).toBe('1');
    expect(await overview.locator('svg rect').count()).toBeGreaterThan(0);

    // Fix the receiver, replay the dead letter from the deliveries list, see it succeed.
    receiver.respond('/hook', { status: 204 });
    const before = receiver.on('/hook').length;
    await page.goto(`${stack.service.url}/portal#/endpoints/${endpointId}`);
    await failedRow.first().locator('button.replay').click();
    await waitFor(() => receiver.on('/hook').length > before, {
      what: 'the replayed delivery at the receiver',
    });
    expect(receiver.on('/hook')[before].headers['webhook-id']).toBe(failing.id);
    const deliveredRow = page.locator('tr.attempt[data-outcome=delivered]', {
      hasText: failing.id.slice(0, 14),
    });
    await refreshUntil(
      page,
      async () => (await deliveredRow.count()) > 0,
      'the replayed delivery shown delivered',
    );
    await screenshot(page, '2-replayed');

    // Filters: by status on the server, by event type through the events feed.
    await page.locator('#filter-outcome').selectOption('failed');
    await page.locator('#apply-filter').click();
    await waitFor(async () => (await page.locator('tr.attempt[data-outcome=delivered]').count()) === 0, {
      what: 'only failed attempts listed',
    });
    expect(await page.locator('tr.attempt[data-outcome=failed]').count()).toBe(2);
    await page.locator('#filter-outcome').selectOption('');
    await page.locator('#filter-type').fill('invoice.*');
    await page.locator('#apply-filter').click();
    await page.locator('#deliveries', { hasText: 'No attempts match.' }).waitFor();
    await page.locator('#filter-type').fill('order.*');
    await page.locator('#apply-filter').click();
    await waitFor(async () => (await page.locator('tr.attempt').count()) === 3, {
      what: 'the three attempts of order.created',
    });
    await page.locator('#filter-type').fill('');

    // Replay the last hour: both order.created events (one from before the endpoint existed), with progress.
    const beforeWindow = receiver.on('/hook').length;
    await page.locator('#replay-window').click();
    await page.locator('#window-replay-text', { hasText: '2 of 2 re-sent deliveries arrived' }).waitFor({
      timeout: 60_000,
    });
    expect(receiver.on('/hook').length - beforeWindow).toBe(2);
    expect(await page.locator('#window-replay-progress').getAttribute('max')).toBe('2');

    // The event across endpoints; with a long history of it, the page lists the newest attempts and says
    // how many older ones it leaves out (GET /v1/events/:id lists 200 at most).
    const db = await stack.database.connect();
    await db.query(
      `INSERT INTO delivery_attempts (endpoint_id, tenant_id, event_id, delivery_id, attempt, outcome, status_code,
         latency_ms, response_body, attempted_at)
       SELECT $1, $2, $3, gen_random_uuid(), n, 'failed', 500, 5, 'old', now() - interval '1 day' + n * interval '1 ms'
         FROM generate_series(1, 250) n`,
      [endpointId, tenant.id, failing.id],
    );
    await page.goto(`${stack.service.url}/portal#/events/${encodeURIComponent(failing.id)}`);
    await page.locator('section.delivery').waitFor();
    expect(await page.locator('section.delivery').textContent()).toContain('delivered');
    expect(await page.locator('section.delivery .hint').textContent()).toMatch(
      /^\d+ older attempts are not shown here; the endpoint’s deliveries list them all\.$/,
    );
    await expectAccessible(page, 'event');

    // Rotate the secret (no grace), send a test event, verify its signature with the new secret.
    await page.goto(`${stack.service.url}/portal#/endpoints/${endpointId}`);
    await page.locator('#reveal-secret').click();
    await waitFor(async () => (await page.locator('#secret-value').textContent())?.startsWith('whsec_'), {
      what: 'the revealed secret',
    });
    const oldSecret = (await page.locator('#secret-value').textContent())!;
    await page.locator('#grace-period').selectOption('0');
    await page.locator('#rotate-secret').click();
    await waitFor(async () => (await page.locator('#secret-value').textContent()) !== oldSecret, {
      what: 'the new secret on the page',
    });
    const newSecret = (await page.locator('#secret-value').textContent())!;
    expect(newSecret).toMatch(/^whsec_/);
    expect(await page.locator('#snippet-node').textContent()).toContain(newSecret);
    expect(await page.locator('#snippet-python').textContent()).toContain(
      'Webhook(os.environ["HOOKSTREAM_SECRET"])',
    );
    const sentBefore = receiver.on('/hook').length;
    await page.locator('#send-test').click();
    await page.locator('#test-result .badge.ok').waitFor({ timeout: 60_000 });
    const test = receiver.on('/hook')[sentBefore];
    expect(test.headers['webhook-signature'].split(' ')).toHaveLength(1);
    expect(() => new Webhook(newSecret).verify(test.body, test.headers)).not.toThrow();
    expect(() => new Webhook(oldSecret).verify(test.body, test.headers)).toThrow();

    // The next order's request, as the page shows it, verifies with the new secret: it is the request as sent.
    const order = await tenant.client.ok<{ id: string }>('POST', '/v1/events', {
      type: 'order.created',
      data: { order: 43, lines: [{ sku: 'A-1', quantity: 2 }] },
    });
    await waitFor(() => receiver.on('/hook').find((request) => request.headers['webhook-id'] === order.id), {
      what: 'the order signed with the new secret at the receiver',
    });
    const sent = receiver.on('/hook').find((request) => request.headers['webhook-id'] === order.id)!;
    const orderRow = page.locator('tr.attempt', { hasText: order.id.slice(0, 14) });
    await refreshUntil(page, async () => (await orderRow.count()) > 0, 'the order in the deliveries');
    await orderRow.first().locator('button.show-details').click();
    const shown = page.locator('tr.attempt-details:not([hidden])').first();
    await shown.locator('.request-body').waitFor();
    const asShown = requestOnPage(
      (await shown.locator('.request-headers').textContent())!,
      (await shown.locator('.request-body').textContent())!,
    );
    expect(asShown.body).toBe(sent.body);
    expect(asShown.headers['webhook-signature']).toBe(sent.headers['webhook-signature']);
    expect(() => new Webhook(newSecret).verify(asShown.body, asShown.headers)).not.toThrow();
    await expectAccessible(page, 'endpoint after rotation');
    await screenshot(page, '3-rotated-and-verified');

    // Disable with a reason, shown on the page and over the API; enable again.
    await page.locator('#disable-reason').fill('receiver moving to the new cluster');
    await page.locator('#disable').click();
    await page.locator('#endpoint-status', { hasText: 'receiver moving to the new cluster' }).waitFor();
    expect(await tenant.client.ok('GET', `/v1/endpoints/${endpointId}`)).toMatchObject({
      enabled: false,
      disabledReason: 'receiver moving to the new cluster',
    });
    await expectAccessible(page, 'disabled endpoint');
    await page.locator('#enable').click();
    await page.locator('#endpoint-status', { hasText: 'enabled' }).waitFor();
    expect((await tenant.client.ok('GET', `/v1/endpoints/${endpointId}`)).enabled).toBe(true);

    // Dead letters and events pages, and the overview for the README.
    await page.goto(`${stack.service.url}/portal#/recovery`);
    await page.locator('#dead-letters').waitFor();
    expect(await page.locator('#dead-letters td.replayed').first().textContent()).toContain('replayed');
    await expectAccessible(page, 'dead letters');
    await page.goto(`${stack.service.url}/portal#/events`);
    await page.locator('#events').waitFor();
    await expectAccessible(page, 'events');
    await page.goto(`${stack.service.url}/portal#/endpoints`);
    await overview.waitFor();
    const readme = await screenshot(page, 'overview');
    expect(statSync(readme).size).toBeGreaterThan(10_000);
    if (process.env.PORTAL_README_SCREENSHOT)
      copyFileSync(readme, join(__dirname, '..', '..', 'docs', 'portal.png'));

    // A phone's width: nothing wider than the screen but the tables' own scroll boxes.
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(`${stack.service.url}/portal#/endpoints/${endpointId}`);
    await page.locator('#summary-title').waitFor();
    expect(await page.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(390);
    await screenshot(page, '4-phone');
    expect(pageErrors).toEqual([]);
  });

  it('lists the latest events first, and older ones a page at a time', async () => {
    const tenant = await stack.api.createTenant('Busy Co');
    // 60: a page of 50 and 10 older; over Kafka in one send, so the feed keeps this order.
    const events = Array.from({ length: 60 }, (_, i) => structuredEvent(tenant.id, 'order.created', { i }));
    await stack.producer.send({
      topic: stack.inputTopic,
      acks: -1,
      messages: events.map((event) => event.message),
    });
    const newestFirst = events.map((event) => event.id).reverse();
    await waitFor(async () => (await tenant.client.ok('GET', '/v1/events?limit=100')).data.length === 60, {
      what: 'the 60 events in the feed',
    });

    const { page, pageErrors } = await browser.newPage();
    await page.goto((await mintLink(tenant.id)).url);
    await page.locator('#view h1', { hasText: 'Endpoints' }).waitFor();
    await page.goto(`${stack.service.url}/portal#/events`);
    await page.locator('#events').waitFor();
    const listed = () =>
      page
        .locator('#events tr.event')
        .evaluateAll((rows) => rows.map((row) => row.getAttribute('data-event-id')));
    expect(await listed()).toEqual(newestFirst.slice(0, 50));
    await page.locator('#older-events').click();
    await waitFor(async () => ((await listed()).length === 60 ? true : null), {
      what: 'the 10 older events',
    });
    expect(await listed()).toEqual(newestFirst);
    expect(await page.locator('#older-events').count()).toBe(0);
    await expectAccessible(page, 'events, with older ones');
    await screenshot(page, '6-events');
    expect(pageErrors).toEqual([]);
  });

  it('an expired link, or another tenant’s link, gets nothing', async () => {
    const owner = await stack.api.createTenant('Owner Co');
    const other = await stack.api.createTenant('Other Co');
    const owned = await owner.client.ok<{ id: string }>('POST', '/v1/endpoints', {
      url: stack.receiver.url('/owned'),
    });

    // Signed with the service's own key, a minute past its expiry: only the expiry refuses it.
    const expired = signPortalToken(
      {
        tenantId: owner.id,
        expiresAtSeconds: Math.floor(Date.now() / 1000) - 60,
        issuedAtMs: Date.now() - 120_000,
      },
      portalLinkKey(SECRET_KEY),
    );
    expect((await owner.client.as(expired).request('GET', '/v1/endpoints')).status).toBe(401);
    const { page, pageErrors } = await browser.newPage();
    await page.goto(`${stack.service.url}/portal#token=${expired}`);
    await page.locator('#signin-error', { hasText: 'expired' }).waitFor();
    expect(await page.locator('#view').isVisible()).toBe(false);
    expect(page.url()).not.toContain('hsp_');
    await expectAccessible(page, 'sign-in with an expired link');
    await screenshot(page, '5-expired-link');

    // Another tenant's live link: the owner's endpoint is not found, over REST and on the page.
    const otherLink = await mintLink(other.id, { expiresInSeconds: 120 });
    const asOther = owner.client.as(otherLink.token);
    expect((await asOther.request('GET', `/v1/endpoints/${owned.id}`)).status).toBe(404);
    expect((await asOther.request('GET', `/v1/endpoints/${owned.id}/attempts`)).status).toBe(404);
    expect((await asOther.request('GET', '/v1/endpoint-stats')).body.data).toEqual([]);
    await page.goto(otherLink.url);
    await page.locator('#view h1', { hasText: 'Endpoints' }).waitFor();
    await page.goto(`${stack.service.url}/portal#/endpoints/${owned.id}`);
    await page.locator('#view', { hasText: 'not found' }).waitFor();
    expect(await page.locator('#view').textContent()).not.toContain('/owned');

    // A portal link is no admin credential, and asks no longer than the maximum.
    expect((await asOther.request('POST', '/v1/tenants', { name: 'x' })).status).toBe(401);
    expect((await asOther.request('POST', `/v1/tenants/${other.id}/portal-links`, {})).status).toBe(401);
    expect(
      (await stack.api.request('POST', `/v1/tenants/${other.id}/portal-links`, { expiresInSeconds: 7200 }))
        .status,
    ).toBe(400);
    expect(
      (await stack.api.request('POST', '/v1/tenants/3f2a9c1e-7b4d-4e8a-9c1f-2b3d4e5f6a7b/portal-links', {}))
        .status,
    ).toBe(404);
    expect(pageErrors).toEqual([]);
  });
});
