import { Registry } from 'prom-client';
import { decideWindow, mergeTallies, type NotificationWindow, type Tally } from '../../domain/notifications';
import { FakeClock, silentLogger, testConfig } from '../../testing/fakes';
import type { Notification } from './notification-publisher';
import { TallyKeptError, type WindowKey } from './notification-windows.repository';
import { Notifier } from './notifier';

const config = testConfig({ HOOKSTREAM_NOTIFICATION_INTERVAL: '1m' });
const TENANT = 't-1';
const ENDPOINT = 'ep-1';

/**
 * notification_windows in memory, with the same decision as the repository: a failed publish puts
 * its tally back in front of what is pending and rejects with TallyKeptError. Can be told to fail.
 */
class InMemoryWindows {
  readonly windows = new Map<string, NotificationWindow & { key: WindowKey }>();
  down = false;

  async settle(
    key: WindowKey,
    added: Tally | null,
    nowMs: number,
    intervalMs: number,
    publish: (tally: Tally, atMs: number) => Promise<void>,
  ): Promise<Tally | null> {
    if (this.down) throw new Error('PostgreSQL unavailable');
    const id = `${key.type} ${key.endpointId}`;
    const window = this.windows.get(id) ?? { key, sentAtMs: null, pending: null };
    const decision = decideWindow(window, added, nowMs, intervalMs);
    if (decision.send === null) {
      this.windows.set(id, { key, ...decision.next });
      return null;
    }
    this.windows.set(id, { key, sentAtMs: window.sentAtMs, pending: null });
    try {
      await publish(decision.send, nowMs);
    } catch (error) {
      const pending = mergeTallies(decision.send, this.windows.get(id)?.pending ?? null);
      this.windows.set(id, { key, sentAtMs: window.sentAtMs, pending });
      throw new TallyKeptError(error);
    }
    this.windows.set(id, { key, sentAtMs: nowMs, pending: this.windows.get(id)?.pending ?? null });
    return decision.send;
  }

  async due(nowMs: number, intervalMs: number): Promise<WindowKey[]> {
    if (this.down) throw new Error('PostgreSQL unavailable');
    return [...this.windows.values()]
      .filter((w) => w.pending !== null && (w.sentAtMs === null || w.sentAtMs <= nowMs - intervalMs))
      .map((w) => w.key);
  }
}

/** The consumer runner's side of a shutdown: it drains, then runs what was registered with afterDrain. */
class DrainingRunner {
  private readonly hooks: Array<() => Promise<void>> = [];

  afterDrain(hook: () => Promise<void>): void {
    this.hooks.push(hook);
  }

  async close(): Promise<void> {
    await Promise.all(this.hooks.map((hook) => hook()));
  }
}

function world() {
  const clock = new FakeClock();
  const windows = new InMemoryWindows();
  const published: Notification[] = [];
  const registry = new Registry();
  const runner = new DrainingRunner();
  /** Makes the next `failures` publishes fail, as Kafka unavailable would. */
  const kafka = { failures: 0 };
  const notifier = new Notifier(
    config,
    {
      publish: async (notification) => {
        if (kafka.failures > 0) {
          kafka.failures -= 1;
          throw new Error('Kafka unavailable');
        }
        published.push(notification);
        return notification.type;
      },
    },
    windows,
    {
      get: (id) =>
        id === ENDPOINT ? ({ id, tenantId: TENANT, url: 'https://example.com/hook' } as never) : undefined,
    },
    clock,
    silentLogger,
    registry,
    runner,
  );
  const counted = async () =>
    Object.fromEntries(
      (await registry.getSingleMetric('hookstream_notifications_total')!.get()).values.map((v) => [
        `${v.labels.type} ${v.labels.result}`,
        v.value,
      ]),
    );
  return { clock, windows, published, notifier, counted, runner, kafka };
}

const deadLetter = (n: number) => ({ atMs: n, eventId: `e-${n}`, reason: 'attempts_exhausted' });

describe('Notifier', () => {
  it('turns 1,000 dead letters over ten minutes into one notification a minute, whose counts add up', async () => {
    const { clock, published, notifier, counted } = world();
    for (let n = 0; n < 1_000; n += 1) {
      notifier.deadLettered(ENDPOINT, TENANT, 'record.updated', deadLetter(n));
      clock.advance(600);
      // The flush timer every 5 s.
      if (n % 8 === 0) await notifier.flush();
    }
    clock.advance(60_000);
    await notifier.flush();
    expect(published.length).toBeGreaterThanOrEqual(10);
    expect(published.length).toBeLessThanOrEqual(12);
    const counts = published.map((n) => (n.data as { count: number }).count);
    expect(counts.reduce((sum, count) => sum + count, 0)).toBe(1_000);
    expect(published[0]).toMatchObject({
      type: 'hookstream.dead_letter.created',
      tenantId: TENANT,
      endpointId: ENDPOINT,
      data: { endpoint: { id: ENDPOINT, url: 'https://example.com/hook' }, count: 1, firstEventId: 'e-0' },
    });
    expect(await counted()).toEqual({
      'hookstream.dead_letter.created published': published.length,
      'hookstream.dead_letter.created suppressed': 1_000 - published.length,
    });
  });

  it("does not count the dead letters of Hookstream's own notifications (no loop)", async () => {
    const { published, notifier } = world();
    notifier.deadLettered(ENDPOINT, TENANT, 'hookstream.dead_letter.created', deadLetter(1));
    notifier.deadLettered(ENDPOINT, TENANT, 'hookstream.endpoint.failing', deadLetter(2));
    await notifier.flush();
    expect(published).toEqual([]);
  });

  it('keeps what it gathered while PostgreSQL is down, and sends it all once it is back', async () => {
    const { windows, published, notifier } = world();
    windows.down = true;
    notifier.deadLettered(ENDPOINT, TENANT, 'record.updated', deadLetter(1));
    await notifier.flush();
    notifier.deadLettered(ENDPOINT, TENANT, 'record.updated', deadLetter(2));
    await notifier.flush();
    expect(published).toEqual([]);
    windows.down = false;
    await notifier.flush();
    expect(published.map((n) => n.data)).toEqual([
      expect.objectContaining({ count: 2, firstEventId: 'e-1', lastEventId: 'e-2' }),
    ]);
  });

  it('leaves the tally of a failed publish to its window, so it goes out once, counted once', async () => {
    const { published, notifier, kafka } = world();
    kafka.failures = 1;
    notifier.deadLettered(ENDPOINT, TENANT, 'record.updated', deadLetter(1));
    await notifier.flush();
    expect(published).toEqual([]);
    notifier.deadLettered(ENDPOINT, TENANT, 'record.updated', deadLetter(2));
    await notifier.flush();
    expect(published.map((n) => n.data)).toEqual([
      expect.objectContaining({ count: 2, firstEventId: 'e-1', lastEventId: 'e-2' }),
    ]);
  });

  it('reports a failing endpoint with its latest figures, once per interval', async () => {
    const { clock, published, notifier } = world();
    for (let n = 0; n < 20; n += 1) {
      notifier.endpointFailing(ENDPOINT, TENANT, {
        atMs: clock.now(),
        consecutiveFailures: 10 + n,
        failingSinceMs: 0,
        lastStatus: 503,
        lastError: 'HTTP 503',
      });
      await notifier.flush();
      clock.advance(5_000);
    }
    // 100 s of failures: the first at once, the next a minute later.
    expect(published.map((n) => n.data)).toEqual([
      expect.objectContaining({ consecutiveFailures: 10, failuresSinceLastNotification: 1, lastStatus: 503 }),
      expect.objectContaining({ consecutiveFailures: 22, failuresSinceLastNotification: 12 }),
    ]);
  });

  it('publishes a disable with the endpoint and reason', async () => {
    const { published, notifier, counted } = world();
    await notifier.endpointDisabled(ENDPOINT, 'endpoint answered HTTP 410; disabled', Date.UTC(2026, 11, 2));
    notifier.disableAlreadyReported();
    expect(published).toEqual([
      {
        type: 'hookstream.endpoint.disabled',
        tenantId: TENANT,
        endpointId: ENDPOINT,
        atMs: Date.UTC(2026, 11, 2),
        data: {
          endpoint: { id: ENDPOINT, url: 'https://example.com/hook' },
          reason: 'endpoint answered HTTP 410; disabled',
          disabledAt: '2026-12-02T00:00:00.000Z',
        },
      },
    ]);
    expect(await counted()).toEqual({
      'hookstream.endpoint.disabled published': 1,
      'hookstream.endpoint.disabled suppressed': 1,
    });
  });

  describe('at shutdown (after the delivery consumers drained, before the producer disconnects)', () => {
    it('settles the signals gathered since the last flush, and those of the deliveries that drained', async () => {
      const { published, notifier, runner } = world();
      notifier.onModuleInit();
      notifier.deadLettered(ENDPOINT, TENANT, 'record.updated', deadLetter(1));
      // SIGTERM: Nest's first hooks; the consumers then drain, and one more delivery dead-letters.
      notifier.onModuleDestroy();
      notifier.endpointFailing(ENDPOINT, TENANT, { atMs: 2, consecutiveFailures: 10, lastStatus: 503 });
      expect(published).toEqual([]);
      await runner.close();
      const byType = new Map(published.map((n) => [n.type, n.data]));
      expect([...byType.keys()].sort()).toEqual([
        'hookstream.dead_letter.created',
        'hookstream.endpoint.failing',
      ]);
      expect(byType.get('hookstream.dead_letter.created')).toMatchObject({ count: 1, firstEventId: 'e-1' });
      expect(byType.get('hookstream.endpoint.failing')).toMatchObject({ consecutiveFailures: 10 });
    });

    it('waits for a flush already running, then flushes what came in meanwhile', async () => {
      const { windows, published, notifier, runner } = world();
      notifier.onModuleInit();
      notifier.deadLettered(ENDPOINT, TENANT, 'record.updated', deadLetter(1));
      let release: (() => void) | undefined;
      const settle = windows.settle.bind(windows);
      windows.settle = async (...args) => {
        await new Promise<void>((resolve) => (release = resolve));
        windows.settle = settle;
        return settle(...args);
      };
      const running = notifier.flush();
      notifier.endpointFailing(ENDPOINT, TENANT, { atMs: 2, consecutiveFailures: 10 });
      const closing = runner.close();
      while (release === undefined) await new Promise((resolve) => setImmediate(resolve));
      release();
      await Promise.all([running, closing]);
      expect(published.map((n) => n.type).sort()).toEqual([
        'hookstream.dead_letter.created',
        'hookstream.endpoint.failing',
      ]);
    });

    it('publishes a disable still between its retries at once, instead of dropping it', async () => {
      // Timers stand still: the close resolves only if it does not wait out the retry's pause.
      jest.useFakeTimers({ doNotFake: ['setImmediate', 'nextTick', 'queueMicrotask'] });
      try {
        const { published, notifier, runner, kafka, counted } = world();
        notifier.onModuleInit();
        kafka.failures = 1;
        const disabling = notifier.endpointDisabled(ENDPOINT, 'endpoint answered HTTP 410; disabled', 5);
        // Its first try failed; the next would be a second later.
        await new Promise((resolve) => setImmediate(resolve));
        expect(published).toEqual([]);
        await runner.close();
        await disabling;
        expect(published.map((n) => n.type)).toEqual(['hookstream.endpoint.disabled']);
        expect(await counted()).toEqual({ 'hookstream.endpoint.disabled published': 1 });
      } finally {
        jest.useRealTimers();
      }
    });

    it('gives up on a disable Kafka will not take within the deadline, counted failed', async () => {
      const { published, notifier, counted } = world();
      notifier.onModuleInit();
      let hang!: () => void;
      (notifier as unknown as { publisher: { publish: () => Promise<string> } }).publisher = {
        publish: () => new Promise((resolve) => (hang = () => resolve('late'))),
      };
      void notifier.endpointDisabled(ENDPOINT, 'endpoint answered HTTP 410; disabled', 5);
      await notifier.finalFlush(50);
      expect(await counted()).toEqual({ 'hookstream.endpoint.disabled failed': 1 });
      // Acknowledged after all, once given up: not counted twice.
      hang();
      await new Promise((resolve) => setImmediate(resolve));
      expect(await counted()).toEqual({ 'hookstream.endpoint.disabled failed': 1 });
      expect(published).toEqual([]);
    });
  });
});
