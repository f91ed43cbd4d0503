/**
 * The noisy-neighbour phase's quiet tenants (bench/lib/noisy-neighbour.ts): the sinks that count
 * their deliveries per run, the warm-up, and the throughput (burst) and latency (paced) runs.
 */
import type { Message } from 'kafkajs';
import { CONFIG, QUICK } from './config';
import { cloudEvent } from './kafka';
import type { NoisyNeighbourContext } from './noisy-neighbour';
import { paced } from './noisy-load';
import { log, publish, type Tenant } from './phases';
import type { Delivery } from './receiver';
import { sleep, until } from './service';
import { percentile, round } from './stats';

export const QUIET_TENANTS = 3;
export const QUIET_ENDPOINTS_PER_TENANT = 3;
/** A quiet run that has not moved for this long gives up and counts what is missing. */
export const QUIET_STALL_MS = QUICK ? 5_000 : 15_000;

export interface QuietRun {
  perSec: number;
  /** The throughput run's deliveries, publish to arrival: a late tail, not a slow rate, shows here. */
  burstLatencyMs: { p50: number; p90: number; max: number };
  p50Ms: number;
  p99Ms: number;
  /** Quiet deliveries that had not arrived when the run gave up waiting (no progress for QUIET_STALL_MS). */
  missing: number;
}

/** The quiet deliveries of one run: its own event type, so a late one of an earlier run is not counted. */
export class QuietSink {
  readonly ids = new Set<string>();
  /** `[sentAtMs, latencyMs]` of each delivery: its latencies, and what BENCH_NN_TRACE writes (noisy-trace.ts). */
  readonly trace: Array<[number, number]> = [];
  lastAt = 0;

  constructor(
    readonly type: string,
    readonly expected: number,
  ) {}

  get latencies(): number[] {
    return this.trace.map(([, latencyMs]) => latencyMs);
  }

  get complete(): boolean {
    return this.ids.size >= this.expected;
  }

  add(d: Delivery): void {
    const key = `${d.path}|${d.webhookId}`;
    if (this.ids.has(key)) return;
    this.ids.add(key);
    this.lastAt = d.receivedAtMs;
    const sentAt = (JSON.parse(d.body) as { data: { sentAt: number } }).data.sentAt;
    this.trace.push([sentAt, d.receivedAtMs - sentAt]);
  }
}

/** Every quiet endpoint has answered once: it is in the service's endpoint cache. */
export async function warmQuiet(
  ctx: NoisyNeighbourContext,
  quiet: Tenant[],
  seen: () => number,
): Promise<void> {
  const expected = QUIET_TENANTS * QUIET_ENDPOINTS_PER_TENANT;
  const deadline = Date.now() + 60_000;
  while (seen() < expected && Date.now() < deadline) {
    await publish(ctx.producer, ctx.topic, quietEvents(quiet, 'q.warm', QUIET_TENANTS));
    await until(() => seen() >= expected, 3_000);
  }
  if (seen() < expected) throw new Error(`noisy neighbour warm-up: only ${seen()} of ${expected} answered`);
}

function quietEvents(quiet: Tenant[], type: string, count: number, firstSeq = 0): Map<Tenant, Message[]> {
  const byTenant = new Map<Tenant, Message[]>(quiet.map((t) => [t, []]));
  for (let seq = firstSeq; seq < firstSeq + count; seq++) {
    const tenant = quiet[seq % quiet.length];
    byTenant
      .get(tenant)!
      .push(cloudEvent({ tenantId: tenant.id, type, seq, targetBytes: CONFIG.valueBytes }));
  }
  return byTenant;
}

/** Quiet throughput: every event published at once; deliveries / (last arrival - first publish). */
export async function quietBurst(
  ctx: NoisyNeighbourContext,
  quiet: Tenant[],
  sink: QuietSink,
): Promise<Pick<QuietRun, 'perSec' | 'missing' | 'burstLatencyMs'>> {
  const start = Date.now();
  await publish(ctx.producer, ctx.topic, quietEvents(quiet, sink.type, CONFIG.noisyQuietEvents));
  const complete = await settle(sink);
  const elapsed = (complete ? sink.lastAt : Date.now()) - start;
  const latencies = sink.latencies;
  const latency = (p: number) => round(percentile(latencies, p), 0);
  return {
    perSec: (sink.ids.size / elapsed) * 1000,
    missing: sink.expected - sink.ids.size,
    burstLatencyMs: { p50: latency(50), p90: latency(90), max: latency(100) },
  };
}

/** Quiet latency: events at a fixed rate, publish time (data.sentAt) to arrival at the receiver. */
export async function quietPaced(
  ctx: NoisyNeighbourContext,
  quiet: Tenant[],
  sink: QuietSink,
): Promise<Omit<QuietRun, 'perSec' | 'burstLatencyMs'>> {
  const total = CONFIG.noisyQuietRate * CONFIG.noisyQuietSeconds;
  const sends: Array<Promise<unknown>> = [];
  const start = Date.now();
  await paced(
    CONFIG.noisyQuietRate,
    (sent) => sent >= total,
    (count, firstSeq) => {
      const events = quietEvents(quiet, sink.type, Math.min(count, total - firstSeq), firstSeq);
      sends.push(publish(ctx.producer, ctx.topic, events));
    },
  );
  await Promise.all(sends);
  await settle(sink);
  const missing = sink.expected - sink.ids.size;
  const latencies = [...sink.latencies, ...Array.from({ length: missing }, () => Date.now() - start)];
  return { p50Ms: round(percentile(latencies, 50), 1), p99Ms: round(percentile(latencies, 99), 1), missing };
}

/** Waits until every expected delivery arrived, or none has for QUIET_STALL_MS; says which. */
async function settle(sink: QuietSink): Promise<boolean> {
  const deadline = Date.now() + CONFIG.drainTimeoutMs;
  let seen = sink.ids.size;
  let movedAt = Date.now();
  while (!sink.complete) {
    const now = Date.now();
    if (sink.ids.size !== seen) {
      seen = sink.ids.size;
      movedAt = now;
    }
    if (now - movedAt > QUIET_STALL_MS || now > deadline) {
      log(`noisy neighbour: ${sink.type} gave up at ${sink.ids.size} of ${sink.expected} quiet deliveries`);
      return false;
    }
    await sleep(20);
  }
  return true;
}
