/**
 * `npm run bench:e2e`: the e2e phase of bench.ts alone (produce -> 2xx at the receiver, fan-out 1),
 * BENCH_E2E_ROUNDS times (3; 1 with BENCH_QUICK=1) on one service, each of BENCH_E2E_EVENTS events;
 * BENCH_E2E_WORKERS sets the service's HOOKSTREAM_WORKERS (1 by default).
 * For before/after comparisons of one change on the hot path (README Section B, the cost of the
 * delivery task MAC): run it on both builds under `flock -x /tmp/hookstream-run.lock`, alternating;
 * BENCH_E2E_DIST runs another build of the service (an older commit's `dist`) instead of ./dist;
 * BENCH_NODE_ARGS adds node flags to the service's (bench/lib/phase-service.ts).
 * Prints one JSON line with each round's deliveries/s, the service's CPU share and the CPU per
 * delivery (service, and service + broker), and their means; writes nothing.
 */
import { Api } from './lib/api';
import { CONFIG, num, QUICK } from './lib/config';
import { CpuMeter, cpuPerDeliveryUs } from './lib/cpu';
import { summariseNewestProfile } from './lib/profile';
import { createTenants, e2eRun, killWatchedServices, log, warmUp, watchServices } from './lib/phases';
import { round } from './lib/stats';
import { withPhaseService } from './lib/phase-service';

const ROUNDS = num('BENCH_E2E_ROUNDS', 3, 1);
/** HOOKSTREAM_WORKERS of the service: `1` as the other phases, `auto` one per core. */
const WORKERS = process.env.BENCH_E2E_WORKERS ?? '1';

interface Round {
  deliveriesPerSec: number;
  serviceCpu: number | null;
  cpuPerDeliveryUs: { service: number; serviceAndBroker: number } | null;
}

async function main(): Promise<void> {
  const distDir = process.env.BENCH_E2E_DIST;
  // As in bench.ts: a V8 CPU profile of the service, summarised once it has stopped.
  const profileDir = process.env.BENCH_PROFILE_DIR;
  // The same service settings as bench.ts's e2e phase.
  await withPhaseService(
    {
      namespace: QUICK ? 'e2e-smoke' : 'e2e',
      database: 'hs_bench_e2e',
      label: 'bench-e2e-service',
      env: { HOOKSTREAM_WORKERS: WORKERS },
      ...(distDir ? { distDir } : {}),
      ...(profileDir ? { nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] } : {}),
    },
    async ({ receiver, inputTopic, service, producer }) => {
      watchServices([service]);
      const tenants = await createTenants(new Api(service.url), receiver);
      await warmUp(producer, inputTopic, tenants, receiver);
      const rounds: Round[] = [];
      for (let index = 0; index < ROUNDS; index++) {
        const servicePid = service.pid;
        const meter = CpuMeter.start(() => [servicePid]);
        const deliveriesPerSec = await e2eRun(
          producer,
          inputTopic,
          tenants,
          receiver,
          'f1',
          CONFIG.e2eEvents,
        );
        const cpu = meter?.stop() ?? null;
        const perDelivery = cpuPerDeliveryUs(cpu, CONFIG.e2eEvents);
        rounds.push({
          deliveriesPerSec: round(deliveriesPerSec, 0),
          serviceCpu: cpu ? round(cpu.service, 3) : null,
          cpuPerDeliveryUs: perDelivery,
        });
        log(
          `e2e round ${index + 1}: ${round(deliveriesPerSec, 0)} deliveries/s, ` +
            `${perDelivery?.service ?? '?'} µs service CPU per delivery (${perDelivery?.serviceAndBroker ?? '?'} with the broker)`,
        );
      }
      const mean = (pick: (r: Round) => number | undefined): number | null => {
        const values = rounds.map(pick).filter((v): v is number => v !== undefined);
        return values.length === 0 ? null : round(values.reduce((a, b) => a + b, 0) / values.length, 0);
      };
      console.log(
        JSON.stringify({
          dist: distDir ?? 'dist',
          workers: WORKERS,
          events: CONFIG.e2eEvents,
          rounds,
          meanCpuPerDeliveryUs: {
            service: mean((r) => r.cpuPerDeliveryUs?.service),
            serviceAndBroker: mean((r) => r.cpuPerDeliveryUs?.serviceAndBroker),
          },
        }),
      );
    },
  );
  if (profileDir) console.error(JSON.stringify(summariseNewestProfile(profileDir), null, 1));
}

main().catch((error: unknown) => {
  console.error(error);
  killWatchedServices();
  process.exit(1);
});
