/**
 * In order without one at a time (issue 21 item 4): one endpoint whose receiver answers after
 * BENCH_ORDERED_KEYS_ANSWER_MS (20 ms), in order per ordering key.
 *
 *   keyed    BENCH_ORDERED_KEYS_EVENTS events over BENCH_ORDERED_KEYS_KEYS (1,000) distinct
 *            `partitionkey`s, round robin, to an endpoint at maxConcurrency
 *            BENCH_ORDERED_KEYS_CONCURRENCY (100, the API's most): deliveries/s from the first
 *            publish to the last delivery
 *   serial   BENCH_ORDERED_KEYS_SERIAL_EVENTS keyless events to an endpoint at maxConcurrency 1 (the
 *            in-order default before keys): the one-at-a-time figure
 *
 * The receiver counts order violations per key: a delivery of a key whose `seq` is not the one after
 * the last it saw of that key (a duplicate counts too). Both runs publish a backlog at once, so
 * each figure is the service's drain rate for that endpoint.
 */
import type { Message, Producer } from 'kafkajs';
import { randomUUID } from 'node:crypto';
import type { Api } from './api';
import { num } from './config';
import { log, publish, type Tenant } from './phases';
import type { Receiver } from './receiver';
import { sleep, until } from './service';
import { round } from './stats';

export const ORDERED_KEYS_CONFIG = {
  keys: num('BENCH_ORDERED_KEYS_KEYS', 1_000, 50),
  events: num('BENCH_ORDERED_KEYS_EVENTS', 20_000, 500),
  serialEvents: num('BENCH_ORDERED_KEYS_SERIAL_EVENTS', 500, 50),
  answerMs: num('BENCH_ORDERED_KEYS_ANSWER_MS', 20, 20),
  concurrency: num('BENCH_ORDERED_KEYS_CONCURRENCY', 100, 100),
};

export interface OrderedKeysResult {
  keys: number;
  answerMs: number;
  maxConcurrency: number;
  keyedEvents: number;
  keyedDeliveriesPerSec: number;
  serialEvents: number;
  serialDeliveriesPerSec: number;
  /** keyed / serial; target ≥ 20. */
  ratio: number;
  /** Deliveries out of order within their key, counted by the receiver (must be 0). */
  orderViolations: number;
  /** Most requests open at once at the keyed endpoint. */
  mostConcurrent: number;
}

interface Run {
  path: string;
  expected: number;
  delivered: number;
  lastSeq: Map<string, number>;
  firstAtMs: number;
  lastAtMs: number;
}

function event(tenantId: string, type: string, seq: number, key: string | null): Message {
  return {
    key: tenantId,
    value: JSON.stringify({
      specversion: '1.0',
      id: randomUUID(),
      source: '/bench',
      type,
      time: new Date().toISOString(),
      tenantid: tenantId,
      ...(key === null ? {} : { partitionkey: key }),
      data: { key, seq },
    }),
  };
}

export async function orderedKeysPhase(context: {
  admin: Api;
  producer: Producer;
  topic: string;
  receiver: Receiver;
}): Promise<OrderedKeysResult> {
  const { admin, producer, topic, receiver } = context;
  const config = ORDERED_KEYS_CONFIG;
  const created = await admin.createTenant(`bench-ordered-keys-${Date.now()}`);
  // Index 0: published to input partition 0, as the bench publishes its first tenant.
  const tenant: Tenant = { index: 0, id: created.id, api: created.api };
  await tenant.api.createEndpoint({
    url: receiver.url('/ok/keyed'),
    eventTypes: ['ok.keyed'],
    maxConcurrency: config.concurrency,
  });
  await tenant.api.createEndpoint({
    url: receiver.url('/ok/serial'),
    eventTypes: ['ok.serial'],
    maxConcurrency: 1,
  });

  let orderViolations = 0;
  let mostConcurrent = 0;
  const runs = new Map<string, Run>();
  receiver.setHandler((delivery) => {
    const run = runs.get(delivery.path);
    if (!run) return undefined;
    const { key, seq } = (JSON.parse(delivery.body) as { data: { key: string | null; seq: number } }).data;
    const slot = key ?? '';
    if ((run.lastSeq.get(slot) ?? -1) !== seq - 1) orderViolations++;
    run.lastSeq.set(slot, seq);
    run.delivered++;
    run.lastAtMs = Date.now();
    if (delivery.path === '/ok/keyed') mostConcurrent = Math.max(mostConcurrent, delivery.concurrent);
    return { status: 200, delayMs: config.answerMs };
  });

  const drive = async (path: string, type: string, events: number, keyed: boolean): Promise<number> => {
    const run: Run = { path, expected: events, delivered: 0, lastSeq: new Map(), firstAtMs: 0, lastAtMs: 0 };
    runs.set(path, run);
    const messages: Message[] = [];
    for (let i = 0; i < events; i++) {
      messages.push(
        keyed
          ? event(tenant.id, type, Math.floor(i / config.keys), `k${i % config.keys}`)
          : event(tenant.id, type, i, null),
      );
    }
    run.firstAtMs = Date.now();
    await publish(producer, topic, new Map([[tenant, messages]]));
    // At least the one-at-a-time pace, twice over, plus a minute for the broker and the rest.
    const deadlineMs = 60_000 + 2 * events * config.answerMs;
    if (!(await until(() => run.delivered >= events, deadlineMs, 50))) {
      throw new Error(`${path}: ${run.delivered} of ${events} delivered within ${deadlineMs / 1000} s`);
    }
    return events / ((run.lastAtMs - run.firstAtMs) / 1000);
  };

  try {
    // Endpoints reach every cache by notice; a round of one event each proves they are there.
    await drive('/ok/keyed', 'ok.keyed', 1, true);
    await drive('/ok/serial', 'ok.serial', 1, false);
    orderViolations = 0;
    mostConcurrent = 0;
    await sleep(200);
    const keyedDeliveriesPerSec = await drive('/ok/keyed', 'ok.keyed', config.events, true);
    log(`ordered keys: keyed ${round(keyedDeliveriesPerSec, 0)} deliveries/s over ${config.keys} keys`);
    const serialDeliveriesPerSec = await drive('/ok/serial', 'ok.serial', config.serialEvents, false);
    log(`ordered keys: one at a time ${round(serialDeliveriesPerSec, 1)} deliveries/s`);
    return {
      keys: config.keys,
      answerMs: config.answerMs,
      maxConcurrency: config.concurrency,
      keyedEvents: config.events,
      keyedDeliveriesPerSec: round(keyedDeliveriesPerSec, 0),
      serialEvents: config.serialEvents,
      serialDeliveriesPerSec: round(serialDeliveriesPerSec, 1),
      ratio: round(keyedDeliveriesPerSec / serialDeliveriesPerSec, 1),
      orderViolations,
      mostConcurrent,
    };
  } finally {
    receiver.setHandler(() => undefined);
  }
}
