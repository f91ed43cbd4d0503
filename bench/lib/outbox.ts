import { EventPublisher, OutboxRelay } from '@hookstream/publisher';
import type { Api } from './api';
import { BROKERS } from './kafka';
import { num, QUICK } from './config';
import { PlatformService } from './outbox-platform';
import type { Receiver } from './receiver';
import { randomUUID } from 'node:crypto';
import { sleep } from './service';
import { percentile, round } from './stats';

/**
 * Bench phase `outbox` (issue 18): the relay's throughput (committed outbox rows published per
 * second, from a backlog, to a topic nobody consumes), and the latency from a platform commit to
 * the webhook's arrival at OUTBOX_RATE (1,000/s) through the outbox and relay, beside the same
 * path published directly after the commit: the difference is what the outbox adds.
 */
export const OUTBOX_CONFIG = {
  backlogRows: num('BENCH_OUTBOX_ROWS', 20_000, 1_000),
  rate: num('BENCH_OUTBOX_RATE', 1_000, 200),
  seconds: num('BENCH_OUTBOX_SECONDS', 10, 2),
  tenants: 4,
};

export interface OutboxResult {
  relayRowsPerSec: number;
  latency: Array<{
    path: 'outbox' | 'direct';
    rate: number;
    p50Ms: number;
    p99Ms: number;
    delivered: number;
    sent: number;
  }>;
  addedP50Ms: number;
  addedP99Ms: number;
  setup: string;
}

export async function outboxPhase(options: {
  admin: Api;
  databaseUrl: string;
  inputTopic: string;
  /** A topic Hookstream does not consume, for the throughput run. */
  sinkTopic: string;
  receiver: Receiver;
}): Promise<OutboxResult> {
  const { admin, databaseUrl, inputTopic, sinkTopic, receiver } = options;
  const tenants: string[] = [];
  for (let i = 0; i < OUTBOX_CONFIG.tenants; i++) {
    const tenant = await admin.createTenant(`bench-outbox-${i}`);
    await tenant.api.createEndpoint({
      url: receiver.url(`/outbox/${i}`),
      eventTypes: ['record.*'],
      // Commit-to-delivery latency, not one-at-a-time pace: 250/s per endpoint is near an in-order lane's limit.
      maxConcurrency: 16,
    });
    tenants.push(tenant.id);
  }
  const platform = new PlatformService(databaseUrl, 'bench_platform.outbox', sinkTopic, 12);
  await platform.migrate();
  try {
    const relayRowsPerSec = await relayThroughput(platform, databaseUrl, sinkTopic, tenants);
    // From now on the same table feeds Hookstream's input topic.
    const live = new PlatformService(databaseUrl, 'bench_platform.outbox_live', inputTopic, 12);
    await live.migrate();
    const latency = [];
    try {
      latency.push(await commitToDelivery('outbox', live, databaseUrl, inputTopic, tenants, receiver));
      latency.push(await commitToDelivery('direct', live, databaseUrl, inputTopic, tenants, receiver));
    } finally {
      await live.pool.end();
    }
    return {
      relayRowsPerSec,
      latency,
      addedP50Ms: round(latency[0].p50Ms - latency[1].p50Ms, 1),
      addedP99Ms: round(latency[0].p99Ms - latency[1].p99Ms, 1),
      setup: `${OUTBOX_CONFIG.tenants} tenants; relay in process, batch 500, poll 50 ms; backlog of ${OUTBOX_CONFIG.backlogRows} rows; ${OUTBOX_CONFIG.rate}/s for ${OUTBOX_CONFIG.seconds} s per path${QUICK ? ' (quick)' : ''}`,
    };
  } finally {
    await platform.pool.end();
  }
}

/** Rows per second a relay publishes and marks sent, from a committed backlog. */
async function relayThroughput(
  platform: PlatformService,
  databaseUrl: string,
  topic: string,
  tenants: string[],
): Promise<number> {
  const perTransaction = 100;
  const client = await platform.pool.connect();
  try {
    for (let done = 0; done < OUTBOX_CONFIG.backlogRows; done += perTransaction) {
      await client.query('BEGIN');
      for (let i = 0; i < perTransaction; i++) {
        const seq = done + i;
        await platform.outbox.enqueue(client, {
          type: 'record.updated',
          tenantId: tenants[seq % tenants.length],
          data: { recordId: `r${seq % 500}`, version: seq, seq },
        });
      }
      await client.query('COMMIT');
    }
  } finally {
    client.release();
  }
  const relay = new OutboxRelay({
    databaseUrl,
    brokers: BROKERS,
    table: platform.table,
    topic,
    retentionMs: 0,
  });
  const started = Date.now();
  await relay.start();
  try {
    const deadline = Date.now() + 300_000;
    while ((await platform.unsent()) > 0 && Date.now() < deadline) await sleep(20);
    if ((await platform.unsent()) > 0) throw new Error('the relay did not publish the backlog within 300 s');
    return round(OUTBOX_CONFIG.backlogRows / ((Date.now() - started) / 1000), 0);
  } finally {
    await relay.stop();
  }
}

/** Commit -> webhook arrival at a fixed rate, through the outbox (relay in process) or published right after the commit. */
async function commitToDelivery(
  path: 'outbox' | 'direct',
  platform: PlatformService,
  databaseUrl: string,
  topic: string,
  tenants: string[],
  receiver: Receiver,
): Promise<OutboxResult['latency'][number]> {
  const committedAt = new Map<string, number>();
  const latencies: number[] = [];
  receiver.setHandler((delivery) => {
    const at = committedAt.get(delivery.webhookId);
    if (at !== undefined && delivery.path.startsWith('/outbox/')) {
      latencies.push(delivery.receivedAtMs - at);
      committedAt.delete(delivery.webhookId);
    }
    return 204;
  });
  const relay =
    path === 'outbox'
      ? new OutboxRelay({ databaseUrl, brokers: BROKERS, table: platform.table, topic, retentionMs: 0 })
      : null;
  const publisher =
    path === 'direct'
      ? new EventPublisher<{ 'record.updated': unknown }>({
          brokers: BROKERS,
          topic,
          source: '/bench-platform',
        })
      : null;
  await relay?.start();
  await publisher?.connect();
  let sent = 0;
  try {
    const total = OUTBOX_CONFIG.rate * OUTBOX_CONFIG.seconds;
    const started = Date.now();
    const inFlight = new Set<Promise<void>>();
    for (let seq = 0; seq < total; seq++) {
      const due = started + (seq * 1000) / OUTBOX_CONFIG.rate;
      if (due > Date.now()) await sleep(due - Date.now());
      // Bounded like a real service's connection pool: past it the schedule slips rather than queues.
      if (inFlight.size >= 24) await Promise.race(inFlight);
      const tenantId = tenants[seq % tenants.length];
      const work = (async () => {
        if (publisher) {
          // The record's transaction, then the event: the dual write the outbox replaces.
          await platform.updateRecordOnly(tenantId, `d${seq % 500}`);
          const id = randomUUID();
          committedAt.set(id, Date.now());
          await publisher.publish({ type: 'record.updated', tenantId, id, data: { seq } });
        } else {
          const id = await platform.update(tenantId, `o${seq % 500}`, seq, false);
          committedAt.set(id, Date.now());
        }
        sent++;
      })();
      inFlight.add(work);
      void work.finally(() => inFlight.delete(work));
    }
    await Promise.all(inFlight);
    const deadline = Date.now() + 60_000;
    while (latencies.length < sent && Date.now() < deadline) await sleep(50);
  } finally {
    await relay?.stop();
    await publisher?.disconnect();
  }
  return {
    path,
    rate: OUTBOX_CONFIG.rate,
    p50Ms: round(percentile(latencies, 50), 1),
    p99Ms: round(percentile(latencies, 99), 1),
    delivered: latencies.length,
    sent,
  };
}
