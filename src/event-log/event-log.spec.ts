import { Registry } from 'prom-client';
import { FakeClock, silentLogger, testConfig } from '../testing/fakes';
import { EventLog } from './event-log';
import type { EventRecord } from './events.repository';

const dataError = () => Object.assign(new Error('invalid byte sequence'), { code: '22021' });
const connectionError = () => Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });

function row(n: number, dataBytes = 10): EventRecord {
  return {
    tenantId: 't',
    eventId: `e-${n}`,
    type: 'record.updated',
    source: '/s',
    subject: null,
    time: '2026-12-02T12:00:00.000Z',
    receivedAt: new Date(0),
    data: Buffer.alloc(dataBytes, 0x31),
  };
}

/** A table that refuses listed event ids, as PostgreSQL refuses a value it cannot store. */
class FakeEventsTable {
  readonly stored: EventRecord[] = [];
  refuse = new Set<string>();
  down = false;
  inserts = 0;
  cutoffs: Date[] = [];

  async insert(batch: EventRecord[]): Promise<void> {
    this.inserts += 1;
    if (this.down) throw connectionError();
    if (batch.some((r) => this.refuse.has(r.eventId))) throw dataError();
    this.stored.push(...batch);
  }

  async deleteOlderThan(cutoff: Date): Promise<number> {
    this.cutoffs.push(cutoff);
    return 0;
  }

  async oldestReceivedAt(): Promise<Date | null> {
    return null;
  }

  async rehomeIfRestored(): Promise<number> {
    return 0;
  }
}

function world(env: Record<string, string> = {}) {
  const table = new FakeEventsTable();
  const registry = new Registry();
  const clock = new FakeClock();
  const log = new EventLog(table, testConfig(env), clock, registry, silentLogger);
  const metric = async (name: string) =>
    Object.fromEntries(
      (await registry.getSingleMetric(name)!.get()).values.map((v) => [v.labels.reason ?? 'all', v.value]),
    );
  return { table, log, clock, metric };
}

const ids = (rows: EventRecord[]) => rows.map((r) => r.eventId);
const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => `e-${from + i}`);

describe('EventLog', () => {
  it('drops only the row PostgreSQL refuses, counted, and writes the rest of its batch in order', async () => {
    const { table, log, metric } = world();
    table.refuse.add('e-7');
    for (let n = 0; n < 20; n++) log.append(row(n));
    await log.onApplicationShutdown();
    expect(ids(table.stored)).toEqual(range(0, 20).filter((id) => id !== 'e-7'));
    expect(await metric('hookstream_events_feed_dropped_total')).toEqual({ unstorable: 1 });
    expect(await metric('hookstream_events_feed_written_total')).toEqual({ all: 19 });
  });

  it('retries a failed insert in place with backoff, so rows appended meanwhile stay behind it', async () => {
    jest.useFakeTimers();
    try {
      const { table, log } = world();
      table.down = true;
      for (let n = 0; n < 5; n++) log.append(row(n));
      await jest.advanceTimersByTimeAsync(2_000);
      // 250 ms linger, then 250, 500, 1000 ms waits: backoff, not one insert per linger.
      expect(table.inserts).toBeGreaterThanOrEqual(3);
      expect(table.inserts).toBeLessThanOrEqual(4);
      for (let n = 5; n < 10; n++) log.append(row(n));
      table.down = false;
      await jest.advanceTimersByTimeAsync(3_000);
      expect(ids(table.stored)).toEqual(range(0, 10));
      await log.onApplicationShutdown();
    } finally {
      jest.useRealTimers();
    }
  });

  it('drops the oldest rows past the byte bound, counted, and keeps the newest', async () => {
    const { table, log, metric } = world({ HOOKSTREAM_EVENTS_BUFFER: '64KiB' });
    table.down = true;
    for (let n = 0; n < 200; n++) log.append(row(n, 4 * 1024));
    const dropped = (await metric('hookstream_events_feed_dropped_total')).buffer_full;
    expect(dropped).toBeGreaterThan(150);
    expect(await metric('hookstream_events_feed_buffered_bytes')).toEqual({ all: expect.any(Number) });
    table.down = false;
    await log.onApplicationShutdown();
    // Only the newest that fitted the bound were still buffered.
    expect(ids(table.stored).slice(-5)).toEqual(range(195, 200));
    expect(table.stored.length + dropped).toBe(200);
  });

  it('counts the batch being retried in its byte bound: what it holds in all stays under it', async () => {
    jest.useFakeTimers();
    try {
      const { table, log, metric } = world({ HOOKSTREAM_EVENTS_BUFFER: '64KiB' });
      table.down = true;
      for (let n = 0; n < 14; n++) log.append(row(n, 4 * 1024));
      // The first 14 rows are taken into a write that fails and is retried in place.
      await jest.advanceTimersByTimeAsync(300);
      expect(table.inserts).toBeGreaterThanOrEqual(1);
      for (let n = 14; n < 200; n++) log.append(row(n, 4 * 1024));
      expect(await metric('hookstream_events_feed_buffered_bytes')).toEqual({
        all: expect.any(Number) as number,
      });
      const held = (await metric('hookstream_events_feed_buffered_bytes')).all;
      expect(held).toBeLessThanOrEqual(64 * 1024);
      table.down = false;
      await jest.advanceTimersByTimeAsync(5_000);
      await log.onApplicationShutdown();
      // The 14 rows in flight fill the bound; before, up to 14 more waited behind them.
      expect(ids(table.stored).slice(0, 14)).toEqual(range(0, 14));
      expect(table.stored.length).toBeLessThanOrEqual(16);
      const dropped = (await metric('hookstream_events_feed_dropped_total')).buffer_full;
      expect(table.stored.length + dropped).toBe(200);
    } finally {
      jest.useRealTimers();
    }
  });

  it('gives up retrying at shutdown and counts what it could not write', async () => {
    const { table, log, metric } = world();
    table.down = true;
    for (let n = 0; n < 3; n++) log.append(row(n));
    await log.onApplicationShutdown();
    expect(table.stored).toEqual([]);
    expect(await metric('hookstream_events_feed_dropped_total')).toEqual({ shutdown: 3 });
  });

  it('deletes rows older than the retention, every half of it', async () => {
    jest.useFakeTimers();
    try {
      const { table, log, clock } = world({ HOOKSTREAM_EVENTS_RETENTION: '10s' });
      await log.onModuleInit();
      await jest.advanceTimersByTimeAsync(5_000);
      expect(table.cutoffs.map((cutoff) => clock.now() - cutoff.getTime())).toEqual([10_000]);
      await log.onApplicationShutdown();
    } finally {
      jest.useRealTimers();
    }
  });
});
