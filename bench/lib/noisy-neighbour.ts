/**
 * The noisy-neighbour phase (issue 15): quiet tenants' throughput and p99 alone, then beside one
 * tenant whose endpoints hang or answer slowly with a high maxConcurrency, fed at a rate that fills
 * every in-flight slot it may hold, while it floods POST /v1/events past its ingest rate.
 *
 * Each noisy endpoint lives on a receiver of its own (another port), as another tenant's hosts
 * would: the service's HTTP client keeps at most 64 connections per origin, shared by every
 * tenant, so on one origin the noisy tenant's hanging or slow requests would queue the quiet
 * tenants' behind them (BENCH_NN_SAME_ORIGIN=1 runs it that way), and one origin for all four
 * would cap the noise at 64 requests, below the tenant's share of 128.
 *
 * Each with-noise run gets fresh noisy endpoints and deletes them afterwards, then waits until the
 * receiver holds no noisy request, so the next alone run does not carry the last one's backlog
 * (held rows and retries of a deleted endpoint are dropped, not attempted).
 */
import type { Message, Producer } from 'kafkajs';
import { Pool } from 'undici';
import type { Api } from './api';
import { CONFIG, QUICK } from './config';
import { cloudEvent } from './kafka';
import { log, publish, type Tenant } from './phases';
import { Receiver, type Answer, type Delivery } from './receiver';
import { sleep, until } from './service';
import { percentile, round } from './stats';

/**
 * The limits in force during the phase, set on the bench's service (they change nothing in the
 * other phases, which publish straight to Kafka and stay far below the in-flight caps). The
 * per-tenant ingest rate is a tenth of its default so the flood is refused from the bench's own
 * modest request rate.
 */
export const NOISY_NEIGHBOUR_LIMITS = {
  HOOKSTREAM_MAX_IN_FLIGHT: '512',
  HOOKSTREAM_TENANT_MAX_IN_FLIGHT: '128',
  HOOKSTREAM_TENANT_INGEST_RATE: '100',
  HOOKSTREAM_TENANT_INGEST_BURST: '100',
  HOOKSTREAM_LANE_STALL_AFTER: '1s',
  HOOKSTREAM_DELIVERY_TIMEOUT: '5s',
};
const PROCESS_SLOTS = Number(NOISY_NEIGHBOUR_LIMITS.HOOKSTREAM_MAX_IN_FLIGHT);
const TENANT_SLOTS = Number(NOISY_NEIGHBOUR_LIMITS.HOOKSTREAM_TENANT_MAX_IN_FLIGHT);
const DELIVERY_TIMEOUT_MS = 5_000;

const QUIET_TENANTS = 3;
const QUIET_ENDPOINTS_PER_TENANT = 3;
/** Two hanging and two slow endpoints at the API's highest maxConcurrency: 400 slots wanted, 128 allowed. */
const NOISY_ENDPOINTS = { hang: 2, slow: 2 };
const NOISY_MAX_CONCURRENCY = 100;
const SLOW_ANSWER_MS = 1_500;
const FLOOD_CONNECTIONS = 16;
/** Flood requests allowed unanswered at once; past it a tick's requests are skipped (and counted). */
const FLOOD_MAX_PENDING = 256;
const TICK_MS = 10;
const FILL_TIMEOUT_MS = QUICK ? 3_000 : 10_000;
const SAME_ORIGIN = process.env.BENCH_NN_SAME_ORIGIN === '1';
/** A quiet run that has not moved for this long gives up and counts what is missing. */
const QUIET_STALL_MS = QUICK ? 5_000 : 15_000;
/**
 * The noise alone, before each with-noise run, for this long: its CPU (phase `noisyNoiseOnly`) is
 * what the noise costs the service by itself, the share of the one thread the quiet tenants lose.
 */
const NOISE_ONLY_MS = CONFIG.noisyNoiseOnlySeconds * 1000;
/** How long the stragglers of the with-noise runs may take once the noise has stopped. */
const STRAGGLERS_TIMEOUT_MS = QUICK ? 15_000 : 60_000;

export interface NoisyNeighbourContext {
  admin: Api;
  serviceUrl: string;
  producer: Producer;
  topic: string;
  receiver: Receiver;
  /** Runs `work` with the CPU meter on, recording it under `phase`. */
  measured: <T>(phase: string, work: () => Promise<T>) => Promise<T>;
}

interface QuietRun {
  perSec: number;
  /** The throughput run's deliveries, publish to arrival: a late tail, not a slow rate, shows here. */
  burstLatencyMs: { p50: number; p90: number; max: number };
  p50Ms: number;
  p99Ms: number;
  /** Quiet deliveries that had not arrived when the run gave up waiting (no progress for QUIET_STALL_MS). */
  missing: number;
}

interface FloodCounts {
  sent: number;
  accepted: number;
  rejected429: number;
  rejected429WithRetryAfter: number;
  other: number;
  skipped: number;
}

/** The quiet deliveries of one run: its own event type, so a late one of an earlier run is not counted. */
class QuietSink {
  readonly ids = new Set<string>();
  readonly latencies: number[] = [];
  lastAt = 0;

  constructor(
    readonly type: string,
    readonly expected: number,
  ) {}

  get complete(): boolean {
    return this.ids.size >= this.expected;
  }

  add(d: Delivery): void {
    const key = `${d.path}|${d.webhookId}`;
    if (this.ids.has(key)) return;
    this.ids.add(key);
    this.lastAt = d.receivedAtMs;
    const sentAt = (JSON.parse(d.body) as { data: { sentAt: number } }).data.sentAt;
    this.latencies.push(d.receivedAtMs - sentAt);
  }
}

export async function noisyNeighbourPhase(ctx: NoisyNeighbourContext) {
  const noisyReceivers = new NoisyReceivers(ctx.receiver);
  try {
    return await runPhase(ctx, noisyReceivers);
  } finally {
    await noisyReceivers.stop();
  }
}

/** One receiver per noisy endpoint (or the quiet one, BENCH_NN_SAME_ORIGIN=1); `pending` is their sum. */
class NoisyReceivers {
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

async function runPhase(ctx: NoisyNeighbourContext, noisyReceiver: NoisyReceivers) {
  const { admin, receiver } = ctx;
  // Partition 0 of the input topic is the noisy tenant's, 1-3 the quiet ones' (publishPartition).
  const quiet: Tenant[] = [];
  for (let i = 0; i < QUIET_TENANTS; i++) {
    const tenant = await admin.createTenant(`nn-quiet-${i}`);
    quiet.push({ index: i + 1, ...tenant });
    for (let j = 0; j < QUIET_ENDPOINTS_PER_TENANT; j++) {
      await tenant.api.createEndpoint({ url: receiver.url(`/nn/q/${i}/${j}`), eventTypes: ['q.*'] });
    }
  }
  const noisyTenant = await admin.createTenant('nn-noisy');
  const noisy: Tenant & { apiKey: string } = { index: 0, ...noisyTenant };

  const sinks = new Map<string, QuietSink>();
  let runs = 0;
  const newSink = (expected: number): QuietSink => {
    const sink = new QuietSink(`q.r${++runs}`, expected);
    sinks.set(sink.type, sink);
    return sink;
  };
  let hangRequests = 0;
  let slowRequests = 0;
  const answer = (d: Delivery): Answer | undefined => {
    if (d.path.startsWith('/nn/q/')) sinks.get((JSON.parse(d.body) as { type: string }).type)?.add(d);
    else if (d.path.startsWith('/nn/hang/')) {
      hangRequests++;
      return 'hang';
    } else if (d.path.startsWith('/nn/slow/')) {
      slowRequests++;
      return { status: 204, delayMs: SLOW_ANSWER_MS };
    }
    return undefined;
  };
  receiver.setHandler(answer);
  noisyReceiver.setHandler(answer);
  const warm = new QuietSink('q.warm', QUIET_TENANTS * QUIET_ENDPOINTS_PER_TENANT);
  sinks.set(warm.type, warm);
  await warmQuiet(ctx, quiet, () => new Set([...warm.ids].map((key) => key.split('|')[0])).size);

  const quietRuns = async (): Promise<{ burst: number; paced: QuietRun; sinks: QuietSink[] }> => {
    const burstSink = newSink(CONFIG.noisyQuietEvents * QUIET_ENDPOINTS_PER_TENANT);
    const burst = await quietBurst(ctx, quiet, burstSink);
    const pacedSink = newSink(CONFIG.noisyQuietRate * CONFIG.noisyQuietSeconds * QUIET_ENDPOINTS_PER_TENANT);
    const paced = await quietPaced(ctx, quiet, pacedSink);
    return {
      burst: burst.perSec,
      paced: {
        ...paced,
        perSec: burst.perSec,
        burstLatencyMs: burst.burstLatencyMs,
        missing: burst.missing + paced.missing,
      },
      sinks: [burstSink, pacedSink],
    };
  };

  const rejectionsBefore = await ingestRejections(ctx.serviceUrl);
  const alone: QuietRun[] = [];
  const withNoise: QuietRun[] = [];
  const flood: FloodCounts = {
    sent: 0,
    accepted: 0,
    rejected429: 0,
    rejected429WithRetryAfter: 0,
    other: 0,
    skipped: 0,
  };
  const inFlightSamples: number[] = [];
  const slotsFilledMs: Array<number | null> = [];
  let kafkaNoiseEvents = 0;
  const stragglersAfterNoiseMs: Array<number | null> = [];
  /** What the service did while the quiet runs were measured beside the noise, summed over rounds. */
  const serviceWork: Record<string, number> = {};
  for (let round_ = 1; round_ <= CONFIG.noisyRounds; round_++) {
    const a = await ctx.measured('noisyQuietAlone', quietRuns);
    alone.push(a.paced);
    log(`noisy neighbour round ${round_}, quiet alone: ${Math.round(a.burst)}/s, p99 ${a.paced.p99Ms} ms`);

    const endpointIds = await createNoisyEndpoints(noisy, noisyReceiver);
    const noise = startNoise(ctx, noisy, flood);
    const filled = Date.now();
    // Measure only once the noisy tenant holds (nearly) every slot it may, or after FILL_TIMEOUT_MS.
    const full = await until(() => noisyReceiver.pending >= TENANT_SLOTS * 0.9, FILL_TIMEOUT_MS);
    slotsFilledMs.push(full ? Date.now() - filled : null);
    await ctx.measured('noisyNoiseOnly', () => sleep(NOISE_ONLY_MS));
    const sampler = setInterval(() => inFlightSamples.push(noisyReceiver.pending), 100);
    const countersBefore = await serviceCounters(ctx.serviceUrl);
    let withSinks: QuietSink[] = [];
    try {
      const w = await ctx.measured('noisyQuietWithNoise', quietRuns);
      addDeltas(serviceWork, countersBefore, await serviceCounters(ctx.serviceUrl));
      withNoise.push(w.paced);
      withSinks = w.sinks;
      log(
        `noisy neighbour round ${round_}, quiet beside noise: ${Math.round(w.burst)}/s, p99 ${w.paced.p99Ms} ms`,
      );
    } finally {
      clearInterval(sampler);
      kafkaNoiseEvents += await noise.stop();
      for (const id of endpointIds) await noisy.api.ok('DELETE', `/v1/endpoints/${id}`);
    }
    // Quiet deliveries the noise held up arrive once it stops: when, or whether, they do.
    const stopped = Date.now();
    const arrived = await until(() => withSinks.every((sink) => sink.complete), STRAGGLERS_TIMEOUT_MS, 50);
    stragglersAfterNoiseMs.push(arrived ? Date.now() - stopped : null);
    // Hanging requests end at the delivery timeout; the next alone run starts without them.
    if (round_ === CONFIG.noisyRounds) break;
    if (!(await until(() => noisyReceiver.pending === 0, DELIVERY_TIMEOUT_MS + 5_000, 50))) {
      log(`noisy neighbour: ${noisyReceiver.pending} noisy requests still open after the noise stopped`);
    }
  }
  const rejectionsAfter = await ingestRejections(ctx.serviceUrl);

  const mean = (values: number[]) => values.reduce((sum, value) => sum + value, 0) / values.length;
  const aloneRate = mean(alone.map((r) => r.perSec));
  const withRate = mean(withNoise.map((r) => r.perSec));
  const aloneP99 = mean(alone.map((r) => r.p99Ms));
  const withP99 = mean(withNoise.map((r) => r.p99Ms));
  const peakInFlight = Math.max(0, ...inFlightSamples);
  const meanInFlight = inFlightSamples.length ? mean(inFlightSamples) : 0;
  return {
    throughputRatio: round(withRate / aloneRate, 3),
    p99Ratio: round(aloneP99 / withP99, 3),
    ratioDirections:
      'throughputRatio = quiet deliveries/s with noise / alone; p99Ratio = quiet p99 alone / with noise: >= 0.9 is good for both',
    target: 0.9,
    quietAlonePerSec: round(aloneRate, 0),
    quietWithNoisePerSec: round(withRate, 0),
    quietAloneP50Ms: round(mean(alone.map((r) => r.p50Ms)), 1),
    quietAloneP99Ms: round(aloneP99, 1),
    quietWithNoiseP50Ms: round(mean(withNoise.map((r) => r.p50Ms)), 1),
    quietWithNoiseP99Ms: round(withP99, 1),
    byRound: alone.map((a, i) => ({
      alonePerSec: round(a.perSec, 0),
      withNoisePerSec: round(withNoise[i].perSec, 0),
      aloneP99Ms: a.p99Ms,
      withNoiseP99Ms: withNoise[i].p99Ms,
      aloneBurstLatencyMs: a.burstLatencyMs,
      withNoiseBurstLatencyMs: withNoise[i].burstLatencyMs,
      aloneMissing: a.missing,
      withNoiseMissing: withNoise[i].missing,
      withNoiseStragglersArrivedAfterNoiseStoppedMs: stragglersAfterNoiseMs[i],
    })),
    missingNote: `quiet deliveries not arrived after ${QUIET_STALL_MS / 1000} s without progress: counted at the time the run gave up (throughput over the time waited; p99 with each missing one as waited so far, a lower bound)`,
    rounds: CONFIG.noisyRounds,
    noisy: {
      ingestFlood: {
        offeredPerSec: CONFIG.noisyFloodRate,
        ...flood,
        serviceIngestRateRejections: rejectionsAfter - rejectionsBefore,
      },
      kafkaEvents: kafkaNoiseEvents,
      kafkaEventsPerSec: CONFIG.noisyKafkaRate,
      hangRequests,
      slowRequests,
      serviceCountersDuringNoise: serviceWork,
      inFlight: {
        peak: peakInFlight,
        mean: round(meanInFlight, 1),
        tenantCap: TENANT_SLOTS,
        processCap: PROCESS_SLOTS,
        peakShareOfProcess: round(peakInFlight / PROCESS_SLOTS, 3),
        meanShareOfProcess: round(meanInFlight / PROCESS_SLOTS, 3),
        slotsFilledAfterMs: slotsFilledMs,
        how: 'requests open at the receiver on the noisy endpoints (the quiet ones answer at once), sampled every 100 ms while the quiet runs were measured',
      },
    },
    setup: {
      quietTenants: QUIET_TENANTS,
      quietEndpointsPerTenant: QUIET_ENDPOINTS_PER_TENANT,
      quietThroughputEvents: CONFIG.noisyQuietEvents,
      quietLatencyRatePerSec: CONFIG.noisyQuietRate,
      quietLatencySeconds: CONFIG.noisyQuietSeconds,
      noisyEndpoints: `${NOISY_ENDPOINTS.hang} hanging (no answer before the ${DELIVERY_TIMEOUT_MS / 1000} s delivery timeout) and ${NOISY_ENDPOINTS.slow} slow (204 after ${SLOW_ANSWER_MS} ms), maxConcurrency ${NOISY_MAX_CONCURRENCY} each, all on nn.noise`,
      noisyEvents:
        'nn.noise, produced to Kafka at kafkaEventsPerSec and posted over REST at offeredPerSec (the accepted ones go to the same endpoints)',
      noisyEndpointsOrigin: SAME_ORIGIN
        ? "the quiet endpoints' receiver (one origin)"
        : 'each its own receiver (its own port, so its own origin)',
      limits: NOISY_NEIGHBOUR_LIMITS,
      limitsReportedByService: await reportedLimits(ctx.serviceUrl),
    },
  };
}

export type NoisyNeighbourResult = Awaited<ReturnType<typeof runPhase>>;

/** Every quiet endpoint has answered once: it is in the service's endpoint cache. */
async function warmQuiet(ctx: NoisyNeighbourContext, quiet: Tenant[], seen: () => number): Promise<void> {
  const expected = QUIET_TENANTS * QUIET_ENDPOINTS_PER_TENANT;
  const deadline = Date.now() + 60_000;
  while (seen() < expected && Date.now() < deadline) {
    await publish(ctx.producer, ctx.topic, quietEvents(quiet, 'q.warm', QUIET_TENANTS));
    await until(() => seen() >= expected, 3_000);
  }
  if (seen() < expected) throw new Error(`noisy neighbour warm-up: only ${seen()} of ${expected} answered`);
}

function quietEvents(quiet: Tenant[], type: string, count: number, firstSeq = 0): Map<Tenant, Message[]> {
  const byTenant = new Map<Tenant, Message[]>(quiet.map((t) => [t, []]));
  for (let seq = firstSeq; seq < firstSeq + count; seq++) {
    const tenant = quiet[seq % quiet.length];
    byTenant
      .get(tenant)!
      .push(cloudEvent({ tenantId: tenant.id, type, seq, targetBytes: CONFIG.valueBytes }));
  }
  return byTenant;
}

/** Quiet throughput: every event published at once; deliveries / (last arrival - first publish). */
async function quietBurst(
  ctx: NoisyNeighbourContext,
  quiet: Tenant[],
  sink: QuietSink,
): Promise<Pick<QuietRun, 'perSec' | 'missing' | 'burstLatencyMs'>> {
  const start = Date.now();
  await publish(ctx.producer, ctx.topic, quietEvents(quiet, sink.type, CONFIG.noisyQuietEvents));
  const complete = await settle(sink);
  const elapsed = (complete ? sink.lastAt : Date.now()) - start;
  const latency = (p: number) => round(percentile(sink.latencies, p), 0);
  return {
    perSec: (sink.ids.size / elapsed) * 1000,
    missing: sink.expected - sink.ids.size,
    burstLatencyMs: { p50: latency(50), p90: latency(90), max: latency(100) },
  };
}

/** Quiet latency: events at a fixed rate, publish time (data.sentAt) to arrival at the receiver. */
async function quietPaced(
  ctx: NoisyNeighbourContext,
  quiet: Tenant[],
  sink: QuietSink,
): Promise<Omit<QuietRun, 'perSec' | 'burstLatencyMs'>> {
  const total = CONFIG.noisyQuietRate * CONFIG.noisyQuietSeconds;
  const sends: Array<Promise<unknown>> = [];
  const start = Date.now();
  await paced(
    CONFIG.noisyQuietRate,
    (sent) => sent >= total,
    (count, firstSeq) => {
      const events = quietEvents(quiet, sink.type, Math.min(count, total - firstSeq), firstSeq);
      sends.push(publish(ctx.producer, ctx.topic, events));
    },
  );
  await Promise.all(sends);
  await settle(sink);
  const missing = sink.expected - sink.ids.size;
  const latencies = [...sink.latencies, ...Array.from({ length: missing }, () => Date.now() - start)];
  return { p50Ms: round(percentile(latencies, 50), 1), p99Ms: round(percentile(latencies, 99), 1), missing };
}

/** Waits until every expected delivery arrived, or none has for QUIET_STALL_MS; says which. */
async function settle(sink: QuietSink): Promise<boolean> {
  const deadline = Date.now() + CONFIG.drainTimeoutMs;
  let seen = sink.ids.size;
  let movedAt = Date.now();
  while (!sink.complete) {
    const now = Date.now();
    if (sink.ids.size !== seen) {
      seen = sink.ids.size;
      movedAt = now;
    }
    if (now - movedAt > QUIET_STALL_MS || now > deadline) {
      log(`noisy neighbour: ${sink.type} gave up at ${sink.ids.size} of ${sink.expected} quiet deliveries`);
      return false;
    }
    await sleep(20);
  }
  return true;
}

async function createNoisyEndpoints(noisy: Tenant, receivers: NoisyReceivers): Promise<string[]> {
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
function startNoise(
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
async function paced(
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

/** The service's own count of POST /v1/events refused for the ingest rate. */
async function ingestRejections(serviceUrl: string): Promise<number> {
  const text = await (await fetch(`${serviceUrl}/metrics`)).text();
  const match = /^hookstream_quota_rejections_total\{quota="ingest_rate"\} (\d+)/m.exec(text);
  return match ? Number(match[1]) : 0;
}

/** The service's counters that tell where the noise's cost went: outcomes, holding, pauses. */
const WORK_COUNTERS =
  /^(hookstream_deliveries_total|hookstream_held_released_total|hookstream_held_turned_away_total|hookstream_partition_pauses_total|hookstream_quota_rejections_total)(\{[^}]*\})? (\S+)$/gm;

async function serviceCounters(serviceUrl: string): Promise<Map<string, number>> {
  const text = await (await fetch(`${serviceUrl}/metrics`)).text();
  return new Map(
    [...text.matchAll(WORK_COUNTERS)].map(([, name, labels, value]) => [
      name + (labels ?? ''),
      Number(value),
    ]),
  );
}

function addDeltas(
  into: Record<string, number>,
  before: Map<string, number>,
  after: Map<string, number>,
): void {
  for (const [series, value] of after) {
    const delta = value - (before.get(series) ?? 0);
    if (delta) into[series] = (into[series] ?? 0) + delta;
  }
}

/** The limits as the service reports them (`hookstream_limit{name}`), proof of what was in force. */
async function reportedLimits(serviceUrl: string): Promise<Record<string, number>> {
  const text = await (await fetch(`${serviceUrl}/metrics`)).text();
  const limits: Record<string, number> = {};
  for (const [, name, value] of text.matchAll(/^hookstream_limit\{name="([^"]+)"\} (\S+)$/gm)) {
    limits[name] = Number(value);
  }
  return limits;
}
