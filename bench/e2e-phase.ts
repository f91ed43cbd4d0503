/**
 * `npm run bench:e2e`: the e2e phase of bench.ts alone (produce -> 2xx at the receiver, fan-out 1),
 * BENCH_E2E_ROUNDS times (3; 1 with BENCH_QUICK=1) on one service, each of BENCH_E2E_EVENTS events;
 * BENCH_E2E_WORKERS sets the service's HOOKSTREAM_WORKERS (1 by default).
 * For before/after comparisons of one change on the hot path (README Section B, the cost of the
 * delivery task MAC): run it on both builds under `flock -x /tmp/hookstream-run.lock`, alternating.
 * Prints one JSON line with each round's deliveries/s and the service's CPU share; writes nothing.
 */
import { Api } from './lib/api';
import { CONFIG, num, QUICK } from './lib/config';
import { CpuMeter } from './lib/cpu';
import { createTenants, e2eRun, killWatchedServices, log, warmUp, watchServices } from './lib/phases';
import { round } from './lib/stats';
import { withPhaseService } from './lib/phase-service';

const ROUNDS = num('BENCH_E2E_ROUNDS', 3, 1);
/** HOOKSTREAM_WORKERS of the service: `1` as the other phases, `auto` one per core. */
const WORKERS = process.env.BENCH_E2E_WORKERS ?? '1';

async function main(): Promise<void> {
  // The same service settings as bench.ts's e2e phase.
  await withPhaseService(
    {
      namespace: QUICK ? 'e2e-smoke' : 'e2e',
      database: 'hs_bench_e2e',
      label: 'bench-e2e-service',
      env: { HOOKSTREAM_WORKERS: WORKERS },
    },
    async ({ receiver, inputTopic, service, producer }) => {
      watchServices([service]);
      const tenants = await createTenants(new Api(service.url), receiver);
      await warmUp(producer, inputTopic, tenants, receiver);
      const rounds: Array<{ deliveriesPerSec: number; serviceCpu: number | null }> = [];
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
        rounds.push({
          deliveriesPerSec: round(deliveriesPerSec, 0),
          serviceCpu: cpu ? round(cpu.service, 3) : null,
        });
        log(`e2e round ${index + 1}: ${round(deliveriesPerSec, 0)} deliveries/s`);
      }
      console.log(JSON.stringify({ events: CONFIG.e2eEvents, workers: WORKERS, rounds }));
    },
  );
}

main().catch((error: unknown) => {
  console.error(error);
  killWatchedServices();
  process.exit(1);
});
