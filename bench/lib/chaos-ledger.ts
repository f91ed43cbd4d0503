/**
 * The ledger of bench/chaos.ts: what the normal tenants' receiver got per endpoint (requests, 2xx
 * answers, injected failures, order of first deliveries), what each endpoint was owed, the drain
 * until nothing is outstanding, and the per-endpoint figures (lost, duplicates, order violations).
 */
import { CONFIG, ENDPOINTS, matches, strictKeyOf } from './chaos-config';
import type { PublishedEvent } from './chaos-publisher';
import { failsFirstAttempt, secondsSince } from './faults';
import type { Delivery } from './receiver';
import { until } from './service';

interface PathLedger {
  /** id -> number of requests */
  requests: Map<string, number>;
  /** id -> number of 2xx answers */
  successes: Map<string, number>;
  /** seq of each event in order of its first 2xx */
  firstSuccessSeqs: number[];
  injectedFailures: number;
}

export class ChaosLedger {
  private readonly ledger = new Map<string, PathLedger>(
    ENDPOINTS.map((e) => [
      e.path,
      { requests: new Map(), successes: new Map(), firstSuccessSeqs: [], injectedFailures: 0 },
    ]),
  );
  private readonly failRateOf = new Map(ENDPOINTS.map((e) => [e.path, e.failRate]));
  private readonly expected = new Map<string, Array<{ id: string; seq: number }>>();

  /** The receiver's answer to a delivery, recorded: 500 for an injected first-attempt failure. */
  answer(d: Delivery): number {
    const entry = this.ledger.get(d.path);
    if (!entry) return 404;
    const seen = entry.requests.get(d.webhookId) ?? 0;
    entry.requests.set(d.webhookId, seen + 1);
    if (seen === 0 && failsFirstAttempt(d.path, d.webhookId, this.failRateOf.get(d.path) ?? 0)) {
      entry.injectedFailures++;
      return 500;
    }
    const successes = entry.successes.get(d.webhookId) ?? 0;
    entry.successes.set(d.webhookId, successes + 1);
    if (successes === 0) {
      entry.firstSuccessSeqs.push((JSON.parse(d.body) as { data: { seq: number } }).data.seq);
    }
    return 204;
  }

  /** What each endpoint is owed: the published events of its tenant and types. */
  expect(published: PublishedEvent[]): void {
    for (const spec of ENDPOINTS) {
      this.expected.set(
        spec.path,
        published
          .filter((e) => e.tenant === spec.tenant && matches(spec, e.type))
          .map(({ id, seq }) => ({ id, seq })),
      );
    }
  }

  missing(): number {
    let total = 0;
    for (const spec of ENDPOINTS) {
      const successes = this.ledger.get(spec.path)!.successes;
      for (const e of this.expected.get(spec.path)!) if (!successes.has(e.id)) total++;
    }
    return total;
  }

  /**
   * Waits until nothing is outstanding, no progress for CONFIG.stallS (a stall) or the drain timeout.
   * Resolves with the drain's seconds and whether it stalled.
   */
  async drain(
    log: (message: string) => void,
    lastError: () => string,
  ): Promise<{ drainS: number; stalled: boolean }> {
    log(`publishing and faults done; draining (${this.missing()} deliveries outstanding)`);
    const drainStart = Date.now();
    let lastReport = Date.now();
    let lastLeft = this.missing();
    let lastMoved = Date.now();
    let stalled = false;
    await until(
      () => {
        const left = this.missing();
        if (left !== lastLeft) {
          lastLeft = left;
          lastMoved = Date.now();
        }
        if (Date.now() - lastReport > 15_000) {
          log(`draining: ${left} deliveries outstanding`);
          lastReport = Date.now();
        }
        // Flaky endpoints fail only first attempts, so a retry waits seconds, not the 240 s tier: no
        // progress for CHAOS_STALL_S (default 180 s) is a stall.
        stalled = Date.now() - lastMoved > CONFIG.stallS * 1000;
        return left === 0 || stalled;
      },
      CONFIG.drainTimeoutS * 1000,
      500,
    );
    if (stalled) log(`drain stalled: no progress for ${CONFIG.stallS} s; last service error: ${lastError()}`);
    return { drainS: secondsSince(drainStart), stalled };
  }

  /** The figures of each endpoint. */
  perEndpoint() {
    return ENDPOINTS.map((spec) => {
      const entry = this.ledger.get(spec.path)!;
      const exp = this.expected.get(spec.path)!;
      const delivered = exp.filter((e) => entry.successes.has(e.id)).length;
      let duplicates = 0;
      for (const count of entry.successes.values()) duplicates += count - 1;
      let orderViolations = 0;
      // Per ordering key on an endpoint that orders per key; the whole stream is one key otherwise.
      const highest = new Map<string, number>();
      for (const seq of entry.firstSuccessSeqs) {
        const key = (spec.maxConcurrency ?? 1) > 1 ? strictKeyOf(seq) : '';
        if (seq < (highest.get(key) ?? -1)) orderViolations++;
        highest.set(key, Math.max(highest.get(key) ?? -1, seq));
      }
      const lostIds = exp.filter((e) => !entry.successes.has(e.id)).map((e) => e.id);
      return {
        endpoint: spec.path,
        ordering: spec.ordering,
        injectedFirstAttemptFailRate: spec.failRate,
        expected: exp.length,
        delivered,
        lost: exp.length - delivered,
        duplicates,
        injectedFailures: entry.injectedFailures,
        requests: [...entry.requests.values()].reduce((a, b) => a + b, 0),
        orderViolations: spec.ordering === 'strict' ? orderViolations : undefined,
        outOfOrderFirstDeliveries: spec.ordering === 'none' ? orderViolations : undefined,
        lostSample: lostIds.slice(0, 5),
      };
    });
  }
}

export type EndpointFigures = ReturnType<ChaosLedger['perEndpoint']>[number];
