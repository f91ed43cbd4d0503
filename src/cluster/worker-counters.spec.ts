import { AggregatorRegistry, Counter, Gauge, Registry } from 'prom-client';
import type { MetricsJson } from './worker-protocol';
import { WorkerCounters } from './worker-counters';

/** One worker's series: a counter at `count`, a gauge at `now`. */
async function worker(count: number, now: number): Promise<MetricsJson> {
  const registry = new Registry();
  new Counter({ name: 'c_total', help: 'c', registers: [registry] }).inc(count);
  new Gauge({ name: 'g', help: 'g', registers: [registry] }).set(now);
  return registry.getMetricsAsJSON();
}

async function summed(list: MetricsJson[]): Promise<Record<string, number>> {
  const json = await AggregatorRegistry.aggregate(list).getMetricsAsJSON();
  return Object.fromEntries(json.map((metric) => [metric.name, metric.values[0]?.value ?? 0]));
}

describe('WorkerCounters', () => {
  it('keeps a summed counter from falling when a worker misses a scrape, dies, or is replaced', async () => {
    const counters = new WorkerCounters();
    const alive = new Set([1, 2]);
    const scrape = async (answers: Array<[number, MetricsJson]>) =>
      summed(await counters.toSum(new Map(answers), (id) => alive.has(id)));

    expect(
      await scrape([
        [1, await worker(400, 1)],
        [2, await worker(600, 1)],
      ]),
    ).toEqual({ c_total: 1000, g: 2 });
    // Worker 1 is busy past the scrape's deadline: its last count stays in, its gauge does not.
    expect(await scrape([[2, await worker(610, 1)]])).toEqual({ c_total: 1010, g: 1 });
    expect(
      await scrape([
        [1, await worker(405, 1)],
        [2, await worker(610, 1)],
      ]),
    ).toEqual({ c_total: 1015, g: 2 });
    // Worker 1 dies; its successor (worker 3) counts from 0 on top of what it had counted.
    alive.delete(1);
    alive.add(3);
    expect(await scrape([[2, await worker(620, 1)]])).toEqual({ c_total: 1025, g: 1 });
    expect(
      await scrape([
        [2, await worker(620, 1)],
        [3, await worker(7, 1)],
      ]),
    ).toEqual({ c_total: 1032, g: 2 });
  });

  it('sums the counters of many gone workers into one snapshot', async () => {
    const counters = new WorkerCounters();
    let total = 0;
    for (let id = 1; id <= 20; id++) {
      // Each scrape sees one worker, and the one before it has died.
      const sum = await counters.toSum(new Map([[id, await worker(10, 0)]]), (other) => other === id);
      total = (await summed(sum)).c_total;
      expect(sum.length).toBeLessThanOrEqual(1 + 5);
    }
    expect(total).toBe(200);
  });
});
