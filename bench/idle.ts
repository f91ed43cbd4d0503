/**
 * `npm run bench:idle`: what a service costs while nothing happens. It starts the service as the
 * bench does (HOOKSTREAM_WORKERS `auto` unless BENCH_WORKERS says otherwise; BENCH_IDLE_DIST runs
 * another build), creates the bench's tenants and endpoints, delivers a warm-up round so every
 * connection has had an answer, waits BENCH_IDLE_SETTLE_S (10), then meters the CPU for
 * BENCH_IDLE_SECONDS (30), BENCH_IDLE_ROUNDS times (2). Prints one JSON line: each round's share
 * of a core taken by the service, the broker, PostgreSQL and this process. BENCH_NODE_ARGS adds
 * node flags to the service's.
 */
import { Api } from './lib/api';
import { num } from './lib/config';
import { CpuMeter } from './lib/cpu';
import { createTenants, killWatchedServices, warmUp, watchServices } from './lib/phases';
import { withPhaseService } from './lib/phase-service';
import { sleep } from './lib/service';

const SETTLE_MS = num('BENCH_IDLE_SETTLE_S', 10, 10) * 1000;
const METERED_MS = num('BENCH_IDLE_SECONDS', 30, 30) * 1000;
const ROUNDS = num('BENCH_IDLE_ROUNDS', 2, 1);

async function main(): Promise<void> {
  const distDir = process.env.BENCH_IDLE_DIST;
  await withPhaseService(
    {
      namespace: 'idle',
      database: 'hs_bench_idle',
      label: 'bench-idle-service',
      env: { HOOKSTREAM_WORKERS: process.env.BENCH_WORKERS ?? 'auto' },
      ...(distDir ? { distDir } : {}),
    },
    async ({ receiver, inputTopic, service, producer }) => {
      watchServices([service]);
      const tenants = await createTenants(new Api(service.url), receiver);
      await warmUp(producer, inputTopic, tenants, receiver);
      await sleep(SETTLE_MS);
      const rounds = [];
      for (let index = 0; index < ROUNDS; index++) {
        const meter = CpuMeter.start(() => [service.pid]);
        await sleep(METERED_MS);
        const cpu = meter?.stop() ?? null;
        rounds.push(
          cpu && { service: cpu.service, kafka: cpu.kafka, postgres: cpu.postgres, bench: cpu.bench },
        );
      }
      console.log(JSON.stringify({ dist: distDir ?? 'dist', seconds: METERED_MS / 1000, rounds }));
    },
  );
}

main().catch((error: unknown) => {
  console.error(error);
  killWatchedServices();
  process.exit(1);
});
