/**
 * The event catalogue's cost on the hot path (issue 17 item 5): the same work with the types'
 * schemas validating (`validation: reject`) and not (`off`, which skips validation as if the type
 * had no schema), alternated over BENCH_CATALOGUE_ROUNDS rounds so drift hits both alike.
 *
 *   validateMicros   one compiled validation of a bench event's data, in this process (µs)
 *   fanout           e2e deliveries/s of the fan-out 1 run (BENCH_CATALOGUE_EVENTS events produced
 *                    to Kafka, every f1.e* type catalogued): the fan-out validates each event
 *   ingest           POST /v1/events at a fixed rate (BENCH_CATALOGUE_INGEST_RATE/s over the tenants
 *                    for BENCH_CATALOGUE_INGEST_SECONDS): p50/p99 of the answer; the type matches no
 *                    endpoint, so only ingest and the fan-out run
 */
import type { Producer } from 'kafkajs';
import { Pool } from 'undici';
import { join } from 'node:path';
import type { Api } from './api';
import { CONFIG, num, QUICK } from './config';
import { cloudEvent } from './kafka';
import { e2eRun, log, type Tenant } from './phases';
import type { Receiver } from './receiver';
import { ROOT, sleep } from './service';
import { percentile, round } from './stats';

export const CATALOGUE_CONFIG = {
  rounds: num('BENCH_CATALOGUE_ROUNDS', 2, 1),
  events: num('BENCH_CATALOGUE_EVENTS', 10_000, 200),
  ingestRate: num('BENCH_CATALOGUE_INGEST_RATE', 300, 100),
  ingestSeconds: num('BENCH_CATALOGUE_INGEST_SECONDS', 5, 1),
};

/** The shape of the bench's event data ({seq, sentAt, pad}, see cloudEvent), as a platform team would write it. */
const DATA_SCHEMA = {
  type: 'object',
  required: ['seq', 'sentAt', 'pad'],
  additionalProperties: false,
  properties: {
    seq: { type: 'integer', minimum: -1 },
    sentAt: { type: 'integer', minimum: 0 },
    pad: { type: 'string', maxLength: 4096 },
  },
};
const INGEST_TYPE = 'catalogue.ingest';

type Mode = 'off' | 'reject';

export interface CatalogueContext {
  admin: Api;
  serviceUrl: string;
  producer: Producer;
  topic: string;
  tenants: Tenant[];
  receiver: Receiver;
}

interface IngestFigures {
  p50Ms: number;
  p99Ms: number;
  answered: number;
  refused: number;
}

export async function cataloguePhase(ctx: CatalogueContext) {
  const validateMicros = validationCost();
  log(`catalogue: one validation ${validateMicros} µs`);
  const types = [...Array.from({ length: CONFIG.endpointsPerTenant }, (_, j) => `f1.e${j}`), INGEST_TYPE];
  const fanout: Record<Mode, number[]> = { off: [], reject: [] };
  const ingest: Record<Mode, IngestFigures[]> = { off: [], reject: [] };
  try {
    for (let round = 0; round < CATALOGUE_CONFIG.rounds; round++) {
      // Alternated, and the first mode swapped each round, so neither always runs on a warmer service.
      const order: Mode[] = round % 2 === 0 ? ['off', 'reject'] : ['reject', 'off'];
      for (const mode of order) {
        await setValidation(ctx.admin, types, mode);
        const perSec = await e2eRun(
          ctx.producer,
          ctx.topic,
          ctx.tenants,
          ctx.receiver,
          'f1',
          CATALOGUE_CONFIG.events,
        );
        fanout[mode].push(round2(perSec));
        const posted = await ingestRun(ctx.serviceUrl, ctx.tenants);
        ingest[mode].push(posted);
        log(
          `catalogue ${mode}: fan-out ${round2(perSec)} deliveries/s; POST p50 ${posted.p50Ms} ms p99 ${posted.p99Ms} ms (${posted.refused} refused)`,
        );
      }
    }
  } finally {
    await setValidation(ctx.admin, types, 'off');
  }
  const mean = (values: number[]) => values.reduce((sum, value) => sum + value, 0) / values.length;
  const fanoutOff = mean(fanout.off);
  const fanoutReject = mean(fanout.reject);
  const p99Off = mean(ingest.off.map((run) => run.p99Ms));
  const p99Reject = mean(ingest.reject.map((run) => run.p99Ms));
  return {
    validateMicros,
    fanoutDeliveriesPerSec: { off: round(fanoutOff, 0), reject: round(fanoutReject, 0), runs: fanout },
    fanoutRatio: round(fanoutReject / fanoutOff, 3),
    ingest: {
      ratePerSec: CATALOGUE_CONFIG.ingestRate,
      p50Ms: {
        off: round(mean(ingest.off.map((run) => run.p50Ms)), 2),
        reject: round(mean(ingest.reject.map((run) => run.p50Ms)), 2),
      },
      p99Ms: { off: round(p99Off, 2), reject: round(p99Reject, 2) },
      runs: ingest,
    },
    ingestP99Ratio: round(p99Reject / p99Off, 3),
    setup: {
      quick: QUICK,
      rounds: CATALOGUE_CONFIG.rounds,
      eventsPerFanoutRun: CATALOGUE_CONFIG.events,
      ingestSecondsPerRun: CATALOGUE_CONFIG.ingestSeconds,
      schema: 'object with 3 typed properties, 3 required, additionalProperties false (draft 2020-12)',
      note: "off = the same types catalogued without validating (as a type with no schema: one map lookup); reject = each event's data validated",
    },
  };
}

export type CatalogueResult = Awaited<ReturnType<typeof cataloguePhase>>;

const round2 = (value: number) => round(value, 0);

async function setValidation(admin: Api, types: string[], mode: Mode): Promise<void> {
  for (const type of types) {
    await admin.ok('PUT', `/v1/event-types/${type}`, { schema: DATA_SCHEMA, validation: mode });
  }
  // The replica making the change applies it at once; the bench runs one service.
  await sleep(200);
}

type Compile = (
  schema: unknown,
) => { ok: true; validate: (data: unknown) => unknown } | { ok: false; message: string };

/** Microseconds per validation of a bench event's data, by the built service's own compiler. */
function validationCost(): number {
  // The bench compiles apart from src/ (its rootDir); the service's build is there by now.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { compileEventSchema } = require(join(ROOT, 'dist', 'domain', 'event-schema.js')) as {
    compileEventSchema: Compile;
  };
  const compiled = compileEventSchema(DATA_SCHEMA);
  if (!compiled.ok) throw new Error(compiled.message);
  const data = (
    JSON.parse(String(cloudEvent({ tenantId: 't', type: 'f1.e0', seq: 1 }).value)) as { data: unknown }
  ).data;
  const iterations = 200_000;
  for (let i = 0; i < 10_000; i++) compiled.validate(data);
  const started = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) {
    if (compiled.validate(data) !== null) throw new Error('bench data fails its own schema');
  }
  return round(Number(process.hrtime.bigint() - started) / 1000 / iterations, 3);
}

/** POSTs at a fixed rate (10 ms ticks) over every tenant, each under its ingest rate. */
async function ingestRun(serviceUrl: string, tenants: Tenant[]): Promise<IngestFigures> {
  const pool = new Pool(serviceUrl, { connections: 32 });
  const latencies: number[] = [];
  let refused = 0;
  const pending: Array<Promise<void>> = [];
  const perTick = CATALOGUE_CONFIG.ingestRate / 100;
  const ticks = CATALOGUE_CONFIG.ingestSeconds * 100;
  const started = Date.now();
  let sent = 0;
  try {
    for (let tick = 0; tick < ticks; tick++) {
      const due = Math.floor((tick + 1) * perTick);
      for (; sent < due; sent++) {
        const tenant = tenants[sent % tenants.length];
        pending.push(
          post(pool, tenant, sent).then((ms) => (ms === null ? void refused++ : void latencies.push(ms))),
        );
      }
      const wait = started + (tick + 1) * 10 - Date.now();
      if (wait > 0) await sleep(wait);
    }
    await Promise.all(pending);
  } finally {
    await pool.close();
  }
  return {
    p50Ms: round(percentile(latencies, 50), 2),
    p99Ms: round(percentile(latencies, 99), 2),
    answered: latencies.length,
    refused,
  };
}

async function post(pool: Pool, tenant: Tenant, seq: number): Promise<number | null> {
  const body = JSON.stringify({ type: INGEST_TYPE, data: { seq, sentAt: Date.now(), pad: 'x'.repeat(300) } });
  const started = performance.now();
  const response = await pool.request({
    path: '/v1/events',
    method: 'POST',
    headers: { authorization: `Bearer ${tenant.api.token}`, 'content-type': 'application/json' },
    body,
  });
  await response.body.text();
  return response.statusCode === 202 ? performance.now() - started : null;
}
