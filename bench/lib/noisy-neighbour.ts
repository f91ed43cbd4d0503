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
 *
 * The quiet tenants' runs are in noisy-quiet.ts, the noisy tenant's receivers, endpoints and load
 * in noisy-load.ts, what is read from the service's /metrics in service-metrics.ts.
 */
import type { Producer } from 'kafkajs';
import type { Api } from './api';
import { CONFIG, QUICK } from './config';
import { NoisyTrace } from './noisy-trace';
import {
  createNoisyEndpoints,
  NOISY_ENDPOINTS,
  NOISY_MAX_CONCURRENCY,
  NoisyReceivers,
  SAME_ORIGIN,
  startNoise,
  type FloodCounts,
} from './noisy-load';
import {
  QUIET_ENDPOINTS_PER_TENANT,
  QUIET_STALL_MS,
  QUIET_TENANTS,
  quietBurst,
  quietPaced,
  QuietSink,
  warmQuiet,
  type QuietRun,
} from './noisy-quiet';
import { log, type Tenant } from './phases';
import type { Answer, Delivery, Receiver } from './receiver';
import { sleep, until } from './service';
import { addDeltas, ingestRejections, reportedLimits, serviceCounters } from './service-metrics';
import { round } from './stats';

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
const SLOW_ANSWER_MS = 1_500;
const FILL_TIMEOUT_MS = QUICK ? 3_000 : 10_000;
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

export async function noisyNeighbourPhase(ctx: NoisyNeighbourContext) {
  const noisyReceivers = new NoisyReceivers(ctx.receiver);
  const trace = NoisyTrace.fromEnv();
  try {
    return await runPhase(ctx, noisyReceivers, trace);
  } finally {
    trace?.stop();
    await noisyReceivers.stop();
  }
}

async function runPhase(ctx: NoisyNeighbourContext, noisyReceiver: NoisyReceivers, trace: NoisyTrace | null) {
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

  const quietRuns = async (): Promise<{
    burst: number;
    paced: QuietRun;
    sinks: QuietSink[];
    pacedTrace: Array<[number, number]>;
  }> => {
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
      pacedTrace: pacedSink.trace,
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
      trace?.write(round_, a.pacedTrace, w.pacedTrace);
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
