/**
 * The backfill phase (issue 17 item 3): N events of one tenant are published straight to the input
 * topic before the tenant has an endpoint (so the fan-out delivers none of them), then an endpoint is
 * created and a window replay job started over them. Records how long the job took and its rate
 * (its own startedAt..finishedAt), how long until every event reached the receiver, and the
 * service's peak RSS while it ran. BENCH_BACKFILL_EVENTS sets N (1,000,000; quick 2,000).
 */
import { readFileSync } from 'node:fs';
import type { Producer } from 'kafkajs';
import type { Api } from './api';
import { num } from './config';
import { cloudEvent } from './kafka';
import { log } from './phases';
import type { Receiver } from './receiver';
import { sleep, childrenOf } from './service';
import { round } from './stats';

export const BACKFILL_EVENTS = num('BENCH_BACKFILL_EVENTS', 1_000_000, 2_000);
const ID_PREFIX = 'backfill-';

export interface BackfillResult {
  events: number;
  publishSeconds: number;
  publishPerSec: number;
  /** The job's own run: startedAt to finishedAt, as the service recorded them. */
  jobSeconds: number;
  jobEventsPerSec: number;
  /** From the POST to the job seen succeeded. */
  requestToSucceededSeconds: number;
  /** From the POST until every event had reached the receiver at least once. */
  allDeliveredSeconds: number;
  deliveriesPerSec: number;
  duplicateDeliveries: number;
  /** The service's highest VmRSS sampled every 250 ms while the job ran and its deliveries drained. */
  peakRssMb: number;
  jobRuns: number;
  endpointMaxConcurrency: number;
}

export async function backfillPhase({
  admin,
  servicePid,
  producer,
  topic,
  receiver,
  events = BACKFILL_EVENTS,
  drainTimeoutMs,
}: {
  admin: Api;
  servicePid: number;
  producer: Producer;
  topic: string;
  receiver: Receiver;
  events?: number;
  drainTimeoutMs: number;
}): Promise<BackfillResult> {
  const tenant = await admin.createTenant(`backfill-${Date.now()}`);
  const since = new Date(Date.now() - 1000).toISOString();

  // One bit per event, by the sequence number in its id: a million ids cost 125 KB, not a Set.
  const seen = new Uint8Array(events);
  let distinct = 0;
  let received = 0;
  receiver.setHandler((delivery) => {
    if (delivery.path !== '/backfill' || !delivery.webhookId.startsWith(ID_PREFIX)) return undefined;
    received++;
    const seq = Number(delivery.webhookId.slice(ID_PREFIX.length));
    if (seen[seq] === 0) {
      seen[seq] = 1;
      distinct++;
    }
    return undefined;
  });

  // The fast path: big sends, several in flight, the broker's acks=all as the service's input expects.
  const publishStarted = Date.now();
  const inFlight: Array<Promise<unknown>> = [];
  for (let sent = 0; sent < events; sent += 2_000) {
    const messages = [];
    for (let seq = sent; seq < Math.min(events, sent + 2_000); seq++) {
      messages.push(
        cloudEvent({ tenantId: tenant.id, type: 'backfill.event', seq, id: `${ID_PREFIX}${seq}` }),
      );
    }
    inFlight.push(producer.send({ topic, acks: -1, messages }));
    if (inFlight.length >= 8) await inFlight.shift();
  }
  await Promise.all(inFlight);
  const publishSeconds = (Date.now() - publishStarted) / 1000;
  log(`backfill: published ${events} events in ${round(publishSeconds, 1)} s`);

  // Unordered and as concurrent as an endpoint may be: the job, not one lane, is what is measured.
  const endpointMaxConcurrency = 100;
  const endpoint = await tenant.api.createEndpoint({
    url: receiver.url('/backfill'),
    eventTypes: ['backfill.*'],
    maxConcurrency: endpointMaxConcurrency,
  });

  let peakRssMb = 0;
  const sampler = setInterval(() => {
    // The largest process: the service's own, or one of its workers (HOOKSTREAM_WORKERS).
    for (const pid of [servicePid, ...childrenOf(servicePid)]) {
      try {
        const match = /VmRSS:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
        if (match) peakRssMb = Math.max(peakRssMb, Number(match[1]) / 1024);
      } catch {
        // the process is gone; the phase fails below if it was the service
      }
    }
  }, 250);
  try {
    const requested = Date.now();
    const job = await tenant.api.ok<{ id: string }>('POST', `/v1/endpoints/${endpoint.id}/replay`, { since });
    let done: any;
    let lastLog = 0;
    const deadline = requested + drainTimeoutMs;
    for (;;) {
      const now: any = await tenant.api.ok('GET', `/v1/replay-jobs/${job.id}`);
      if (now.state === 'succeeded') {
        done = now;
        break;
      }
      if (now.state === 'failed' || now.state === 'cancelled') {
        throw new Error(`backfill job ended ${now.state}: ${now.error}`);
      }
      if (Date.now() > deadline)
        throw new Error(`backfill job not done in time: ${JSON.stringify(now.counts)}`);
      if (Date.now() - lastLog > 10_000) {
        lastLog = Date.now();
        log(`backfill: job ${now.state}, ${now.counts.replayed} replayed, ${distinct} delivered`);
      }
      await sleep(200);
    }
    const requestToSucceededSeconds = (Date.now() - requested) / 1000;
    const jobSeconds = (Date.parse(done.finishedAt) - Date.parse(done.startedAt)) / 1000;
    log(`backfill: job succeeded, ${done.counts.replayed} replayed in ${round(jobSeconds, 1)} s`);
    while (distinct < events) {
      if (Date.now() > deadline) throw new Error(`backfill: only ${distinct} of ${events} delivered in time`);
      if (Date.now() - lastLog > 10_000) {
        lastLog = Date.now();
        log(`backfill: ${distinct} of ${events} delivered`);
      }
      await sleep(100);
    }
    const allDeliveredSeconds = (Date.now() - requested) / 1000;
    return {
      events,
      publishSeconds: round(publishSeconds, 1),
      publishPerSec: round(events / publishSeconds, 0),
      jobSeconds: round(jobSeconds, 1),
      jobEventsPerSec: round(done.counts.replayed / jobSeconds, 0),
      requestToSucceededSeconds: round(requestToSucceededSeconds, 1),
      allDeliveredSeconds: round(allDeliveredSeconds, 1),
      deliveriesPerSec: round(events / allDeliveredSeconds, 0),
      duplicateDeliveries: received - distinct,
      peakRssMb: round(peakRssMb, 1),
      jobRuns: done.runs,
      endpointMaxConcurrency,
    };
  } finally {
    clearInterval(sampler);
    receiver.setHandler(() => undefined);
  }
}
