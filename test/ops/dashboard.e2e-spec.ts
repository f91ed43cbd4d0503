import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import type { ApiClient } from '../support/api';
import { ARTIFACTS, ADMIN_TOKEN } from '../support/service';
import { waitFor } from '../support/wait';
import { startStack, stopStack, type Stack } from '../support/stack';

const CHROMIUM = '/usr/bin/chromium';
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** A row of the page's replicas table. */
interface ReplicaOnPage {
  id: string | null;
  cells: string[];
  exporter: boolean;
}

interface ClusterView {
  answeredBy: string;
  replicas: Array<{ id: string; live: boolean; exporter: boolean; partitions: number[] }>;
}

describe('ops: the dashboard in a real browser', () => {
  let stack: Stack;
  let second: ApiClient;
  let context: BrowserContext | undefined;
  let userDataDir: string | undefined;

  beforeAll(async () => {
    // One short retry tier: a failing delivery is dead-lettered after two attempts, in about a second.
    stack = await startStack('dashboard', {
      HOOKSTREAM_DELIVERY_PARTITIONS: '3',
      HOOKSTREAM_RETRY_DELAYS: '300ms',
    });
    // A second replica on the same world: every figure on the page covers both.
    second = await stack.bootReplica('dashboard-2');
    userDataDir = mkdtempSync(join(tmpdir(), 'hookstream-chromium-'));
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM,
      headless: true,
      args: ARGS,
    });
  });
  afterAll(async () => {
    await context?.close();
    // A beforeAll that failed before making the directory leaves nothing to remove.
    if (userDataDir) rmSync(userDataDir, { recursive: true, force: true });
    await stopStack(stack);
  });

  /** A new tab on the first replica's dashboard, signed in (the token is kept per tab). */
  async function openDashboard(): Promise<{ page: Page; pageErrors: string[] }> {
    const page = await context!.newPage();
    const pageErrors: string[] = [];
    page.on('pageerror', (error) => pageErrors.push(error.message));
    await page.goto(`${stack.service.url}/dashboard`);
    await page.locator('#token').fill(ADMIN_TOKEN);
    await page.locator('#token-form button[type=submit]').click();
    await page.locator('#main').waitFor({ state: 'visible' });
    return { page, pageErrors };
  }

  it('shows live numbers while events flow, and a Replay click re-delivers a dead letter', async () => {
    const { receiver } = stack;
    const api = stack.api;
    const tenant = await api.createTenant('Dashboard Co');
    await tenant.client.ok('POST', '/v1/endpoints', { url: receiver.url('/ok'), eventTypes: ['record.*'] });
    const flaky = await tenant.client.ok('POST', '/v1/endpoints', {
      url: receiver.url('/flaky'),
      eventTypes: ['status.changed'],
    });
    receiver.respond('/flaky', { status: 500 });

    const { page, pageErrors } = await openDashboard();
    expect(await page.locator('#token-form').isVisible()).toBe(false);
    // The token is kept for the browser session only.
    expect(await page.evaluate('sessionStorage.getItem("hookstream.adminToken")')).toBe(ADMIN_TOKEN);

    const deliveredOnPage = async () => Number(await page.locator('#delivered-total').textContent());
    const publish = (count: number) =>
      Promise.all(
        Array.from({ length: count }, (_, i) =>
          tenant.client.ok('POST', '/v1/events', { type: 'record.updated', data: { i } }),
        ),
      );
    await publish(5);
    let shown = 0;
    const first = await waitFor(async () => ((shown = await deliveredOnPage()) >= 5 ? shown : 0), {
      what: () => `the page to show 5 delivered (shows ${shown})`,
      timeoutMs: 30_000,
    });
    await publish(5);
    await waitFor(async () => (await deliveredOnPage()) >= first + 5, {
      what: 'the delivered count on the page to rise while events flow',
    });
    await waitFor(async () => (await page.locator('#endpoints tr').count()) === 2, {
      what: 'both endpoints in the endpoints table',
    });
    await waitFor(
      async () =>
        (await page.locator('#chart-rate canvas').count()) > 0 &&
        (await page.locator('#chart-lag canvas').count()) > 0,
      { what: 'the lag and rate charts to be drawn' },
    );

    // A delivery that keeps failing is dead-lettered and listed on the page.
    const statusEvent = await tenant.client.ok<{ id: string }>('POST', '/v1/events', {
      type: 'status.changed',
      data: { status: 'broken' },
    });
    const row = page.locator('#dead-letters tr', { hasText: statusEvent.id });
    await row.waitFor({ state: 'visible', timeout: 30_000 });
    const failedAttempts = receiver.on('/flaky').length;
    expect(failedAttempts).toBeGreaterThanOrEqual(2);
    expect(await page.locator('#endpoints tr', { hasText: flaky.id.slice(0, 8) }).textContent()).toContain(
      '500',
    );

    // The receiver recovers; the operator clicks Replay; the event arrives again with the same id.
    receiver.respond('/flaky', { status: 204 });
    await row.locator('button.replay').click();
    await waitFor(() => receiver.on('/flaky').length > failedAttempts, {
      what: 'the replayed delivery at the receiver',
    });
    const replayed = receiver.on('/flaky')[failedAttempts];
    expect(replayed.headers['webhook-id']).toBe(statusEvent.id);
    await waitFor(async () => ((await row.locator('td.replayed').textContent()) ?? '-') !== '-', {
      what: 'the dead letter to show when it was replayed',
    });
    const listed = await api.ok<{ items: Array<{ eventId: string; replayedAt: string | null }> }>(
      'GET',
      '/v1/ops/dead-letters',
    );
    expect(listed.items.find((d) => d.eventId === statusEvent.id)?.replayedAt).not.toBeNull();

    const screenshot = join(ARTIFACTS, 'dashboard.png');
    await page.screenshot({ path: screenshot, fullPage: true });
    expect(statSync(screenshot).size).toBeGreaterThan(10_000);
    expect(pageErrors).toEqual([]);
  });

  it('lists both replicas: which answered, which exports, the delivery partitions each owns', async () => {
    const firstId = (await stack.api.ok<ClusterView>('GET', '/v1/ops/cluster')).answeredBy;
    const secondId = (await second.ok<ClusterView>('GET', '/v1/ops/cluster')).answeredBy;
    const { page, pageErrors } = await openDashboard();

    const table = async (): Promise<ReplicaOnPage[]> => {
      const shown: ReplicaOnPage[] = [];
      for (const row of await page.locator('#replicas tr').all()) {
        shown.push({
          id: await row.getAttribute('data-replica-id'),
          cells: await row.locator('td').allTextContents(),
          exporter: (await row.locator('td:nth-child(5) .badge', { hasText: 'exporter' }).count()) === 1,
        });
      }
      return shown;
    };
    let seen: ReplicaOnPage[] = [];
    // Partitions move to the second replica in a rebalance, and heartbeats carry them every 2 s.
    await waitFor(
      async () => {
        seen = await table();
        const owned = seen.flatMap((row) => row.cells[5].split(', ').filter((p) => /^\d+$/.test(p)));
        return (
          seen.length === 2 &&
          seen.every((row) => row.cells[3] === 'yes') &&
          seen.every((row) => row.cells[5] !== 'none') &&
          owned.sort().join() === '0,1,2'
        );
      },
      {
        what: () =>
          `two live replicas owning partitions 0, 1 and 2 in the table (shows ${JSON.stringify(seen)})`,
        timeoutMs: 30_000,
      },
    );
    expect(seen.map((row) => row.id).sort()).toEqual([firstId, secondId].sort());
    // The oldest live replica, the first, exports the cluster-wide series.
    expect(seen.filter((row) => row.exporter).map((row) => row.id)).toEqual([firstId]);
    for (const row of seen) expect(row.cells[2]).toBe('api, fanout, delivery');
    expect(seen.find((row) => row.id === firstId)?.cells[0]).toContain('answered');
    expect(await page.locator('#cluster').textContent()).toBe(`answered by ${firstId} · 2 replicas live`);
    expect(await page.locator('#replica-count').textContent()).toBe('(2 live)');
    expect(pageErrors).toEqual([]);
  });
});
