import type { DataSource } from 'typeorm';
import { FIRST_ATTEMPT } from '../domain/delivery-task';
import { HeldDeliveries, type HoldRequest } from './held-deliveries';

/** The queries HeldDeliveries sends, answered at once. */
class RecordingDataSource {
  readonly queries: Array<{ sql: string; parameters: unknown[] }> = [];
  /** Queries without a deadline go through the shared manager, which answers as the source does. */
  readonly manager = this;

  query(sql: string, parameters: unknown[]): Promise<unknown[]> {
    this.queries.push({ sql, parameters });
    return Promise.resolve([]);
  }
}

const request = (n: number): HoldRequest => ({
  endpointId: `00000000-0000-4000-8000-00000000000${n}`,
  deliveryId: `d-${n}`,
  publishedAtMs: 1_000 + n,
  task: Buffer.from(`task-${n}`),
  state: FIRST_ATTEMPT,
});

describe('HeldDeliveries', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('gathers holds made a few milliseconds apart into one insert', async () => {
    const db = new RecordingDataSource();
    const held = new HeldDeliveries(db as unknown as DataSource);
    const settled: number[] = [];
    const holds: Array<Promise<unknown>> = [];
    for (const n of [1, 2, 3]) {
      holds.push(held.hold(request(n)).then(() => settled.push(n)));
      await jest.advanceTimersByTimeAsync(3);
    }
    expect(db.queries).toHaveLength(0);
    await jest.advanceTimersByTimeAsync(1);
    await Promise.all(holds);
    expect(db.queries).toHaveLength(1);
    expect(db.queries[0].parameters[0]).toEqual([1, 2, 3].map((n) => request(n).endpointId));
    expect(settled).toEqual([1, 2, 3]);
  });
});
