/**
 * The hostile tenant of bench/chaos.ts: its endpoints (one hangs, one answers slowly, one with a
 * 2 MiB body) and their receiver, the rounds it sends (every kind of bench/lib/hostile.ts to the
 * input topic and through `POST /v1/events`, then a flood), the tally of what became of them, and
 * its dead letters read back from the DLQ topic.
 */
import type { Kafka, Producer } from 'kafkajs';
import type { Api } from './api';
import { CONFIG } from './chaos-config';
import { countTopic } from './faults';
import {
  FLOOD_KIND,
  floodBody,
  HOSTILE_KAFKA_KINDS,
  HOSTILE_REST_KINDS,
  KIND_HEADER,
  type HostileVerdict,
} from './hostile';
import { readTopic, type ReadRecord } from './kafka';
import { Receiver, type Delivery } from './receiver';
import { sleep } from './service';

/** The hostile endpoints: one never answers, one answers after SLOW_ANSWER_MS, one with LARGE_BODY. */
const SLOW_ANSWER_MS = 4_000;
const LARGE_BODY = 'L'.repeat(2 * 1024 * 1024);
const HOSTILE_ENDPOINTS = [
  { path: '/h/hang', maxConcurrency: 100 },
  { path: '/h/slow', maxConcurrency: 20 },
  { path: '/h/large', maxConcurrency: 5 },
] as const;
/** How long to wait after the drain for the hostile records to reach the dead-letter topic. */
const HOSTILE_SETTLE_MS = 30_000;

/**
 * The hostile tenant's endpoints' receiver (a host of its own: another port, as it would be), and
 * the requests each of its paths got.
 */
export async function startHostileReceiver(): Promise<{ receiver: Receiver; requests: Map<string, number> }> {
  const hostileRequests = new Map<string, number>(HOSTILE_ENDPOINTS.map((e) => [e.path, 0]));
  const hostileReceiver = await new Receiver((d: Delivery) => {
    hostileRequests.set(d.path, (hostileRequests.get(d.path) ?? 0) + 1);
    if (d.path === '/h/hang') return 'hang';
    if (d.path === '/h/slow') return { status: 204, delayMs: SLOW_ANSWER_MS };
    return { status: 200, body: LARGE_BODY };
  }).start();
  return { receiver: hostileReceiver, requests: hostileRequests };
}

/** Creates the hostile tenant's endpoints on `receiver`; resolves with their ids. */
export async function createHostileEndpoints(api: Api, receiver: Receiver): Promise<string[]> {
  const hostileEndpointIds: string[] = [];
  for (const { path, maxConcurrency } of HOSTILE_ENDPOINTS) {
    const endpoint = await api.createEndpoint({ url: receiver.url(path), maxConcurrency });
    hostileEndpointIds.push(endpoint.id);
  }
  return hostileEndpointIds;
}

/**
 * The DLQ topic's records, once it holds at least the hostile records the contract dead-letters or
 * HOSTILE_SETTLE_MS passed; none if reading it fails.
 */
export async function readDeadLetters(
  kafka: Kafka,
  dlqTopic: string,
  hostile: HostileTally,
  log: (message: string) => void,
): Promise<ReadRecord[]> {
  // Polled (the count is a broker call, which `until` cannot await): the topic holds at least the
  // hostile records the contract dead-letters, or the deadline passed.
  const settleDeadline = Date.now() + HOSTILE_SETTLE_MS;
  while (
    Date.now() < settleDeadline &&
    (await countTopic(kafka, dlqTopic).catch(() => 0)) < hostile.expectedDeadLetters()
  ) {
    await sleep(1_000);
  }
  return readTopic(kafka, dlqTopic).catch((error: unknown) => {
    log(`reading the DLQ failed: ${(error as Error).message}`);
    return [];
  });
}

/** What the hostile tenant sent and what became of it. */
export class HostileTally {
  /** kind -> [acknowledged by the broker, refused by it]; with the kind's verdict. */
  readonly kafka = new Map<string, { verdict: HostileVerdict; sent: number; sendFailed: number }>();
  /** kind -> status (or `no answer`) -> count. */
  readonly rest = new Map<string, Map<string, number>>();

  sentToKafka(kind: string, verdict: HostileVerdict, acknowledged: boolean): void {
    const entry = this.kafka.get(kind) ?? { verdict, sent: 0, sendFailed: 0 };
    if (acknowledged) entry.sent++;
    else entry.sendFailed++;
    this.kafka.set(kind, entry);
  }

  /** Why requests got no answer (a few distinct messages). */
  readonly restErrors = new Set<string>();

  failed(error: unknown): void {
    const cause = (error as { cause?: { message?: string } }).cause?.message;
    if (this.restErrors.size < 10)
      this.restErrors.add(`${(error as Error).message}${cause ? `: ${cause}` : ''}`);
  }

  answered(kind: string, status: string): void {
    const statuses = this.rest.get(kind) ?? new Map<string, number>();
    statuses.set(status, (statuses.get(status) ?? 0) + 1);
    this.rest.set(kind, statuses);
  }

  expectedDeadLetters(): number {
    let total = 0;
    for (const e of this.kafka.values()) if (e.verdict === 'dead-lettered') total += e.sent;
    return total;
  }

  /**
   * The figures for the report. A dead letter is the hostile tenant's when it carries a kind header,
   * its key is the hostile tenant's id or endpoint (a delivery given up on), or it is keyed by
   * neither normal tenant nor their endpoints; the normal tenants' must be 0.
   */
  report(
    deadLetters: ReadRecord[],
    normalKeys: Set<string>,
    hostileEndpointIds: Set<string>,
    requests: Map<string, number>,
  ) {
    const byKind = new Map<string, Map<string, number>>();
    const deliveriesByReason = new Map<string, number>();
    let ofNormalTenants = 0;
    let otherHostile = 0;
    const bump = (map: Map<string, number>, key: string): void => {
      map.set(key, (map.get(key) ?? 0) + 1);
    };
    for (const record of deadLetters) {
      const reason = record.headers['hs-reason'] ?? 'unknown';
      const kind = record.headers[KIND_HEADER];
      const key = record.key?.toString() ?? '';
      if (kind !== undefined) {
        const reasons = byKind.get(kind) ?? new Map<string, number>();
        bump(reasons, reason);
        byKind.set(kind, reasons);
      } else if (hostileEndpointIds.has(key)) {
        bump(deliveriesByReason, reason);
      } else if (normalKeys.has(key)) {
        ofNormalTenants++;
      } else {
        otherHostile++;
      }
    }
    const kafka = [...this.kafka.entries()].map(([kind, e]) => {
      const reasons = Object.fromEntries(byKind.get(kind) ?? []);
      const deadLettered = Object.values(reasons).reduce((a, b) => a + b, 0);
      return { kind, verdict: e.verdict, sent: e.sent, sendFailed: e.sendFailed, deadLettered, reasons };
    });
    const rest = [...this.rest.entries()].map(([kind, statuses]) => ({
      kind,
      answers: Object.fromEntries([...statuses.entries()].sort()),
    }));
    /** Answers whose status (the answer without the fault going on) passes `test`. */
    const restCount = (test: (answer: string) => boolean): number =>
      [...this.rest.values()].reduce(
        (sum, statuses) =>
          sum + [...statuses.entries()].filter(([a]) => test(a)).reduce((n, [, c]) => n + c, 0),
        0,
      );
    const restTotal = (status: string): number => restCount((a) => a.split(' while ')[0] === status);
    const sum = (pick: (k: (typeof kafka)[number]) => number, verdict?: HostileVerdict): number =>
      kafka.filter((k) => !verdict || k.verdict === verdict).reduce((a, k) => a + pick(k), 0);
    return {
      kafkaRecordsSent: sum((k) => k.sent),
      kafkaSendsRefused: sum((k) => k.sendFailed),
      restRequests: [...this.rest.values()].reduce(
        (sum, statuses) => sum + [...statuses.values()].reduce((a, b) => a + b, 0),
        0,
      ),
      answered202: restTotal('202'),
      answered400: restTotal('400'),
      answered401: restTotal('401'),
      answered413: restTotal('413'),
      answered429: restTotal('429'),
      answered5xx: restCount((a) => a.startsWith('5')),
      answeredWhilePostgresStopped: restCount((a) => a.includes(' while PostgreSQL was stopped')),
      restNoAnswer: restTotal('no answer'),
      restErrors: [...this.restErrors],
      deadLetters: {
        expectedOfKafkaRecords: sum((k) => k.sent, 'dead-lettered'),
        ofKafkaRecords: sum((k) => k.deadLettered),
        /** Records the contract delivers that were dead-lettered anyway (should be 0). */
        ofDeliverableRecords: sum((k) => k.deadLettered, 'delivered'),
        ofHostileDeliveries: Object.fromEntries(deliveriesByReason),
        otherHostile,
        ofNormalTenants,
      },
      endpointRequests: Object.fromEntries(requests),
      kafka,
      rest,
    };
  }
}

const REST_TIMEOUT_MS = 30_000;
/** How long the hostile tenant retries a refused connection (the service restarting), and how often. */
const REST_RETRY_WHILE_DOWN_MS = 60_000;
const REST_RETRY_PAUSE_MS = 500;
const GARBAGE_API_KEY = 'hs_garbage_0123456789abcdefghijklmnopqrstuvwxyz';

export interface HostileContext {
  producer: Producer;
  topic: string;
  tenantId: string;
  apiKey: string;
  serviceUrl: () => string;
  /** Said after each REST answer's status: the fault going on, if any. */
  condition: () => string;
  tally: HostileTally;
}

/** One hostile round: every Kafka kind (each its own send), every REST kind, then the flood. */
export async function hostileRound({
  producer,
  topic,
  tenantId,
  apiKey,
  serviceUrl,
  condition,
  tally,
}: HostileContext): Promise<void> {
  for (const { kind, verdict, build } of HOSTILE_KAFKA_KINDS) {
    const acknowledged = await producer
      .send({ topic, acks: -1, messages: [build(tenantId)] })
      .then(() => true)
      .catch(() => false);
    tally.sentToKafka(kind, verdict, acknowledged);
  }
  const attempt = (body: Buffer, bearer: string): Promise<string> =>
    fetch(`${serviceUrl()}/v1/events`, {
      method: 'POST',
      headers: { authorization: `Bearer ${bearer}`, 'content-type': 'application/json' },
      body,
      signal: AbortSignal.timeout(REST_TIMEOUT_MS),
    }).then(async (response) => {
      await response.arrayBuffer();
      return String(response.status);
    });
  const post = async (kind: string, body: Buffer, bearer: string): Promise<void> => {
    // A client retries while the service is down (killed and restarting), as a real one would, so
    // the figures say how the API answers, not how often the chaos had it down.
    const deadline = Date.now() + REST_RETRY_WHILE_DOWN_MS;
    for (;;) {
      try {
        tally.answered(kind, `${await attempt(body, bearer)}${condition()}`);
        return;
      } catch (error) {
        const refused = (error as { cause?: { code?: string } }).cause?.code === 'ECONNREFUSED';
        if (!refused || Date.now() > deadline) {
          tally.failed(error);
          tally.answered(kind, 'no answer');
          return;
        }
        await sleep(REST_RETRY_PAUSE_MS);
      }
    }
  };
  for (const k of HOSTILE_REST_KINDS)
    await post(k.kind, k.body(), k.token === 'garbage' ? GARBAGE_API_KEY : apiKey);
  await Promise.all(Array.from({ length: CONFIG.hostileFlood }, () => post(FLOOD_KIND, floodBody(), apiKey)));
}
