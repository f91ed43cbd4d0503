/**
 * The event catalogue's bench phase alone (bench/lib/catalogue.ts), on a service set up as
 * `npm run bench` sets it up: its figures without the hour of the full run. Prints the phase's
 * result as JSON; writes nothing under bench/results.
 *
 *   tsc -p bench/tsconfig.json && node dist-bench/catalogue.js      (BENCH_QUICK=1 for a smoke run)
 */
import { Api } from './lib/api';
import { cataloguePhase } from './lib/catalogue';
import { QUICK } from './lib/config';
import { NOISY_NEIGHBOUR_LIMITS } from './lib/noisy-neighbour';
import { createTenants, log, warmUp, watchServices } from './lib/phases';
import { withPhaseService } from './lib/phase-service';

async function main(): Promise<void> {
  await withPhaseService(
    {
      namespace: QUICK ? 'cat-smoke' : 'cat',
      database: 'hs_bench_cat',
      label: 'bench-catalogue',
      env: NOISY_NEIGHBOUR_LIMITS,
    },
    async ({ receiver, inputTopic, service, producer }) => {
      watchServices([service]);
      const admin = new Api(service.url);
      const tenants = await createTenants(admin, receiver);
      await warmUp(producer, inputTopic, tenants, receiver);
      const result = await cataloguePhase({
        admin,
        serviceUrl: service.url,
        producer,
        topic: inputTopic,
        tenants,
        receiver,
      });
      console.log(JSON.stringify({ catalogue: result, peakRssMb: service.peakRssMb() }, null, 2));
      log('done');
    },
  );
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
