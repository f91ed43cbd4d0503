/**
 * What `npm run bench` (bench/bench.ts) makes of its result besides the JSON: the targets it checks,
 * the table and CPU shares it prints, and the service's CPU profile summarised into
 * bench/results/profile.json.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BACKFILL_EVENTS, type BackfillResult } from './backfill';
import { CONFIG, ENDPOINTS, SERVICE_CONCURRENCY } from './config';
import type { CpuShares } from './cpu';
import type { IngestResult } from './ingest';
import type { NoisyNeighbourResult } from './noisy-neighbour';
import type { OrderedKeysResult } from './ordered-keys';
import { log } from './phases';
import { summariseNewestProfile } from './profile';
import { ROOT } from './service';
import { round } from './stats';

export function targetCheck(
  http: number,
  kafkaCeiling: number,
  e2e: number,
  latency: Array<{ rate: number; p99Ms: number }>,
  isolationRatio: number | null,
  noisy: NoisyNeighbourResult | null,
  rss: number,
  orderedKeys: OrderedKeysResult | null,
): Record<string, { target: string; value: number; met: boolean }> {
  const lower = Math.min(http, kafkaCeiling);
  const p99At1000 = latency.find((l) => l.rate === 1000)?.p99Ms ?? NaN;
  return {
    e2eVsLowerCeiling: {
      target: '>= 0.5 x min(httpCeiling, kafkaConsumeCeiling)',
      value: round(e2e / lower, 3),
      met: e2e >= lower / 2,
    },
    p99At1000: { target: '< 50 ms', value: p99At1000, met: p99At1000 < 50 },
    isolationRatio: {
      target: '>= 0.9',
      value: isolationRatio ?? NaN,
      met: isolationRatio !== null && isolationRatio >= 0.9,
    },
    noisyNeighbourThroughput: {
      target: '>= 0.9 (quiet deliveries/s with noise / alone)',
      value: noisy?.throughputRatio ?? NaN,
      met: noisy !== null && noisy.throughputRatio >= noisy.target,
    },
    noisyNeighbourP99: {
      target: '>= 0.9 (quiet p99 alone / with noise)',
      value: noisy?.p99Ratio ?? NaN,
      met: noisy !== null && noisy.p99Ratio >= noisy.target,
    },
    peakRssMb: { target: '< 512 MB', value: rss, met: rss < 512 },
    orderedKeysRatio: {
      target: '>= 20 x one at a time, 0 order violations per key',
      value: orderedKeys?.ratio ?? NaN,
      met: orderedKeys !== null && orderedKeys.ratio >= 20 && orderedKeys.orderViolations === 0,
    },
  };
}

function ingestRows(label: string, ingest: IngestResult | null): Array<[string, string]> {
  if (ingest === null) return [[`${label} (POST /v1/events)`, 'FAILED (see errors)']];
  return ingest.results.map((mode): [string, string] => [
    `${label} ${mode.mode} (${mode.eventsPerRequest}/request, ${ingest.connections} in flight): events/s, p50 / p99, CPU/event`,
    `${fmt(mode.eventsPerSec)}, ${mode.p50Ms} / ${mode.p99Ms} ms, ${mode.serviceCpuMsPerEvent ?? 'n/a'} ms`,
  ]);
}

export function printTable(results: {
  httpCeilingPerSec: number;
  kafkaConsumeCeilingPerSec: number;
  e2eDeliveriesPerSec: number;
  workers: { setting: string; processes: number };
  e2eOneWorker: { deliveriesPerSec: number } | null;
  e2eCpuPerDeliveryUs: { service: number; serviceAndBroker: number } | null;
  e2eFanout5DeliveriesPerSec: number | null;
  latency: Array<{ rate: number; p50Ms: number; p99Ms: number }>;
  isolation: { ratio: number | null; healthyAlonePerSec?: number; healthyWithBadPerSec?: number };
  noisyNeighbour: NoisyNeighbourResult | null;
  backfill: BackfillResult | null;
  ingest: IngestResult | null;
  ingestEveryWorker: IngestResult | null;
  orderedKeys: OrderedKeysResult | null;
  peakRssMb: number;
  cpuPercentOfOneCore: Record<string, CpuShares | null>;
  targets: Record<string, { target: string; value: number; met: boolean }>;
}): void {
  const rows: Array<[string, string]> = [
    [`httpCeilingPerSec (undici, concurrency ${SERVICE_CONCURRENCY})`, fmt(results.httpCeilingPerSec)],
    ['kafkaConsumeCeilingPerSec (kafkajs, 400 B values)', fmt(results.kafkaConsumeCeilingPerSec)],
    [
      `e2eDeliveriesPerSec (fan-out 1, ${ENDPOINTS} endpoints, maxConcurrency ${CONFIG.endpointMaxConcurrency})`,
      `${fmt(results.e2eDeliveriesPerSec)} (${results.workers.processes} workers)`,
    ],
    [
      'e2eOneWorker.deliveriesPerSec (the same, HOOKSTREAM_WORKERS=1)',
      results.e2eOneWorker === null ? 'FAILED (see errors)' : fmt(results.e2eOneWorker.deliveriesPerSec),
    ],
    [
      'e2eCpuPerDeliveryUs (fan-out 1): service / service + broker',
      results.e2eCpuPerDeliveryUs
        ? `${results.e2eCpuPerDeliveryUs.service} / ${results.e2eCpuPerDeliveryUs.serviceAndBroker} µs`
        : 'n/a (no /proc)',
    ],
    [
      'e2eFanout5DeliveriesPerSec (fan-out 5)',
      results.e2eFanout5DeliveriesPerSec === null
        ? 'FAILED (see errors)'
        : fmt(results.e2eFanout5DeliveriesPerSec),
    ],
    ...results.latency.map((l): [string, string] => [
      `latency at ${fmt(l.rate)} events/s: p50 / p99`,
      `${l.p50Ms} / ${l.p99Ms} ms`,
    ]),
    [
      'isolation.ratio (healthy with bad / alone)',
      results.isolation.ratio === null
        ? 'FAILED (see errors)'
        : `${results.isolation.ratio} (${fmt(results.isolation.healthyWithBadPerSec ?? 0)} / ${fmt(results.isolation.healthyAlonePerSec ?? 0)} per s)`,
    ],
    ...noisyRows(results.noisyNeighbour),
    [
      `backfill (${fmt(BACKFILL_EVENTS)} events): job s (events/s), all delivered s, peak RSS`,
      results.backfill === null
        ? 'FAILED (see errors)'
        : `${results.backfill.jobSeconds} s (${fmt(results.backfill.jobEventsPerSec)}/s), ${results.backfill.allDeliveredSeconds} s, ${results.backfill.peakRssMb} MB`,
    ],
    ...ingestRows('ingest', results.ingest),
    ...ingestRows('ingest, every worker serving HTTP,', results.ingestEveryWorker),
    [
      'orderedKeys (1,000 keys vs one at a time, 20 ms receiver)',
      results.orderedKeys === null
        ? 'failed'
        : `${fmt(results.orderedKeys.keyedDeliveriesPerSec)}/s vs ${results.orderedKeys.serialDeliveriesPerSec}/s (${results.orderedKeys.ratio}x), ${results.orderedKeys.orderViolations} order violations`,
    ],
    ['peakRssMb (VmHWM of the largest service process)', `${results.peakRssMb} MB`],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  console.log('');
  console.log(`${'metric'.padEnd(width)}  value`);
  console.log(`${'-'.repeat(width)}  ${'-'.repeat(30)}`);
  for (const [key, value] of rows) console.log(`${key.padEnd(width)}  ${value}`);
  console.log('');
  console.log('CPU by phase, % of one core: service / kafka / postgres / bench / other / idle');
  for (const [phase, shares] of Object.entries(results.cpuPercentOfOneCore)) {
    const line = shares
      ? [shares.service, shares.kafka, shares.postgres, shares.bench, shares.other, shares.idle].join(' / ')
      : 'n/a (no /proc)';
    console.log(`  ${phase.padEnd(18)} ${line}`);
  }
  console.log('');
  for (const [name, t] of Object.entries(results.targets)) {
    console.log(
      `target ${name.padEnd(18)} ${t.target.padEnd(46)} ${String(t.value).padEnd(8)} ${t.met ? 'met' : 'MISSED'}`,
    );
  }
  console.log('');
}

function noisyRows(noisy: NoisyNeighbourResult | null): Array<[string, string]> {
  if (!noisy) return [['noisyNeighbour', 'FAILED (see errors)']];
  const { ingestFlood, inFlight } = noisy.noisy;
  return [
    [
      'noisyNeighbour.throughputRatio (quiet with noise / alone)',
      `${noisy.throughputRatio} (${fmt(noisy.quietWithNoisePerSec)} / ${fmt(noisy.quietAlonePerSec)} per s)`,
    ],
    [
      'noisyNeighbour.p99Ratio (quiet p99 alone / with noise)',
      `${noisy.p99Ratio} (${noisy.quietAloneP99Ms} / ${noisy.quietWithNoiseP99Ms} ms)`,
    ],
    [
      'noisyNeighbour: noisy tenant 429s / REST requests',
      `${fmt(ingestFlood.rejected429)} / ${fmt(ingestFlood.sent)} (${fmt(ingestFlood.accepted)} accepted)`,
    ],
    [
      'noisyNeighbour: noisy in flight, peak / mean of 512 slots',
      `${inFlight.peak} / ${inFlight.mean} (tenant cap ${inFlight.tenantCap})`,
    ],
  ];
}

/** The service's CPU profile (written when it exits), summarised into bench/results/profile.json. */
export function writeProfileSummary(dir: string): void {
  const summary = summariseNewestProfile(dir);
  if (!summary) {
    log(`no .cpuprofile in ${dir}`);
    return;
  }
  writeFileSync(join(ROOT, 'bench', 'results', 'profile.json'), `${JSON.stringify(summary, null, 2)}\n`);
  log(
    `service CPU profile: ${summary.sampledMs} ms sampled, ${summary.idlePercent}% idle; busy time by source:`,
  );
  for (const [source, percent] of Object.entries(summary.busyPercentBySource).slice(0, 15)) {
    console.log(`  ${String(percent).padStart(5)}%  ${source}`);
  }
  log('wrote bench/results/profile.json');
}

function fmt(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}
