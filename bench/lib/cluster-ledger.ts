/** The ledger of bench/chaos-cluster.ts: what each endpoint was owed and what it got. */

export interface EndpointSpec {
  path: string;
  tenant: 'a' | 'b';
  eventTypes: string[];
  /** Share of first attempts the receiver answers 500 (1 with `dead`: every attempt). */
  failRate: number;
  maxConcurrency: number;
  ordering?: 'none' | 'strict';
  /** Answer after this pause, so requests sent at once overlap at the receiver. */
  answerAfterMs?: number;
  /** Always 500: its deliveries are owed dead letters, not deliveries. */
  dead?: boolean;
}

export interface Published {
  id: string;
  tenant: 'a' | 'b';
  type: string;
  seq: number;
}

export interface PathLedger {
  /** event id -> requests */
  requests: Map<string, number>;
  /** event id -> 2xx answers */
  successes: Map<string, number>;
  /** seq of each event in the order of its first 2xx */
  firstSuccessSeqs: number[];
  /** when each 2xx after the first for its event arrived */
  duplicateAtMs: number[];
  injectedFailures: number;
  maxConcurrent: number;
  concurrencyViolations: Array<{ atS: number; concurrent: number; webhookId: string }>;
}

export interface FaultRecord {
  atS: number;
  fault: string;
  tookS: number;
  settledAfterS: number;
  /** Delivery partitions of each live replica once settled, from GET /v1/ops/cluster. */
  partitionsByReplica: Record<string, number[]>;
  note?: string;
}

const HELD_CYCLED = 'hookstream_held_turned_away_total{release="batch"}';
const PROBES_TURNED_AWAY = 'hookstream_held_turned_away_total{release="probe"}';
const FORCED_NOT_RELEASED = 'hookstream_partition_handovers_forced_total{reason="not_released"}';
const FORCED_NO_DATABASE = 'hookstream_partition_handovers_forced_total{reason="database_unavailable"}';

const DUPLICATES_EXPLAINED =
  'A duplicate is a delivery a replica finished after its last offset commit, read again from the ' +
  'committed offset by the next owner of its partition (same webhook-id): at a SIGTERM or a ' +
  'scale-down, the work finished in the last commit interval (100 ms) before the partition was ' +
  'released; at a SIGKILL, everything finished since the last commit, and the records it had ' +
  'fetched; at a rebalance when replicas join, the same as a SIGTERM for the partitions that move; ' +
  'at a broker restart, commits that failed while the broker was away. A forced handover (the next ' +
  'owner starting after HOOKSTREAM_DELIVERY_TIMEOUT + 5 s without a release, ' +
  'src/delivery/partition-owners.ts) could also send one while the previous owner was still ' +
  'attempting it: see forcedHandovers. byFault attributes each duplicate to the last fault begun ' +
  'before it arrived.';

export function buildLedger(input: {
  endpoints: EndpointSpec[];
  published: Published[];
  expected: Map<string, Published[]>;
  ledger: Map<string, PathLedger>;
  /** path -> event id -> dead-letter reason, from the dead_letters table */
  deadLetters: Map<string, Map<string, string>>;
  heldAtEnd: Map<string, number>;
  faults: FaultRecord[];
  counters: Record<string, number>;
  startedMs: number;
}) {
  const { endpoints, expected, ledger, deadLetters, heldAtEnd, faults, counters } = input;
  const perEndpoint = endpoints.map((spec) => {
    const entry = ledger.get(spec.path)!;
    const owed = expected.get(spec.path)!;
    const dead = deadLetters.get(spec.path) ?? new Map<string, string>();
    const common = {
      endpoint: spec.path,
      ordering: spec.ordering ?? 'none',
      maxConcurrency: spec.maxConcurrency,
      expected: owed.length,
      requests: sum(entry.requests.values()),
      injectedFailures: entry.injectedFailures,
      maxConcurrentSeen: entry.maxConcurrent,
      concurrencyViolations: entry.concurrencyViolations.length,
      concurrencyViolationSample: entry.concurrencyViolations.slice(0, 10),
      heldAtEnd: heldAtEnd.get(spec.path) ?? 0,
      deadLetterReasons: countBy(dead.values()),
    };
    if (spec.dead) {
      const deadLettered = owed.filter((e) => dead.has(e.id)).length;
      return {
        ...common,
        expectedOutcome: 'dead-lettered (circuit open, held, then dead-lettered for its age)',
        deadLettered,
        delivered: 0,
        lost: Math.max(0, owed.length - deadLettered - common.heldAtEnd),
        duplicates: 0,
        lostSample: owed
          .filter((e) => !dead.has(e.id))
          .slice(0, 5)
          .map((e) => e.id),
      };
    }
    const lost = owed.filter((e) => !entry.successes.has(e.id));
    return {
      ...common,
      expectedOutcome: 'delivered',
      deadLettered: owed.filter((e) => dead.has(e.id)).length,
      delivered: owed.length - lost.length,
      lost: lost.length,
      duplicates: sum(entry.successes.values()) - entry.successes.size,
      ...orderOf(spec, entry.firstSuccessSeqs),
      lostSample: lost.slice(0, 5).map((e) => ({ id: e.id, seq: e.seq, deadLetter: dead.get(e.id) ?? null })),
    };
  });

  const byFault = [
    { fault: '(before the first fault)', atS: 0 },
    ...faults.map((f) => ({ fault: f.fault, atS: f.atS })),
  ].map((f) => ({ ...f, duplicates: 0, byEndpoint: countBy([]) }));
  for (const spec of endpoints) {
    for (const atMs of ledger.get(spec.path)!.duplicateAtMs) {
      const atS = (atMs - input.startedMs) / 1000;
      let index = 0;
      for (let i = 1; i < byFault.length; i++) if (byFault[i].atS <= atS) index = i;
      byFault[index].duplicates++;
      byFault[index].byEndpoint[spec.path] = (byFault[index].byEndpoint[spec.path] ?? 0) + 1;
    }
  }

  const totals = {
    published: input.published.length,
    expected: sum(perEndpoint.map((e) => e.expected)),
    delivered: sum(perEndpoint.map((e) => e.delivered)),
    deadLettered: sum(perEndpoint.map((e) => e.deadLettered)),
    lost: sum(perEndpoint.map((e) => e.lost)),
    duplicates: sum(perEndpoint.map((e) => e.duplicates)),
    strictOrderViolations: sum(
      perEndpoint.map((e) => ('orderViolations' in e ? (e.orderViolations ?? 0) : 0)),
    ),
    maxConcurrencyViolations: sum(perEndpoint.map((e) => e.concurrencyViolations)),
    heldCycled: counters[HELD_CYCLED] ?? 0,
  };
  return {
    ...totals,
    ok:
      totals.lost === 0 &&
      totals.strictOrderViolations === 0 &&
      totals.maxConcurrencyViolations === 0 &&
      totals.heldCycled === 0,
    duplicatesExplained: {
      explanation: DUPLICATES_EXPLAINED,
      perEndpoint: Object.fromEntries(perEndpoint.map((e) => [e.endpoint, e.duplicates])),
      byFault,
    },
    forcedHandovers: {
      notReleased: counters[FORCED_NOT_RELEASED] ?? 0,
      databaseUnavailable: counters[FORCED_NO_DATABASE] ?? 0,
    },
    held: {
      cycledInBatches: totals.heldCycled,
      probesTurnedAway: counters[PROBES_TURNED_AWAY] ?? 0,
      released: counters.hookstream_held_released_total ?? 0,
      howCounted:
        'hookstream_held_turned_away_total by release, summed over every replica process of the run ' +
        '(each read every 2 s, before each SIGTERM or SIGKILL and at the end)',
    },
    perEndpoint,
    faults,
  };
}

export type ClusterLedger = ReturnType<typeof buildLedger>;

/** Strict endpoints: violations of publish order; others: first deliveries out of it (allowed). */
function orderOf(spec: EndpointSpec, seqs: number[]) {
  let outOfOrder = 0;
  let highest = -1;
  for (const seq of seqs) {
    if (seq < highest) outOfOrder++;
    highest = Math.max(highest, seq);
  }
  return spec.ordering === 'strict'
    ? { orderViolations: outOfOrder }
    : { outOfOrderFirstDeliveries: outOfOrder };
}

function sum(values: Iterable<number>): number {
  let total = 0;
  for (const value of values) total += value;
  return total;
}

function countBy(values: Iterable<string>): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const value of values) counts[value] = (counts[value] ?? 0) + 1;
  return counts;
}

export function printLedger(report: ClusterLedger & Record<string, unknown>): void {
  const pad = (value: unknown, width: number): string => String(value).padStart(width);
  console.log('');
  console.log(
    'endpoint    ordering  max  expected  delivered  dead-lettered  lost  duplicates  injected 500s  max seen  over max  order',
  );
  for (const e of report.perEndpoint) {
    const order = 'orderViolations' in e ? e.orderViolations : '-';
    console.log(
      `${e.endpoint.padEnd(11)} ${e.ordering.padEnd(8)} ${pad(e.maxConcurrency, 4)}  ${pad(e.expected, 8)}  ${pad(e.delivered, 9)}  ${pad(e.deadLettered, 13)}  ${pad(e.lost, 4)}  ${pad(e.duplicates, 10)}  ${pad(e.injectedFailures, 13)}  ${pad(e.maxConcurrentSeen, 8)}  ${pad(e.concurrencyViolations, 8)}  ${order}`,
    );
  }
  console.log('');
  for (const key of [
    'published',
    'expected',
    'delivered',
    'deadLettered',
    'lost',
    'duplicates',
    'strictOrderViolations',
    'maxConcurrencyViolations',
    'heldCycled',
    'producerSendRetries',
    'drainSeconds',
    'durationSeconds',
    'ok',
  ]) {
    console.log(`${key.padEnd(26)} ${String(report[key])}`);
  }
  console.log(`${'forcedHandovers'.padEnd(26)} ${JSON.stringify(report.forcedHandovers)}`);
  console.log(`${'held'.padEnd(26)} ${JSON.stringify({ ...report.held, howCounted: undefined })}`);
  console.log(`${'unplannedExits'.padEnd(26)} ${JSON.stringify(report.unplannedExits)}`);
  for (const f of report.faults) {
    console.log(
      `fault at ${pad(f.atS, 6)} s: ${f.fault} (${f.tookS} s, settled after ${f.settledAfterS} s${f.note ? `, ${f.note}` : ''})`,
    );
  }
  for (const f of report.duplicatesExplained.byFault) {
    console.log(`duplicates after ${f.fault}: ${f.duplicates} ${JSON.stringify(f.byEndpoint)}`);
  }
  console.log('');
}
