/**
 * `npm run bench:noisy`: the noisy-neighbour phase of `npm run bench` alone (bench/lib/
 * noisy-neighbour.ts), on the same service settings, so a change to isolation can be measured in
 * minutes instead of a full bench. Its BENCH_NN_* knobs size it; BENCH_PROFILE_DIR profiles the
 * service as in the bench; BENCH_NN_E2E=1 first runs the bench's e2e fan-out 1 phase on the same
 * service (its throughput must not drop for the sake of isolation); BENCH_WORKERS sets the
 * service's HOOKSTREAM_WORKERS (default `auto`, as the full bench), BENCH_HTTP_WORKERS its
 * HOOKSTREAM_HTTP_WORKERS (default `auto`); BENCH_NN_TRACE and BENCH_NN_TRACE_GC trace where
 * the quiet tenants' tail comes from (bench/lib/noisy-trace.ts); BENCH_NOISY_DIST runs another
 * build of the service (an older commit's `dist`). Prints the phase's result and the CPU shares of its runs as JSON and
 * writes nothing under bench/results (the committed figures come from the full bench).
 */
import { Api } from './lib/api';
import { CONFIG } from './lib/config';
import { CpuMeter, type CpuShares } from './lib/cpu';
import { NOISY_NEIGHBOUR_LIMITS, noisyNeighbourPhase } from './lib/noisy-neighbour';
import { createTenants, e2eRun, log, warmUp } from './lib/phases';
import { summariseNewestProfile } from './lib/profile';
import { withPhaseService } from './lib/phase-service';

async function main(): Promise<void> {
  const profileDir = process.env.BENCH_PROFILE_DIR;
  await withPhaseService(
    {
      namespace: 'noisy',
      database: 'hs_bench_noisy',
      label: 'noisy-service',
      // The full bench's service runs the default workers; so does this one unless told.
      env: {
        ...NOISY_NEIGHBOUR_LIMITS,
        HOOKSTREAM_WORKERS: process.env.BENCH_WORKERS ?? 'auto',
        HOOKSTREAM_HTTP_WORKERS: process.env.BENCH_HTTP_WORKERS ?? 'auto',
      },
      nodeArgs: profileDir
        ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`]
        : process.env.BENCH_NN_TRACE_GC === '1'
          ? ['--trace-gc']
          : [],
      // Another build of the service (an older commit's `dist`), to compare with.
      ...(process.env.BENCH_NOISY_DIST ? { distDir: process.env.BENCH_NOISY_DIST } : {}),
    },
    async ({ receiver, inputTopic, service, producer }) => {
      const cpu: Record<string, CpuShares | null> = {};
      const servicePid = service.pid;
      const admin = new Api(service.url);
      let e2eDeliveriesPerSec: number | null = null;
      if (process.env.BENCH_NN_E2E === '1') {
        const tenants = await createTenants(admin, receiver);
        await warmUp(producer, inputTopic, tenants, receiver);
        e2eDeliveriesPerSec = await e2eRun(producer, inputTopic, tenants, receiver, 'f1', CONFIG.e2eEvents);
        log(`e2e fan-out 1: ${Math.round(e2eDeliveriesPerSec)} deliveries/s`);
      }
      const result = await noisyNeighbourPhase({
        admin,
        serviceUrl: service.url,
        producer,
        topic: inputTopic,
        receiver,
        measured: async (phase, work) => {
          const meter = CpuMeter.start(() => [servicePid]);
          try {
            return await work();
          } finally {
            cpu[phase] = meter?.stop() ?? null;
          }
        },
      });
      console.log(
        JSON.stringify({ e2eDeliveriesPerSec, noisyNeighbour: result, cpuPercentOfOneCore: cpu }, null, 2),
      );
      log(
        `noisy neighbour: throughput ratio ${result.throughputRatio} (${result.quietWithNoisePerSec} / ${result.quietAlonePerSec} per s), p99 ratio ${result.p99Ratio} (${result.quietAloneP99Ms} / ${result.quietWithNoiseP99Ms} ms)`,
      );
    },
  );
  if (profileDir) {
    const summary = summariseNewestProfile(profileDir);
    console.log(JSON.stringify({ profile: summary }, null, 2));
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
