import { Registry } from 'prom-client';
import type { Logger } from 'pino';
import { FakeClock, gate, testConfig } from '../testing/fakes';
import { AttemptLog } from './attempt-log';
import type { AttemptRecord } from './attempts.repository';

const dataError = () => Object.assign(new Error('invalid byte sequence'), { code: '22021' });
const connectionError = () => Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });

function row(n: number, responseBody: string | null = null, error: string | null = null): AttemptRecord {
  return {
    endpointId: 'ep',
    tenantId: 't',
    eventId: `e-${n}`,
    deliveryId: `d-${n}`,
    attempt: 1,
    statusCode: 200,
    error,
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
  /** Event ids whose next write fails transiently (after any refusal of the batch's data). */
  failOnce = new Set<string>();
  /** While set, writes wait for it (PostgreSQL slow). */
  hang: Promise<void> | null = null;
  inserts = 0;

  async insert(batch: AttemptRecord[]): Promise<void> {
    this.inserts += 1;
    if (this.hang) await this.hang;
    if (this.down && this.failAfterMs > 0)
      await new Promise((resolve) => setTimeout(resolve, this.failAfterMs));
    if (this.down) throw connectionError();
    if (batch.some((r) => this.refuse.has(r.eventId) && r.responseBody !== null)) throw dataError();
    const failing = batch.filter((r) => this.failOnce.has(r.eventId));
    if (failing.length > 0) {
      failing.forEach((r) => this.failOnce.delete(r.eventId));
      throw connectionError();
    }
    this.stored.push(...batch);
  }

  async deleteOlderThan(): Promise<number> {
    return 0;
  }
}

function world(env: Record<string, string> = {}) {
  const table = new FakeAttemptsTable();
  const registry = new Registry();
  const warnings: Array<{ fields: Record<string, unknown>; message: string }> = [];
  const logger = {
    warn: (fields: Record<string, unknown>, message: string) => void warnings.push({ fields, message }),
  } as unknown as Logger;
  const log = new AttemptLog(table, testConfig(env), new FakeClock(), registry, logger);
  const degraded = async () =>
    Object.fromEntries(
      (await registry.getSingleMetric('hookstream_attempt_log_degraded_total')!.get()).values.map((v) => [
        v.labels.what,
        v.value,
      ]),
    );
  const bufferedBytes = async () =>
    (await registry.getSingleMetric('hookstream_attempt_log_buffered_bytes')!.get()).values[0].value;
  return { table, log, degraded, bufferedBytes, warnings };
}

const storedIds = (table: FakeAttemptsTable) =>
  table.stored.map((r) => Number(r.eventId.slice(2))).sort((a, b) => a - b);
const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);
/** Error text making a row 6.4 KB: ten fit in 64 KiB, eleven do not. */
const longError = 'x'.repeat(3000);

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

  it('holds at most the budget with the batch being written included, dropping what waits', async () => {
    jest.useFakeTimers();
    try {
      const { table, log, degraded, bufferedBytes } = world({ HOOKSTREAM_ATTEMPT_LOG_BUFFER: '64KiB' });
      const slow = gate();
      table.hang = slow.opened;
      for (let n = 0; n < 8; n++) log.append(row(n, null, longError));
      await jest.advanceTimersByTimeAsync(300);
      expect(table.inserts).toBe(1);
      for (let n = 8; n < 28; n++) {
        log.append(row(n, null, longError));
        await jest.advanceTimersByTimeAsync(10);
        expect(await bufferedBytes()).toBeLessThanOrEqual(64 * 1024);
      }
      table.hang = null;
      slow.open();
      await log.onApplicationShutdown();
      // The 8 rows being written and the 2 newest fit; the 18 rows that waited before them went.
      expect(storedIds(table)).toEqual([...range(0, 8), 26, 27]);
      expect((await degraded()).row_dropped_buffer_full).toBe(18);
      expect(await bufferedBytes()).toBe(0);
    } finally {
      jest.useRealTimers();
    }
  });

  it('drops the oldest rows first past the budget, those of a failed write included', async () => {
    jest.useFakeTimers();
    try {
      const { table, log, degraded } = world({ HOOKSTREAM_ATTEMPT_LOG_BUFFER: '64KiB' });
      table.down = true;
      table.failAfterMs = 500;
      for (let n = 0; n < 5; n++) log.append(row(n, null, longError));
      await jest.advanceTimersByTimeAsync(300); // e-0..e-4 being written, failing at 750 ms
      for (let n = 5; n < 10; n++) log.append(row(n, null, longError));
      await jest.advanceTimersByTimeAsync(500); // failed: e-0..e-4 wait again, with e-5..e-9
      expect(table.inserts).toBe(1);
      for (let n = 10; n < 13; n++) log.append(row(n, null, longError));
      table.down = false;
      await log.onApplicationShutdown();
      expect(storedIds(table)).toEqual(range(3, 13));
      expect((await degraded()).row_dropped_buffer_full).toBe(3);
    } finally {
      jest.useRealTimers();
    }
  });

  it('counts the rows it cannot write at shutdown, and says so once', async () => {
    const { table, log, degraded, warnings } = world();
    table.down = true;
    for (let n = 0; n < 2500; n++) log.append(row(n));
    await log.onApplicationShutdown();
    expect(table.inserts).toBe(3);
    expect(await degraded()).toEqual({ row_dropped_shutdown: 2500 });
    const shutdownLines = warnings.filter((line) => line.message.includes('shutdown'));
    expect(shutdownLines).toHaveLength(1);
    expect(shutdownLines[0].fields.rows).toBe(2500);
  });

  it('writes each row once when a split batch fails part-way and is written again', async () => {
    jest.useFakeTimers();
    try {
      const { table, log, degraded } = world();
      // Refused: the batch splits; e-0 goes stripped, e-1 goes, then e-2 and e-3 fail transiently.
      table.refuse.add('e-0');
      table.failOnce.add('e-2');
      for (let n = 0; n < 4; n++) log.append(row(n, 'ok'));
      await jest.advanceTimersByTimeAsync(2_000);
      expect(storedIds(table)).toEqual([0, 1, 2, 3]);
      expect(await degraded()).toEqual({ row_stored_without_texts: 1 });
      await log.onApplicationShutdown();
    } finally {
      jest.useRealTimers();
    }
  });
});
