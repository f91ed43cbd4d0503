/**
 * `npm run bench:backfill`: the backfill phase alone (bench/lib/backfill.ts) on a service of its own,
 * configured as `npm run bench` configures its service; writes bench/results/backfill-latest.json
 * (BENCH_QUICK=1: backfill-smoke.json). BENCH_BACKFILL_EVENTS sets the number of events.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Api } from './lib/api';
import { backfillPhase } from './lib/backfill';
import { num, QUICK } from './lib/config';
import { NOISY_NEIGHBOUR_LIMITS } from './lib/noisy-neighbour';
import { log } from './lib/phases';
import { ROOT } from './lib/service';
import { machineInfo, round } from './lib/stats';
import { withPhaseService } from './lib/phase-service';

async function main(): Promise<void> {
  const started = Date.now();
  await withPhaseService(
    {
      namespace: QUICK ? 'backfill-smoke' : 'backfill',
      database: 'hs_backfill',
      label: 'bench-backfill',
      env: NOISY_NEIGHBOUR_LIMITS,
    },
    async ({ receiver, inputTopic, service, producer }) => {
      const backfill = await backfillPhase({
        admin: new Api(service.url),
        servicePid: service.pid,
        producer,
        topic: inputTopic,
        receiver,
        drainTimeoutMs: num('BENCH_BACKFILL_TIMEOUT_S', 3_600, 120) * 1000,
      });
      const results = {
        backfill,
        serviceLifetimePeakRssMb: round(service.peakRssMb(), 1),
        machine: machineInfo(ROOT),
        durationS: round((Date.now() - started) / 1000, 0),
      };
      const outDir = join(ROOT, 'bench', 'results');
      mkdirSync(outDir, { recursive: true });
      const name = QUICK ? 'backfill-smoke' : 'backfill-latest';
      writeFileSync(join(outDir, `${name}.json`), `${JSON.stringify(results, null, 2)}\n`);
      console.log(JSON.stringify(results, null, 2));
      log(`wrote bench/results/${name}.json`);
    },
  );
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
