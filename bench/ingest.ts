/**
 * What `POST /v1/events` costs, by how a request is keyed: no key (a new event every time), an
 * event `id` (deduplicated), an `Idempotency-Key` header. One `api`-only service (no consumers) on
 * a fresh database and topic namespace; `BENCH_INGEST_CONNECTIONS` requests at a time for
 * `BENCH_INGEST_SECONDS` per mode after a warm-up. `BENCH_INGEST_DIST` runs another build of the
 * service (an older commit's `dist/`) to compare with.
 *
 *   tsc -p bench/tsconfig.json && node dist-bench/ingest.js [modes...]
 */
import { randomUUID } from 'node:crypto';
import { Pool } from 'undici';
import { Api } from './lib/api';
import { createDatabase } from './lib/db';
import { benchKafka, deleteNamespaceTopics, uniqueNamespace } from './lib/kafka';
import { ensureServiceBuilt, startService, type Service } from './lib/service';
import { summariseNewestProfile } from './lib/profile';
import { percentile, round } from './lib/stats';

type Mode = 'no-key' | 'event-id' | 'header';
const MODES: Mode[] = ['no-key', 'event-id', 'header'];
const CONNECTIONS = Number(process.env.BENCH_INGEST_CONNECTIONS ?? 32);
const SECONDS = Number(process.env.BENCH_INGEST_SECONDS ?? 10);
const WARMUP_SECONDS = 2;
/** Runs the service with --cpu-prof into this directory and prints where its CPU went. */
const PROFILE_DIR = process.env.BENCH_PROFILE_DIR;

interface ModeResult {
  mode: Mode;
  requests: number;
  perSec: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
}

/** `CONNECTIONS` loops posting until `seconds` have passed; latencies of answered requests only. */
async function run(pool: Pool, apiKey: string, mode: Mode, seconds: number): Promise<ModeResult> {
  const latencies: number[] = [];
  let errors = 0;
  const endAt = performance.now() + seconds * 1000;
  const loop = async () => {
    while (performance.now() < endAt) {
      const id = randomUUID();
      const headers: Record<string, string> = {
        authorization: `Bearer ${apiKey}`,
        'content-type': 'application/json',
      };
      if (mode === 'header') headers['idempotency-key'] = id;
      const body = JSON.stringify({
        type: 'bench.ingest',
        data: { recordId: id, status: 'active', amount: 42 },
        ...(mode === 'event-id' ? { id } : {}),
      });
      const started = performance.now();
      const response = await pool.request({ path: '/v1/events', method: 'POST', headers, body });
      await response.body.text();
      if (response.statusCode === 202) latencies.push(performance.now() - started);
      else errors++;
    }
  };
  const startedAt = performance.now();
  await Promise.all(Array.from({ length: CONNECTIONS }, loop));
  const elapsedSec = (performance.now() - startedAt) / 1000;
  return {
    mode,
    requests: latencies.length,
    perSec: Math.round(latencies.length / elapsedSec),
    p50Ms: round(percentile(latencies, 50), 2),
    p99Ms: round(percentile(latencies, 99), 2),
    errors,
  };
}

async function main(): Promise<void> {
  const modes = process.argv.slice(2).filter((arg): arg is Mode => MODES.includes(arg as Mode));
  const distDir = process.env.BENCH_INGEST_DIST;
  if (!distDir) await ensureServiceBuilt();
  const namespace = uniqueNamespace('ingest');
  const database = await createDatabase('hs_bench_ingest');
  let service: Service | undefined;
  let pool: Pool | undefined;
  try {
    // LOG_LEVEL info: startService waits for the "hookstream ready" line.
    service = await startService(
      {
        DATABASE_URL: database.url,
        HOOKSTREAM_ROLES: 'api',
        HOOKSTREAM_TOPIC_NAMESPACE: namespace,
        HOOKSTREAM_INPUT_TOPICS: `${namespace}.input`,
        HOOKSTREAM_TENANT_INGEST_RATE: '10000000',
      },
      {
        label: 'ingest-bench',
        ...(distDir ? { distDir } : {}),
        ...(PROFILE_DIR ? { nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${PROFILE_DIR}`] } : {}),
      },
    );
    pool = new Pool(service.url, { connections: CONNECTIONS, pipelining: 1 });
    const { apiKey } = await new Api(service.url).ok<{ apiKey: string }>('POST', '/v1/tenants', {
      name: 'ingest-bench',
    });
    const results: ModeResult[] = [];
    for (const mode of modes.length ? modes : MODES) {
      await run(pool, apiKey, mode, WARMUP_SECONDS);
      const result = await run(pool, apiKey, mode, SECONDS);
      console.log(JSON.stringify(result));
      results.push(result);
    }
    console.log(
      JSON.stringify({ dist: distDir ?? 'dist', connections: CONNECTIONS, seconds: SECONDS, results }),
    );
  } finally {
    await pool?.close();
    await service?.stop();
    await deleteNamespaceTopics(benchKafka(), namespace, [`${namespace}.input`]);
    await database.drop();
  }
  if (PROFILE_DIR) console.log(JSON.stringify(summariseNewestProfile(PROFILE_DIR), null, 1));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
