/**
 * `npm run bench:isolation`: the isolation phase of bench.ts alone (10 healthy endpoints
 * alone vs. beside one that hangs and one that answers 500, BENCH_ISOLATION_ROUNDS alternated
 * rounds) on a service set up as bench.ts sets up its own (the noisy-neighbour limits, BENCH_WORKERS
 * workers, `auto` by default). BENCH_ISOLATION_E2E_EVENTS runs that many e2e events first, as the
 * full bench does before this phase; BENCH_E2E_DIST runs another build (an older commit's `dist`).
 * Prints each run's rate, the service's CPU share and what its counters say it did meanwhile
 * (outcomes, held deliveries, pauses), then the phase's result as one JSON line; writes nothing.
 */
import { Api } from './lib/api';
import type { BenchRunContext } from './lib/bench-runs';
import { num } from './lib/config';
import { CpuMeter } from './lib/cpu';
import { isolationPhase } from './lib/isolation';
import { NOISY_NEIGHBOUR_LIMITS } from './lib/noisy-neighbour';
import { createTenants, e2eRun, killWatchedServices, log, warmUp, watchServices } from './lib/phases';
import { withPhaseService } from './lib/phase-service';
import { addDeltas, serviceCounters } from './lib/service-metrics';
import { round } from './lib/stats';

const WORKERS = process.env.BENCH_WORKERS ?? 'auto';
const E2E_FIRST = num('BENCH_ISOLATION_E2E_EVENTS', 0, 0);

async function main(): Promise<void> {
  const distDir = process.env.BENCH_E2E_DIST;
  await withPhaseService(
    {
      namespace: 'isolation',
      database: 'hs_bench_isolation',
      label: 'bench-isolation-service',
      env: { ...NOISY_NEIGHBOUR_LIMITS, HOOKSTREAM_WORKERS: WORKERS },
      ...(distDir ? { distDir } : {}),
    },
    async ({ receiver, inputTopic, service, producer, database }) => {
      watchServices([service]);
      const admin = new Api(service.url);
      const tenants = await createTenants(admin, receiver);
      await warmUp(producer, inputTopic, tenants, receiver);
      if (E2E_FIRST > 0) {
        const perSec = await e2eRun(producer, inputTopic, tenants, receiver, 'f1', E2E_FIRST);
        log(`e2e first: ${round(perSec, 0)} deliveries/s`);
      }
      let runs = 0;
      const ctx: BenchRunContext = {
        namespace: inputTopic,
        databaseUrl: database.url,
        service,
        admin,
        producer,
        inputTopic,
        tenants,
        receiver,
        measured: async (phase, work) => {
          const before = await serviceCounters(service.url);
          const meter = CpuMeter.start(() => [service.pid]);
          try {
            return await work();
          } finally {
            const cpu = meter?.stop() ?? null;
            const did: Record<string, number> = {};
            addDeltas(did, before, await serviceCounters(service.url));
            log(
              `run ${++runs} ${phase}: service ${cpu ? round(cpu.service, 0) : '?'} % of a core; ` +
                JSON.stringify(did),
            );
          }
        },
      };
      console.log(
        JSON.stringify({ dist: distDir ?? 'dist', workers: WORKERS, ...(await isolationPhase(ctx)) }),
      );
    },
  );
}

main().catch((error: unknown) => {
  console.error(error);
  killWatchedServices();
  process.exit(1);
});
