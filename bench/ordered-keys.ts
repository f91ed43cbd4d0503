/**
 * The ordered-keys bench phase alone (bench/lib/ordered-keys.ts), on a service set up as
 * `npm run bench` sets it up. Prints the phase's result as JSON; writes nothing under bench/results.
 *
 *   npm run bench:ordered-keys      (BENCH_QUICK=1 for a smoke run)
 */
import { Api } from './lib/api';
import { QUICK } from './lib/config';
import { NOISY_NEIGHBOUR_LIMITS } from './lib/noisy-neighbour';
import { orderedKeysPhase } from './lib/ordered-keys';
import { CpuMeter } from './lib/cpu';
import { log, watchServices } from './lib/phases';
import { withPhaseService } from './lib/phase-service';

async function main(): Promise<void> {
  await withPhaseService(
    {
      namespace: QUICK ? 'okeys-smoke' : 'okeys',
      database: 'hs_bench_okeys',
      label: 'bench-ordered-keys',
      env: NOISY_NEIGHBOUR_LIMITS,
    },
    async ({ receiver, inputTopic, service, producer }) => {
      watchServices([service]);
      const meter = CpuMeter.start(() => [service.pid]);
      const result = await orderedKeysPhase({
        admin: new Api(service.url),
        producer,
        topic: inputTopic,
        receiver,
      });
      const cpu = meter?.stop() ?? null;
      console.log(JSON.stringify({ orderedKeys: result, cpuPercentOfOneCore: cpu }, null, 2));
      log('done');
    },
  );
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
