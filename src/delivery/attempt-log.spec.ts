import { Registry } from 'prom-client';
import { FakeClock, silentLogger, testConfig } from '../testing/fakes';
import { AttemptLog } from './attempt-log';
import type { AttemptRecord } from './attempts.repository';

const dataError = () => Object.assign(new Error('invalid byte sequence'), { code: '22021' });
const connectionError = () => Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });

function row(n: number, responseBody: string | null = null): AttemptRecord {
  return {
    endpointId: 'ep',
    tenantId: 't',
    eventId: `e-${n}`,
    deliveryId: `d-${n}`,
    attempt: 1,
    statusCode: 200,
    error: null,
    outcome: 'delivered',
    latencyMs: 1,
    responseBody,
    attemptedAt: new Date(0),
  };
}

/** A table that refuses rows whose event id is listed, as PostgreSQL refuses a value it cannot store. */
class FakeAttemptsTable {
  readonly stored: AttemptRecord[] = [];
  refuse = new Set<string>();
  down = false;
  /** How long a write takes to fail while down (a connection attempt timing out). */
  failAfterMs = 0;
  inserts = 0;

  async insert(batch: AttemptRecord[]): Promise<void> {
    this.inserts += 1;
    if (this.down && this.failAfterMs > 0)
      await new Promise((resolve) => setTimeout(resolve, this.failAfterMs));
    if (this.down) throw connectionError();
    if (batch.some((r) => this.refuse.has(r.eventId) && r.responseBody !== null)) throw dataError();
    this.stored.push(...batch);
  }

  async deleteOlderThan(): Promise<number> {
    return 0;
  }
}

function world(env: Record<string, string> = {}) {
  const table = new FakeAttemptsTable();
  const registry = new Registry();
  const log = new AttemptLog(table, testConfig(env), new FakeClock(), registry, silentLogger);
  const degraded = async () =>
    Object.fromEntries(
      (await registry.getSingleMetric('hookstream_attempt_log_degraded_total')!.get()).values.map((v) => [
        v.labels.what,
        v.value,
      ]),
    );
  return { table, log, degraded };
}

describe('AttemptLog', () => {
  it('isolates the row PostgreSQL refuses and writes the rest of its batch', async () => {
    const { table, log, degraded } = world();
    table.refuse.add('e-7');
    for (let n = 0; n < 20; n++) log.append(row(n, 'ok'));
    await log.onApplicationShutdown();
    expect(table.stored.map((r) => r.eventId).sort()).toEqual(
      Array.from({ length: 20 }, (_, n) => `e-${n}`).sort(),
    );
    expect(table.stored.find((r) => r.eventId === 'e-7')?.responseBody).toBeNull();
    expect(await degraded()).toEqual({ row_stored_without_texts: 1 });
  });

  it('keeps rows while PostgreSQL is down, backing off between writes, and writes them once it is back', async () => {
    jest.useFakeTimers();
    try {
      const { table, log } = world();
      table.down = true;
      for (let n = 0; n < 5; n++) log.append(row(n));
      await jest.advanceTimersByTimeAsync(20_000);
      // 250 ms linger, then waits of 250 ms doubling to 5 s: a handful of tries, not one per tick.
      expect(table.inserts).toBeGreaterThanOrEqual(4);
      expect(table.inserts).toBeLessThanOrEqual(10);
      expect(log.pending()).toBe(5);
      table.down = false;
      await jest.advanceTimersByTimeAsync(5_500);
      expect(table.stored).toHaveLength(5);
      await log.onApplicationShutdown();
    } finally {
      jest.useRealTimers();
    }
  });

  it('spends bodies before rows in an outage: rows written meanwhile and a failed write count against the budget', async () => {
    jest.useFakeTimers();
    try {
      const { table, log, degraded } = world({ HOOKSTREAM_ATTEMPT_LOG_BUFFER: '256KiB' });
      table.down = true;
      table.failAfterMs = 500;
      const body = 'x'.repeat(8 * 1024);
      // 150 rows of ~17 KB with their bodies would be ten times the budget; without bodies they fit.
      for (let n = 0; n < 150; n++) {
        log.append(row(n, body));
        await jest.advanceTimersByTimeAsync(100);
      }
      expect((await degraded()).row_dropped_buffer_full).toBeUndefined();
      table.down = false;
      await jest.advanceTimersByTimeAsync(6_000);
      await log.onApplicationShutdown();
      expect(table.stored).toHaveLength(150);
      expect(table.stored.filter((r) => r.responseBody !== null).length).toBeLessThanOrEqual(8);
    } finally {
      jest.useRealTimers();
    }
  });

  it('drops response bodies past half of the buffer, and the oldest rows past all of it', async () => {
    const { table, log, degraded } = world({ HOOKSTREAM_ATTEMPT_LOG_BUFFER: '64KiB' });
    table.down = true;
    const body = 'x'.repeat(8 * 1024);
    for (let n = 0; n < 200; n++) log.append(row(n, body));
    const counts = await degraded();
    expect(counts.response_body_dropped).toBeGreaterThan(150);
    expect(counts.row_dropped_buffer_full).toBeGreaterThan(0);
    table.down = false;
    await log.onApplicationShutdown();
    expect(table.stored.filter((r) => r.responseBody !== null).length).toBeLessThanOrEqual(2);
    expect(table.stored.map((r) => r.eventId)).toContain('e-199');
  });
});
