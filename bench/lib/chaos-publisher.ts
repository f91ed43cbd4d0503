/**
 * The chaos runs' load generator: events published to the input topic at a rate, with acks=all and
 * retried until acknowledged (only acknowledged events count); for bench/chaos.ts, its normal
 * tenants' events at CHAOS_RATE.
 */
import type { Message, Producer } from 'kafkajs';
import { CONFIG, strictKeyOf } from './chaos-config';
import { sendUntilAcknowledged } from './faults';
import { cloudEvent } from './kafka';
import { sleep } from './service';

/** Events in one send of the normal publisher: about 250 KB, far below the broker's 1 MiB. */
const MAX_EVENTS_PER_SEND = 500;

/** An acknowledged event of a normal tenant, as the ledger expects it. */
export interface PublishedEvent {
  id: string;
  tenant: 'a' | 'b';
  type: string;
  seq: number;
}

/**
 * Publishes `events` events at `ratePerSec` to `topic`, `eventOf(seq)` making each, with acks=all,
 * one send at a time (order per tenant) and each send retried until acknowledged; appends each
 * event's entry to `published` once acknowledged. Resolves with the send retries. Used by both
 * chaos runs (bench/chaos.ts, bench/chaos-cluster.ts).
 */
export async function publishPaced<E>({
  producer,
  topic,
  events,
  ratePerSec,
  eventOf,
  published,
  log,
}: {
  producer: Producer;
  topic: string;
  events: number;
  ratePerSec: number;
  eventOf: (seq: number) => { message: Message; entry: E };
  published: E[];
  log: (message: string) => void;
}): Promise<number> {
  let sendRetries = 0;
  const start = Date.now();
  let next = 0;
  while (next < events) {
    // Capped: after a broker restart the events due pile up, and one send of them all can pass
    // the broker's message.max.bytes (MESSAGE_TOO_LARGE, retried forever).
    const due = Math.min(
      events,
      next + MAX_EVENTS_PER_SEND,
      Math.floor(((Date.now() - start) / 1000) * ratePerSec),
    );
    if (due <= next) {
      await sleep(20);
      continue;
    }
    const batch: Array<{ message: Message; entry: E }> = [];
    for (let seq = next; seq < due; seq++) batch.push(eventOf(seq));
    sendRetries += await sendUntilAcknowledged(
      producer,
      topic,
      batch.map((b) => b.message),
      log,
    );
    for (const b of batch) published.push(b.entry);
    next = due;
  }
  log(`published ${published.length} events (acknowledged), ${sendRetries} send retries`);
  return sendRetries;
}

/**
 * Publishes CONFIG.events events alternating between tenants a and b, appending each to `published`
 * once acknowledged (one send at a time: order per tenant). Resolves with the send retries.
 */
export function publishEvents({
  producer,
  topic,
  tenantIds,
  published,
  log,
}: {
  producer: Producer;
  topic: string;
  tenantIds: { a: string; b: string };
  published: PublishedEvent[];
  log: (message: string) => void;
}): Promise<number> {
  return publishPaced({
    producer,
    topic,
    events: CONFIG.events,
    ratePerSec: CONFIG.rate,
    published,
    log,
    eventOf: (seq) => {
      const tenant = seq % 2 === 0 ? 'a' : 'b';
      const perTenant = Math.floor(seq / 2);
      const type =
        tenant === 'a' && perTenant % CONFIG.strictEvery === 0
          ? 'chaos.strict'
          : perTenant % 2 === 0
            ? 'chaos.x'
            : 'chaos.y';
      const message = cloudEvent({
        tenantId: tenantIds[tenant],
        type,
        seq,
        ...(type === 'chaos.strict' ? { partitionKey: strictKeyOf(seq) } : {}),
      });
      const id = (JSON.parse(String(message.value)) as { id: string }).id;
      return { message, entry: { id, tenant, type, seq } };
    },
  });
}
