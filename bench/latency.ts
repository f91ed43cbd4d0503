/**
 * `npm run bench:latency`: the latency phase of bench.ts alone (event-to-delivery p50/p99 at a fixed
 * publish rate, with where the time goes), BENCH_LATENCY_ROUNDS times (3; 1 with BENCH_QUICK=1) per
 * rate of BENCH_LATENCY_RATES (`1000`; comma-separated) on one service, so a change to the tail can
 * be measured in minutes instead of a full bench. BENCH_WORKERS sets the service's
 * HOOKSTREAM_WORKERS (`auto`, as the full bench); BENCH_LATENCY_DIST runs another build of the
 * service (an older commit's `dist`). Around each round it reads the service's garbage collections
 * and event-loop delay from `/metrics` (prom-client's default series, summed over the workers), so a
 * tail can be told from a pause, and each round gives p50 / p99 per second of publishing
 * (`bySecondP50P99Ms`), so a backlog that builds and drains can be told from a tail spread over the
 * round. BENCH_LATENCY_E2E_EVENTS (0) first sends that many events through as fast as the service
 * takes them, as the full bench's e2e phase does before its latency phase, so a tail seen only in
 * the full run can be looked for here. Prints one JSON line; writes nothing under bench/results.
 */
import { Api } from './lib/api';
import { QUICK } from './lib/config';
import { CpuMeter } from './lib/cpu';
import {
  createTenants,
  e2eRun,
  killWatchedServices,
  latencyRun,
  log,
  warmUp,
  watchServices,
} from './lib/phases';
import { withPhaseService } from './lib/phase-service';
import { sampleOf } from './lib/replicas';
import { round } from './lib/stats';

const ROUNDS = Number(process.env.BENCH_LATENCY_ROUNDS ?? (QUICK ? 1 : 3));
const RATES = (process.env.BENCH_LATENCY_RATES ?? '1000').split(',').map(Number);
const E2E_EVENTS = Number(process.env.BENCH_LATENCY_E2E_EVENTS ?? 0);

/** The sum of every series of metric `name`, whatever its labels (sampleOf reads one series). */
function totalOf(text: string, name: string): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith(`${name} `) || line.startsWith(`${name}{`))
      sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

/** Counters whose movement during a round explains a tail (summed over labels and workers). */
const WATCHED_COUNTERS = [
  'hookstream_partition_pauses_total',
  'hookstream_partition_handovers_forced_total',
  'hookstream_held_released_total',
  'hookstream_held_turned_away_total',
  'hookstream_deliveries_total',
];

async function scrape(url: string): Promise<string> {
  return (await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(10_000) })).text();
}

async function main(): Promise<void> {
  const distDir = process.env.BENCH_LATENCY_DIST;
  await withPhaseService(
    {
      namespace: QUICK ? 'latency-smoke' : 'latency',
      database: 'hs_bench_latency',
      label: 'bench-latency-service',
      env: { HOOKSTREAM_WORKERS: process.env.BENCH_WORKERS ?? 'auto' },
      ...(distDir ? { distDir } : {}),
    },
    async ({ receiver, inputTopic, service, producer }) => {
      watchServices([service]);
      const tenants = await createTenants(new Api(service.url), receiver);
      await warmUp(producer, inputTopic, tenants, receiver);
      if (E2E_EVENTS > 0) {
        const perSec = await e2eRun(producer, inputTopic, tenants, receiver, 'f1', E2E_EVENTS);
        log(`e2e before the rounds: ${E2E_EVENTS} events at ${perSec} deliveries/s`);
      }
      const rounds = [];
      for (const rate of RATES) {
        for (let index = 0; index < ROUNDS; index++) {
          const before = await scrape(service.url);
          const servicePid = service.pid;
          const meter = CpuMeter.start(() => [servicePid]);
          const result = await latencyRun(
            producer,
            inputTopic,
            tenants,
            receiver,
            rate,
            inputTopic.replace(/\.input$/, '.deliveries'),
          );
          const cpu = meter?.stop() ?? null;
          const after = await scrape(service.url);
          const moved = (series: string) => sampleOf(after, series) - sampleOf(before, series);
          const gc = (kind: string): { count: number; ms: number } => ({
            count: moved(`nodejs_gc_duration_seconds_count{kind="${kind}"}`),
            ms: round(moved(`nodejs_gc_duration_seconds_sum{kind="${kind}"}`) * 1000, 1),
          });
          const row = {
            ...result,
            gc: { minor: gc('minor'), major: gc('major'), incremental: gc('incremental') },
            // Reset by every scrape, so these cover the round (summed over the workers).
            eventLoopDelayMaxMs: round(sampleOf(after, 'nodejs_eventloop_lag_max_seconds') * 1000, 1),
            eventLoopDelayP99Ms: round(sampleOf(after, 'nodejs_eventloop_lag_p99_seconds') * 1000, 1),
            // Percent of one core over the round: the service, the broker and the rest of the machine.
            cpuPercent: cpu && {
              service: cpu.service,
              kafka: cpu.kafka,
              postgres: cpu.postgres,
              idle: cpu.idle,
            },
            // What the service did beside delivering: held or paused work shows as a tail.
            counters: Object.fromEntries(
              WATCHED_COUNTERS.map((name) => [name, totalOf(after, name) - totalOf(before, name)]),
            ),
            heapUsedMb: round(sampleOf(after, 'nodejs_heap_size_used_bytes') / 2 ** 20, 1),
            oldSpaceUsedMb: round(
              sampleOf(after, 'nodejs_heap_space_size_used_bytes{space="old"}') / 2 ** 20,
              1,
            ),
          };
          log(`latency ${rate}/s round ${index + 1}: ${JSON.stringify(row)}`);
          rounds.push(row);
        }
      }
      console.log(
        JSON.stringify({ dist: distDir ?? 'dist', workers: process.env.BENCH_WORKERS ?? 'auto', rounds }),
      );
    },
  );
}

main().catch((error: unknown) => {
  console.error(error);
  killWatchedServices();
  process.exit(1);
});
