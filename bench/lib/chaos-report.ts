/**
 * The report of bench/chaos.ts: the totals and verdict from the ledger, the faults and the hostile
 * tenant's figures, written to bench/results/chaos-latest.json (chaos-smoke.json for the smoke) and
 * printed as a table.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CONFIG, HOSTILE_INGEST_RATE, SMOKE } from './chaos-config';
import type { EndpointFigures } from './chaos-ledger';
import type { PublishedEvent } from './chaos-publisher';
import type { FaultRecord } from './chaos-schedule';
import type { ChaosSupervisor } from './chaos-supervisor';
import type { HostileTally } from './hostile-tenant';
import { ROOT } from './service';
import { machineInfo } from './stats';

/** The report's figures, from the ledger, the faults and the hostile tenant. */
export function buildReport({
  published,
  perEndpoint,
  hostileFigures,
  faults,
  supervisor,
  sendRetries,
  drainS,
  stalled,
  serviceErrors,
  elapsedS,
  env,
}: {
  published: PublishedEvent[];
  perEndpoint: EndpointFigures[];
  hostileFigures: ReturnType<HostileTally['report']>;
  faults: FaultRecord[];
  supervisor: ChaosSupervisor;
  sendRetries: number;
  drainS: number;
  stalled: boolean;
  serviceErrors: string[];
  elapsedS: () => number;
  env: Record<string, string>;
}) {
  const strict = perEndpoint.find((e) => e.ordering === 'strict')!;
  const totals = {
    published: published.length,
    expectedDeliveries: perEndpoint.reduce((a, e) => a + e.expected, 0),
    delivered: perEndpoint.reduce((a, e) => a + e.delivered, 0),
    lost: perEndpoint.reduce((a, e) => a + e.lost, 0),
    duplicates: perEndpoint.reduce((a, e) => a + e.duplicates, 0),
    strictOrderViolations: strict.orderViolations ?? 0,
    strictPerKeyOrderViolations:
      perEndpoint.find((e) => e.endpoint === '/a/strict-keyed')?.orderViolations ?? 0,
  };
  const report = {
    ...totals,
    // The normal tenants' dead letters (a dead letter of theirs is lost until replayed).
    deadLettered: hostileFigures.deadLetters.ofNormalTenants,
    ok:
      totals.lost === 0 &&
      totals.strictOrderViolations === 0 &&
      totals.strictPerKeyOrderViolations === 0 &&
      supervisor.unplannedExits === 0 &&
      hostileFigures.deadLetters.ofNormalTenants === 0,
    perEndpoint,
    faults,
    serviceKills: faults.filter((f) => f.fault.startsWith('SIGKILL')).length,
    restarts: supervisor.restarts,
    unplannedServiceExits: supervisor.unplannedExits,
    producerSendRetries: sendRetries,
    drainSeconds: drainS,
    drainStalled: stalled,
    hostile: hostileFigures,
    serviceErrorsSinceLastRestart: [...new Set(serviceErrors)].slice(0, 10),
    // Blocks a killed process left on a promoted, never handed-on strict delivery, repaired.
    strictHandOnsRecovered: countLines(supervisor.logPaths, 'never handed on'),
    durationSeconds: elapsedS(),
    setup: {
      smoke: SMOKE,
      ...CONFIG,
      serviceEnv: { ...env, DATABASE_URL: '(fresh database)' },
      tenants:
        'a (4 endpoints) and b (2 endpoints); events alternate a/b, key = tenant id; a hostile tenant h (3 endpoints: hang, slow, large body) beside them',
      hostileIngestRatePerSec: HOSTILE_INGEST_RATE,
      workers: process.env.CHAOS_WORKERS ?? 'auto',
      publisher:
        'kafkajs, acks=-1, one send at a time, retried until acknowledged; only acknowledged events count',
    },
    machine: machineInfo(ROOT),
  };
  return report;
}

/** Writes the report to bench/results and prints its ledger; returns the file's name. */
export function writeReport(report: ReturnType<typeof buildReport>): string {
  const outDir = join(ROOT, 'bench', 'results');
  mkdirSync(outDir, { recursive: true });
  const file = SMOKE ? 'chaos-smoke.json' : 'chaos-latest.json';
  writeFileSync(join(outDir, file), `${JSON.stringify(report, null, 2)}\n`);
  printLedger(report, report.perEndpoint);
  return file;
}

/** Lines containing `text` over every file of `paths`. */
function countLines(paths: string[], text: string): number {
  let count = 0;
  for (const path of paths) {
    for (const line of readFileSync(path, 'utf8').split('\n')) if (line.includes(text)) count++;
  }
  return count;
}

function printLedger(
  totals: Record<string, unknown>,
  perEndpoint: Array<{
    endpoint: string;
    ordering: string;
    expected: number;
    delivered: number;
    lost: number;
    duplicates: number;
    injectedFailures: number;
    orderViolations?: number;
  }>,
): void {
  console.log('');
  console.log(
    'endpoint      ordering  expected  delivered  lost  duplicates  injected 500s  order violations',
  );
  for (const e of perEndpoint) {
    console.log(
      `${e.endpoint.padEnd(13)} ${e.ordering.padEnd(9)} ${String(e.expected).padStart(8)}  ${String(e.delivered).padStart(9)}  ${String(e.lost).padStart(4)}  ${String(e.duplicates).padStart(10)}  ${String(e.injectedFailures).padStart(13)}  ${e.orderViolations ?? '-'}`,
    );
  }
  console.log('');
  for (const key of [
    'published',
    'expectedDeliveries',
    'delivered',
    'lost',
    'duplicates',
    'strictOrderViolations',
    'strictPerKeyOrderViolations',
    'strictHandOnsRecovered',
    'deadLettered',
    'serviceKills',
    'unplannedServiceExits',
    'producerSendRetries',
    'drainSeconds',
    'durationSeconds',
    'ok',
  ]) {
    console.log(`${key.padEnd(24)} ${String(totals[key])}`);
  }
  const hostile = totals.hostile as {
    kafkaRecordsSent: number;
    restRequests: number;
    deadLetters: Record<string, unknown>;
  } & Record<string, unknown>;
  console.log(
    `hostile tenant: ${hostile.kafkaRecordsSent} Kafka records, ${hostile.restRequests} REST requests ` +
      `(202 ${String(hostile.answered202)}, 400 ${String(hostile.answered400)}, 401 ${String(hostile.answered401)}, ` +
      `413 ${String(hostile.answered413)}, 429 ${String(hostile.answered429)}, 5xx ${String(hostile.answered5xx)}, ` +
      `no answer ${String(hostile.restNoAnswer)}); dead-lettered ${String(hostile.deadLetters.ofKafkaRecords)} ` +
      `of ${String(hostile.deadLetters.expectedOfKafkaRecords)} expected`,
  );
  for (const f of totals.faults as FaultRecord[]) {
    console.log(
      `fault at ${String(f.atS).padStart(6)} s: ${f.fault} (${f.tookS ?? '?'} s${f.note ? `, ${f.note}` : ''})`,
    );
  }
  console.log('');
}
