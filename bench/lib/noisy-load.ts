/**
 * The noisy-neighbour phase's noisy tenant (bench/lib/noisy-neighbour.ts): the receivers of its
 * endpoints, the endpoints themselves, and its load (Kafka events and the POST /v1/events flood),
 * paced by paced(), which the quiet tenants' latency runs use too.
 */
import { Pool } from 'undici';
import { CONFIG } from './config';
import { cloudEvent } from './kafka';
import type { NoisyNeighbourContext } from './noisy-neighbour';
import type { Tenant } from './phases';
import { Receiver, type Answer, type Delivery } from './receiver';
import { sleep } from './service';

/** Two hanging and two slow endpoints at the API's highest maxConcurrency: 400 slots wanted, 128 allowed. */
export const NOISY_ENDPOINTS = { hang: 2, slow: 2 };
export const NOISY_MAX_CONCURRENCY = 100;
const FLOOD_CONNECTIONS = 16;
/** Flood requests allowed unanswered at once; past it a tick's requests are skipped (and counted). */
const FLOOD_MAX_PENDING = 256;
const TICK_MS = 10;
export const SAME_ORIGIN = process.env.BENCH_NN_SAME_ORIGIN === '1';

export interface FloodCounts {
  sent: number;
  accepted: number;
  rejected429: number;
  rejected429WithRetryAfter: number;
  other: number;
  skipped: number;
}

/** One receiver per noisy endpoint (or the quiet one, BENCH_NN_SAME_ORIGIN=1); `pending` is their sum. */
export class NoisyReceivers {
  private readonly own: Receiver[] = [];
  private answer: (d: Delivery) => Answer | undefined = () => undefined;

  constructor(private readonly quiet: Receiver) {}

  get pending(): number {
    return SAME_ORIGIN ? this.quiet.pending : this.own.reduce((sum, r) => sum + r.pending, 0);
  }

  setHandler(answer: (d: Delivery) => Answer | undefined): void {
    this.answer = answer;
    for (const receiver of this.own) receiver.setHandler(answer);
  }

  /** The URL of a new noisy endpoint at `path`, on a receiver of its own. */
  async url(path: string): Promise<string> {
    if (SAME_ORIGIN) return this.quiet.url(path);
    const receiver = await new Receiver(this.answer).start();
    this.own.push(receiver);
    return receiver.url(path);
  }

  async stop(): Promise<void> {
    await Promise.all(this.own.map((receiver) => receiver.stop()));
  }
}

export async function createNoisyEndpoints(noisy: Tenant, receivers: NoisyReceivers): Promise<string[]> {
  const ids: string[] = [];
  for (const [kind, count] of Object.entries(NOISY_ENDPOINTS)) {
    for (let j = 0; j < count; j++) {
      const endpoint = await noisy.api.createEndpoint({
        url: await receivers.url(`/nn/${kind}/${j}`),
        eventTypes: ['nn.noise'],
        maxConcurrency: NOISY_MAX_CONCURRENCY,
      });
      ids.push(endpoint.id);
    }
  }
  return ids;
}

/**
 * The noisy tenant's load until stop(): nn.noise events produced to Kafka at noisyKafkaRate and
 * POSTed to /v1/events at noisyFloodRate with its API key (counted into `flood`). stop() resolves
 * with the number of events produced to Kafka once every request has been answered.
 */
export function startNoise(
  ctx: NoisyNeighbourContext,
  noisy: Tenant & { apiKey: string },
  flood: FloodCounts,
): { stop: () => Promise<number> } {
  let stopped = false;
  const sends = new Set<Promise<unknown>>();
  const track = (send: Promise<unknown>): void => {
    sends.add(send);
    void send.finally(() => sends.delete(send));
  };
  const produced = paced(
    CONFIG.noisyKafkaRate,
    () => stopped,
    (count, firstSeq) => {
      const messages = Array.from({ length: count }, (_, i) => ({
        ...cloudEvent({
          tenantId: noisy.id,
          type: 'nn.noise',
          seq: firstSeq + i,
          targetBytes: CONFIG.valueBytes,
        }),
        partition: 0,
      }));
      track(ctx.producer.send({ topic: ctx.topic, acks: -1, messages }).catch(() => undefined));
    },
  );
  const pool = new Pool(ctx.serviceUrl, { connections: FLOOD_CONNECTIONS });
  let floodPending = 0;
  const post = async (seq: number): Promise<void> => {
    floodPending++;
    flood.sent++;
    try {
      const response = await pool.request({
        path: '/v1/events',
        method: 'POST',
        headers: { authorization: `Bearer ${noisy.apiKey}`, 'content-type': 'application/json' },
        body: JSON.stringify({ type: 'nn.noise', data: { seq, sentAt: Date.now() } }),
      });
      await response.body.dump();
      if (response.statusCode === 202) flood.accepted++;
      else if (response.statusCode === 429) {
        flood.rejected429++;
        if (response.headers['retry-after'] !== undefined) flood.rejected429WithRetryAfter++;
      } else flood.other++;
    } catch {
      flood.other++;
    } finally {
      floodPending--;
    }
  };
  const flooded = paced(
    CONFIG.noisyFloodRate,
    () => stopped,
    (count, firstSeq) => {
      for (let i = 0; i < count; i++) {
        if (floodPending >= FLOOD_MAX_PENDING) flood.skipped++;
        else track(post(firstSeq + i));
      }
    },
  );
  return {
    stop: async () => {
      stopped = true;
      const [events] = await Promise.all([produced, flooded]);
      await Promise.all([...sends]);
      await pool.close();
      return events;
    },
  };
}

/**
 * Calls `emit(count, firstSeq)` every tick with what is due at `ratePerSec` since the start, until
 * `done(sent)`; resolves with how many were emitted.
 */
export async function paced(
  ratePerSec: number,
  done: (sent: number) => boolean,
  emit: (count: number, firstSeq: number) => void,
): Promise<number> {
  const start = Date.now();
  let sent = 0;
  while (!done(sent)) {
    const due = Math.floor(((Date.now() - start) / 1000) * ratePerSec);
    if (due > sent) {
      emit(due - sent, sent);
      sent = due;
    }
    await sleep(TICK_MS);
  }
  return sent;
}
