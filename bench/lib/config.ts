/**
 * The bench's settings, shared by `npm run bench` (bench.ts) and `npm run bench:replicas`
 * (replicas.ts) so both measure the same phases. BENCH_QUICK=1 selects the tiny smoke variant;
 * each BENCH_* variable overrides one figure.
 */
import { benchKafka } from './kafka';

export const QUICK = process.env.BENCH_QUICK === '1';
export const num = (name: string, full: number, quick: number): number =>
  process.env[name] ? Number(process.env[name]) : QUICK ? quick : full;

export const CONFIG = {
  tenants: 4,
  endpointsPerTenant: 5,
  endpointMaxConcurrency: num('BENCH_ENDPOINT_CONCURRENCY', 1, 1),
  deliveryPartitions: 12,
  /** Seconds of traffic that warm the broker's JVM before the first phase (bench/lib/broker-warmup.ts). */
  brokerWarmUpSeconds: num('BENCH_BROKER_WARMUP_S', 60, 2),
  httpCeilingSeconds: num('BENCH_HTTP_SECONDS', 10, 2),
  kafkaCeilingMessages: num('BENCH_KAFKA_MESSAGES', 200_000, 5_000),
  e2eEvents: num('BENCH_E2E_EVENTS', 40_000, 400),
  e2eFanout5Events: num('BENCH_FANOUT5_EVENTS', 10_000, 100),
  latencyRates: QUICK ? [200] : [200, 1000, 5000],
  latencySeconds: num('BENCH_LATENCY_SECONDS', 10, 2),
  isolationEvents: num('BENCH_ISOLATION_EVENTS', 5_000, 100),
  /** Alone / with-bad pairs, alternated: back-to-back ~10 s runs on this machine differ by ±8 %. */
  isolationRounds: num('BENCH_ISOLATION_ROUNDS', 3, 1),
  /** Noisy neighbour: quiet events per throughput run, spread over the quiet tenants (3 endpoints each). */
  noisyQuietEvents: num('BENCH_NN_EVENTS', 5_000, 150),
  /** Noisy neighbour: the quiet tenants' fixed publish rate (events/s) and length of the latency run. */
  noisyQuietRate: num('BENCH_NN_RATE', 300, 100),
  noisyQuietSeconds: num('BENCH_NN_SECONDS', 5, 1),
  /** Noisy neighbour: the noisy tenant's events produced to Kafka (events/s, each to its 4 endpoints). */
  noisyKafkaRate: num('BENCH_NN_NOISE_RATE', 50, 50),
  /** Noisy neighbour: the noisy tenant's POST /v1/events flood (requests/s), 4x its ingest rate. */
  noisyFloodRate: num('BENCH_NN_FLOOD_RATE', 400, 400),
  /** Noisy neighbour: how long the noise runs alone before each with-noise run (its own CPU is measured). */
  noisyNoiseOnlySeconds: num('BENCH_NN_NOISE_ONLY_SECONDS', 5, 1),
  /** Noisy neighbour: alone / with-noise pairs, alternated like the isolation rounds. */
  noisyRounds: num('BENCH_NN_ROUNDS', 3, 1),
  valueBytes: 400,
  drainTimeoutMs: num('BENCH_DRAIN_TIMEOUT_MS', 180_000, 30_000),
};
export const ENDPOINTS = CONFIG.tenants * CONFIG.endpointsPerTenant;
/** The HTTP concurrency the service reaches in the e2e runs: one lane per endpoint x its maxConcurrency. */
export const SERVICE_CONCURRENCY = ENDPOINTS * CONFIG.endpointMaxConcurrency;

export const kafka = benchKafka();
