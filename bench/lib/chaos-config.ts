/**
 * The settings of bench/chaos.ts (CHAOS_* environment variables, smoke or full defaults) and the
 * normal tenants' endpoints it publishes to: what each subscribes to, fails and orders.
 */

export const SMOKE = process.env.CHAOS_SMOKE === '1';
const num = (name: string, full: number, smoke: number): number =>
  process.env[name] ? Number(process.env[name]) : SMOKE ? smoke : full;

export const CONFIG = {
  events: num('CHAOS_EVENTS', 20_000, 500),
  rate: num('CHAOS_RATE', 200, 100),
  kills: num('CHAOS_KILLS', 4, 1),
  brokerRestart: num('CHAOS_BROKER_RESTART', 1, 0) > 0,
  pgPauseS: num('CHAOS_PG_PAUSE_S', 30, 3),
  flakyFailRate: num('CHAOS_FLAKY_RATE', 0.3, 0.3),
  strictFailRate: num('CHAOS_STRICT_FAIL_RATE', 0.1, 0.1),
  /** Every strictEvery-th event of tenant A is of type chaos.strict (the strict endpoint's events). */
  strictEvery: num('CHAOS_STRICT_EVERY', 20, 5),
  /** Ordering keys (partitionkey) the chaos.strict events spread over; /a/strict-keyed orders per key. */
  strictKeys: num('CHAOS_STRICT_KEYS', 8, 4),
  /** Seconds into the broker's outage at which the service is SIGKILLed (when kills allow). */
  killInOutageAfterS: num('CHAOS_KILL_IN_OUTAGE_AFTER_S', 5, 5),
  drainTimeoutS: num('CHAOS_DRAIN_TIMEOUT_S', 900, 60),
  stallS: num('CHAOS_STALL_S', 180, 45),
  timeLimitS: num('CHAOS_TIME_LIMIT_S', 1800, 170),
  /** Rounds of hostile records, spread over the publishing; each sends one record of every kind. */
  hostileRounds: num('CHAOS_HOSTILE_ROUNDS', 20, 3),
  /** The hostile tenant's burst of small events per round, past HOSTILE_INGEST_RATE. */
  hostileFlood: num('CHAOS_HOSTILE_FLOOD', 40, 40),
};

/**
 * Events a second one tenant may publish over REST (HOOKSTREAM_TENANT_INGEST_RATE, and the burst):
 * low, so the hostile tenant's flood meets it. The normal tenants publish to Kafka, unaffected.
 */
export const HOSTILE_INGEST_RATE = 20;

export interface EndpointSpec {
  path: string;
  tenant: 'a' | 'b';
  eventTypes: string[];
  failRate: number;
  ordering: 'none' | 'strict';
  /** Above 1 with ordering keys: order is per key (src/domain/ordering-key.ts). */
  maxConcurrency?: number;
}

/** The ordering key of a chaos.strict event, from its seq (the receiver's ledger recomputes it). */
export function strictKeyOf(seq: number): string {
  return `k${Math.floor(seq / 2) % CONFIG.strictKeys}`;
}

export const ENDPOINTS: EndpointSpec[] = [
  { path: '/a/steady', tenant: 'a', eventTypes: ['*'], failRate: 0, ordering: 'none' },
  { path: '/a/flaky', tenant: 'a', eventTypes: ['*'], failRate: CONFIG.flakyFailRate, ordering: 'none' },
  {
    path: '/a/flaky-x',
    tenant: 'a',
    eventTypes: ['chaos.x'],
    failRate: CONFIG.flakyFailRate,
    ordering: 'none',
  },
  {
    path: '/a/strict',
    tenant: 'a',
    eventTypes: ['chaos.strict'],
    failRate: CONFIG.strictFailRate,
    ordering: 'strict',
  },
  {
    path: '/a/strict-keyed',
    tenant: 'a',
    eventTypes: ['chaos.strict'],
    failRate: CONFIG.strictFailRate,
    ordering: 'strict',
    maxConcurrency: 4,
  },
  { path: '/b/steady', tenant: 'b', eventTypes: ['*'], failRate: 0, ordering: 'none' },
  { path: '/b/flaky', tenant: 'b', eventTypes: ['*'], failRate: CONFIG.flakyFailRate, ordering: 'none' },
];

export function matches(spec: EndpointSpec, type: string): boolean {
  return spec.eventTypes.some((t) => t === '*' || t === type);
}
