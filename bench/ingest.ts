/**
 * Runs only the bench's HTTP ingest phase (bench/lib/ingest.ts), for measuring a change to the
 * ingest path by itself. `BENCH_INGEST_DIST` runs another build of the service (an older commit's
 * `dist/`) to compare with; `BENCH_INGEST_WORKERS` the service's HOOKSTREAM_WORKERS (1 by default),
 * `BENCH_INGEST_HTTP_WORKERS` its HOOKSTREAM_HTTP_WORKERS (`auto` by default), `BENCH_INGEST_DELIVER=1`
 * a whole service that also delivers what it accepts (ingest and delivery on the same workers);
 * `BENCH_PROFILE_DIR` runs it with --cpu-prof and prints where its CPU went; `BENCH_BROKER_WARMUP_S`
 * drives the broker that long first (bench/lib/broker-warmup.ts), as the full bench does.
 *
 *   tsc -p bench/tsconfig.json && node dist-bench/ingest.js [single|event-id|header|batch ...]
 */
import { warmBroker } from './lib/broker-warmup';
import { INGEST_MODES, ingestPhase, type IngestMode } from './lib/ingest';
import { uniqueNamespace } from './lib/kafka';
import { summariseNewestProfile } from './lib/profile';
import { ensureServiceBuilt } from './lib/service';

async function main(): Promise<void> {
  const modes = process.argv
    .slice(2)
    .filter((arg): arg is IngestMode => INGEST_MODES.includes(arg as IngestMode));
  const distDir = process.env.BENCH_INGEST_DIST;
  const profileDir = process.env.BENCH_PROFILE_DIR;
  if (!distDir) await ensureServiceBuilt();
  const warmUpSeconds = Number(process.env.BENCH_BROKER_WARMUP_S ?? 0);
  if (warmUpSeconds > 0)
    console.log(JSON.stringify(await warmBroker(uniqueNamespace('warm'), warmUpSeconds)));
  const result = await ingestPhase({
    ...(modes.length ? { modes } : {}),
    ...(distDir ? { distDir } : {}),
    ...(process.env.BENCH_INGEST_WORKERS ? { workers: process.env.BENCH_INGEST_WORKERS } : {}),
    ...(process.env.BENCH_INGEST_HTTP_WORKERS ? { httpWorkers: process.env.BENCH_INGEST_HTTP_WORKERS } : {}),
    ...(process.env.BENCH_INGEST_DELIVER === '1' ? { deliver: true } : {}),
    ...(profileDir ? { nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] } : {}),
  });
  for (const mode of result.results) console.log(JSON.stringify(mode));
  console.log(JSON.stringify({ dist: distDir ?? 'dist', ...result, results: undefined }));
  if (profileDir) console.log(JSON.stringify(summariseNewestProfile(profileDir), null, 1));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
