/**
 * The isolation phase of `npm run bench` (bench/bench.ts): 10 healthy endpoints' throughput alone
 * vs. beside one that hangs and one that answers 500, alternated BENCH_ISOLATION_ROUNDS times.
 */
import type { Producer } from 'kafkajs';
import type { BenchRunContext } from './bench-runs';
import { CONFIG } from './config';
import { cloudEvent } from './kafka';
import { log, publish, untilProgressing, type Tenant } from './phases';
import type { Receiver } from './receiver';
import { round } from './stats';

export interface IsolationResult {
  ratio: number | null;
  healthyAlonePerSec?: number;
  healthyWithBadPerSec?: number;
  ratioByRound?: number[];
  healthyEndpoints: number;
  events: number;
  rounds: number;
  hangRequests?: number;
  status500Requests?: number;
}

/** What the result holds when the phase failed. */
export function isolationNotMeasured(): IsolationResult {
  return {
    ratio: null,
    healthyEndpoints: 10,
    events: CONFIG.isolationEvents,
    rounds: CONFIG.isolationRounds,
  };
}

/** The phase on the bench's service, over the first of its tenants. */
export async function isolationPhase(ctx: BenchRunContext): Promise<IsolationResult> {
  const { producer, inputTopic, receiver, measured } = ctx;
  const isolationTenant = ctx.tenants[0];
  // Alternated rounds cancel the machine's drift; the CPU shares are the last round's.
  const alone: number[] = [];
  const withBad: number[] = [];
  let hangRequests = 0;
  let status500Requests = 0;
  for (let pass = 1; pass <= CONFIG.isolationRounds; pass++) {
    const healthyAlone = await measured('isolationAlone', () =>
      isolationRun(producer, inputTopic, isolationTenant, receiver, 'iso.good'),
    );
    alone.push(healthyAlone.perSec);
    log(`isolation round ${pass}, healthy alone: ${Math.round(healthyAlone.perSec)}/s`);
    const healthyWithBad = await measured('isolationWithBad', () =>
      isolationRun(producer, inputTopic, isolationTenant, receiver, 'iso.bad'),
    );
    withBad.push(healthyWithBad.perSec);
    hangRequests += healthyWithBad.hangRequests;
    status500Requests += healthyWithBad.failRequests;
    log(`isolation round ${pass}, healthy beside hang + 500: ${Math.round(healthyWithBad.perSec)}/s`);
  }
  const mean = (values: number[]) => values.reduce((sum, value) => sum + value, 0) / values.length;
  return {
    ratio: round(mean(withBad) / mean(alone), 3),
    healthyAlonePerSec: round(mean(alone), 0),
    healthyWithBadPerSec: round(mean(withBad), 0),
    ratioByRound: alone.map((perSec, index) => round(withBad[index] / perSec, 3)),
    healthyEndpoints: 10,
    events: CONFIG.isolationEvents,
    rounds: CONFIG.isolationRounds,
    hangRequests,
    status500Requests,
  };
}

/** Healthy throughput over 10 endpoints; with `iso.bad` a hanging and a 500 endpoint also match. */
async function isolationRun(
  producer: Producer,
  topic: string,
  tenant: Tenant,
  receiver: Receiver,
  type: 'iso.good' | 'iso.bad',
): Promise<{ perSec: number; hangRequests: number; failRequests: number }> {
  const events = CONFIG.isolationEvents;
  const expected = events * 10;
  const ids = new Set<string>();
  let lastAt = 0;
  /** When each healthy endpoint got its last delivery: a late one says which lane held the run up. */
  const lastAtByPath = new Map<string, number>();
  let hangRequests = 0;
  let failRequests = 0;
  receiver.setHandler((d) => {
    if (d.path === '/iso/hang') {
      hangRequests++;
      return 'hang';
    }
    if (d.path === '/iso/500') {
      failRequests++;
      return 500;
    }
    if (!d.path.startsWith('/iso/ok/')) return undefined;
    const key = `${d.path}|${d.webhookId}`;
    if (!ids.has(key)) {
      ids.add(key);
      lastAt = d.receivedAtMs;
      lastAtByPath.set(d.path, d.receivedAtMs);
    }
    return undefined;
  });
  const messages = Array.from({ length: events }, (_, seq) =>
    cloudEvent({ tenantId: tenant.id, type, seq, targetBytes: CONFIG.valueBytes }),
  );
  const start = Date.now();
  await publish(producer, topic, new Map([[tenant, messages]]));
  await untilProgressing(
    () => ids.size >= expected,
    () => ids.size,
    `isolation ${type}: ${expected} healthy deliveries expected`,
  );
  const finishedS = [...lastAtByPath.values()]
    .map((at) => round((at - start) / 1000, 2))
    .sort((a, b) => a - b);
  log(`isolation ${type}: healthy endpoints finished after ${finishedS.join(', ')} s`);
  return { perSec: (expected / (lastAt - start)) * 1000, hangRequests, failRequests };
}
