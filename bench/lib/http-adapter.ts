/**
 * What the HTTP adapter alone costs (issue 21 item 1): a minimal Nest app with the service's own
 * `POST /v1/events` DTO (bench/lib/http-adapter-app.ts), on Express and on Fastify, each with the
 * service's global pipes and bare, loaded by BENCH_ADAPTER_CONNECTIONS (64) undici connections for
 * BENCH_ADAPTER_SECONDS after a warm-up. Variants alternate within each of BENCH_ADAPTER_ROUNDS
 * rounds, each in a fresh child process, so a drift of the shared machine hits all of them alike.
 * BENCH_ADAPTER_PROFILE_DIR profiles each app (the figures are then not comparable with a plain run).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Pool } from 'undici';
import { num } from './config';
import { ensureServiceBuilt, ROOT, SERVICE_NODE_OPTIONS } from './service';
import { percentile, round } from './stats';

export type AdapterPlatform = 'express' | 'fastify';

export interface AdapterVariant {
  platform: AdapterPlatform;
  /** The service's DepthLimitPipe and BodyValidationPipe on the route, or none. */
  pipes: boolean;
}

export interface AdapterRun {
  requestsPerSec: number;
  p50Ms: number;
  p99Ms: number;
  /** The app process's user + system CPU per answered request, in µs. */
  cpuUsPerRequest: number;
  /** The app process's CPU over the run, in percent of one core. */
  cpuPercent: number;
  errors: number;
}

export interface AdapterVariantResult extends AdapterVariant {
  name: string;
  /** The round with the median requests/s (its own p50, p99 and CPU). */
  median: AdapterRun;
  /** The median of the rounds' CPU µs per request (steadier than any one round's throughput). */
  medianCpuUsPerRequest: number;
  rounds: AdapterRun[];
}

export interface HttpAdapterResult {
  connections: number;
  seconds: number;
  rounds: number;
  variants: AdapterVariantResult[];
  /** Fastify's saving against Express in CPU µs per request (medians), with pipes and bare. */
  fastifySavesCpuUsPerRequest: { pipes: number; bare: number };
  /** What the pipes add per request on each platform (medians). */
  pipesCostCpuUsPerRequest: { express: number; fastify: number };
}

const CONNECTIONS = num('BENCH_ADAPTER_CONNECTIONS', 64, 16);
const SECONDS = num('BENCH_ADAPTER_SECONDS', 10, 2);
const WARMUP_SECONDS = num('BENCH_ADAPTER_WARMUP_SECONDS', 2, 1);
const ROUNDS = num('BENCH_ADAPTER_ROUNDS', 3, 1);
const VARIANTS: AdapterVariant[] = [
  { platform: 'express', pipes: true },
  { platform: 'fastify', pipes: true },
  { platform: 'express', pipes: false },
  { platform: 'fastify', pipes: false },
];
/** Profiles each app (--cpu-prof) into this folder, as `<variant>-<round>.cpuprofile`. */
const PROFILE_DIR = process.env.BENCH_ADAPTER_PROFILE_DIR;
const CLOCK_TICKS_PER_SEC = 100;
/** The body `POST /v1/events` gets in the ingest bench (bench/lib/ingest.ts, mode `single`). */
const BODY = JSON.stringify({
  type: 'bench.ingest',
  data: { recordId: '5b0e8a4c-2f4e-4c71-9d53-2a4f3c1e9b7d', status: 'active', amount: 42 },
});

const nameOf = (variant: AdapterVariant): string => `${variant.platform}-${variant.pipes ? 'pipes' : 'bare'}`;

export async function httpAdapterPhase(): Promise<HttpAdapterResult> {
  await ensureServiceBuilt();
  const runs = new Map<string, AdapterRun[]>(VARIANTS.map((variant) => [nameOf(variant), []]));
  for (let index = 0; index < ROUNDS; index += 1) {
    for (const variant of VARIANTS) runs.get(nameOf(variant))!.push(await measureVariant(variant, index));
  }
  const variants = VARIANTS.map((variant): AdapterVariantResult => {
    const rounds = runs.get(nameOf(variant))!;
    const sorted = [...rounds].sort((a, b) => a.requestsPerSec - b.requestsPerSec);
    const cpus = rounds.map((run) => run.cpuUsPerRequest).sort((a, b) => a - b);
    return {
      name: nameOf(variant),
      ...variant,
      median: sorted[Math.floor(sorted.length / 2)],
      medianCpuUsPerRequest: cpus[Math.floor(cpus.length / 2)],
      rounds,
    };
  });
  const cpu = (name: string): number =>
    variants.find((variant) => variant.name === name)!.medianCpuUsPerRequest;
  return {
    connections: CONNECTIONS,
    seconds: SECONDS,
    rounds: ROUNDS,
    variants,
    fastifySavesCpuUsPerRequest: {
      pipes: round(cpu('express-pipes') - cpu('fastify-pipes'), 1),
      bare: round(cpu('express-bare') - cpu('fastify-bare'), 1),
    },
    pipesCostCpuUsPerRequest: {
      express: round(cpu('express-pipes') - cpu('express-bare'), 1),
      fastify: round(cpu('fastify-pipes') - cpu('fastify-bare'), 1),
    },
  };
}

async function measureVariant(variant: AdapterVariant, index: number): Promise<AdapterRun> {
  const app = await startApp(variant, index);
  const pool = new Pool(`http://127.0.0.1:${app.port}`, { connections: CONNECTIONS, pipelining: 1 });
  try {
    await load(pool, WARMUP_SECONDS, app.pid);
    return await load(pool, SECONDS, app.pid);
  } finally {
    await pool.close();
    await stopApp(app.child);
  }
}

async function load(pool: Pool, seconds: number, pid: number): Promise<AdapterRun> {
  const latencies: number[] = [];
  let errors = 0;
  const endAt = performance.now() + seconds * 1000;
  const loop = async (): Promise<void> => {
    while (performance.now() < endAt) {
      const started = performance.now();
      const response = await pool.request({
        path: '/v1/events',
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: BODY,
      });
      await response.body.text();
      if (response.statusCode === 202) latencies.push(performance.now() - started);
      else errors += 1;
    }
  };
  const cpuBefore = cpuTicks(pid);
  const startedAt = performance.now();
  await Promise.all(Array.from({ length: CONNECTIONS }, loop));
  const elapsedSec = (performance.now() - startedAt) / 1000;
  const cpuSec = (cpuTicks(pid) - cpuBefore) / CLOCK_TICKS_PER_SEC;
  if (latencies.length === 0) throw new Error(`no request answered 202 (${errors} errors)`);
  return {
    requestsPerSec: Math.round(latencies.length / elapsedSec),
    p50Ms: round(percentile(latencies, 50), 2),
    p99Ms: round(percentile(latencies, 99), 2),
    cpuUsPerRequest: round((cpuSec * 1e6) / latencies.length, 1),
    cpuPercent: Math.round((100 * cpuSec) / elapsedSec),
    errors,
  };
}

/** utime + stime of one process, in clock ticks (fields 14 and 15 of /proc/<pid>/stat). */
function cpuTicks(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(')').pop()!.trim().split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

interface App {
  child: ChildProcess;
  pid: number;
  port: number;
}

async function startApp(variant: AdapterVariant, index: number): Promise<App> {
  // With the service's Node flags: its young generation size changes what GC costs per request.
  const app = join(ROOT, 'dist-bench', 'lib', 'http-adapter-app.js');
  const profile = PROFILE_DIR
    ? [
        '--cpu-prof',
        `--cpu-prof-dir=${PROFILE_DIR}`,
        `--cpu-prof-name=${nameOf(variant)}-${index}.cpuprofile`,
      ]
    : [];
  const child = spawn(process.execPath, [...SERVICE_NODE_OPTIONS, ...profile, app], {
    env: {
      PATH: process.env.PATH ?? '',
      NODE_ENV: 'production',
      ADAPTER_PLATFORM: variant.platform,
      ADAPTER_PIPES: variant.pipes ? '1' : '0',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${nameOf(variant)} did not listen within 60 s: ${stderr}`));
    }, 60_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${nameOf(variant)} exited (${code}) before it listened: ${stderr}`));
    });
    createInterface({ input: child.stdout }).once('line', (line) => {
      clearTimeout(timer);
      resolve((JSON.parse(line) as { port: number }).port);
    });
  });
  return { child, pid: child.pid!, port };
}

async function stopApp(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}
