import { hostname } from 'node:os';
import { usableCores } from './cpu-count';
import { parseDurationMs, parseSizeBytes } from './units';
import {
  boolean,
  durationAtLeast,
  durationAtMost,
  durationBetween,
  integer,
  oneOf,
  trustedProxies,
} from './config-values';
import { retryTierTopic } from './retry-tier-topic';
import { parseCidrList, type Cidr } from '../domain/egress/cidr';
import { readKafkaSecurity, type KafkaSecurity } from './kafka-security';
import { secretKeyProblems } from './production';
import { readOperatorTokens } from './operator-tokens';
import { parseTopicTenants, type TopicTenants } from '../domain/topic-tenants';
import { MAX_ENDPOINT_CONCURRENCY } from '../domain/endpoint-snapshot';

/** Everything the service reads from its environment, validated once at boot. */
export interface AppConfig {
  port: number;
  /** The address the HTTP server binds. */
  host: string;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  /** Admits every operator route (HOOKSTREAM_ADMIN_TOKEN). */
  adminToken: string;
  /** Older admin tokens admitted beside it, so a rolling restart can rotate it (HOOKSTREAM_ADMIN_TOKEN_PREVIOUS). */
  previousAdminTokens: string[];
  databaseUrl: string;
  runMigrations: boolean;
  /**
   * Longest a migration run waits for the lock another runner holds before it fails, naming the
   * holder (HOOKSTREAM_MIGRATION_LOCK_WAIT): the boot and `npm run migration:run` both.
   */
  migrationLockWaitMs: number;
  roles: ReadonlySet<Role>;
  /**
   * Processes `npm start` runs (HOOKSTREAM_WORKERS): with more than one, a supervisor forks this
   * many workers, each a full replica of `roles` sharing the listeners (src/cluster/workers.ts).
   */
  workers: number;
  /**
   * Of those workers, how many serve HTTP (HOOKSTREAM_HTTP_WORKERS; the first ones by index at the
   * start): the others only consume. 1 when `workers` is 1 (README decision 73).
   */
  httpWorkers: number;
  /** How this process names itself among the replicas (the ops views, logs); unique per run by a suffix. */
  replicaName: string;
  kafka: KafkaConfig;
  delivery: DeliveryConfig;
  security: SecurityConfig;
  limits: LimitsConfig;
  shutdownTimeoutMs: number;
  endpointCacheRefreshMs: number;
  /**
   * Longest the fan-out waits for one PostgreSQL call on a partition's path (an endpoint-change
   * marker's refresh, a hold, the lookup of a tenant not cached): a database that hangs rather than
   * refuses (a failover, dropped packets) must not stall the partition (HOOKSTREAM_FANOUT_DB_TIMEOUT).
   */
  fanoutDatabaseTimeoutMs: number;
  /** Full reload of the event catalogue's cache (change notices carry changes in between). */
  catalogueRefreshMs: number;
  attemptRetentionMs: number;
  /**
   * Dead letters (`dead_letters`) older than this are deleted, as the DLQ topic's records are
   * (28 days, src/kafka/topics.ts); each row holds the whole task.
   */
  deadLetterRetentionMs: number;
  /** How long `POST /v1/events` remembers a tenant's idempotency key (header or event id). */
  idempotencyWindowMs: number;
  events: EventsFeedConfig;
  replayJobs: ReplayJobsConfig;
  /**
   * Operational notifications to tenants (`hookstream.endpoint.failing`, `hookstream.dead_letter.created`):
   * at most one of each type per endpoint in this interval, across replicas (README decision 49).
   */
  notificationIntervalMs: number;
  ops: OpsConfig;
  portal: PortalConfig;
}

/** Where the ops routes (metrics, dashboard, docs, readiness, /v1/ops) are served (issue 19). */
export interface OpsConfig {
  /** Their own listener's port, or null: served on the public port. */
  port: number | null;
  host: string;
  /**
   * On the public port (no OPS_PORT): `admin` puts them behind the admin or the ops token, `none`
   * leaves them open (/v1/ops keeps its own guard either way).
   */
  auth: 'none' | 'admin';
  /**
   * The read-only ops credential, HOOKSTREAM_OPS_TOKEN then HOOKSTREAM_OPS_TOKEN_PREVIOUS (empty:
   * none): /metrics, /docs and the ops routes that change nothing and reveal no secret.
   */
  tokens: string[];
  /** How often the exporter re-reads the cluster-wide gauges kept in PostgreSQL; scrapes read the cache. */
  gaugeRefreshMs: number;
}

/** The tenant portal's sign-in links (`POST /v1/tenants/:id/portal-links`, README decision 50). */
export interface PortalConfig {
  /** How long a link works when the request names no expiry. */
  linkTtlMs: number;
  /** The longest expiry a request may ask for. */
  linkMaxTtlMs: number;
}

/** The replay-job runner of every api replica (README decision 51). */
export interface ReplayJobsConfig {
  /** Jobs one process runs at once (each of a different tenant). */
  perProcess: number;
  /** Input records read (or dead letters replayed) per chunk; progress is saved after each. */
  chunkRecords: number;
  /** How long a job's lease lasts unrenewed; a crashed runner's job is taken over after it. */
  leaseMs: number;
}

/** The events feed (`GET /v1/events`), written behind the fan-out (README decision 40). */
export interface EventsFeedConfig {
  /** Feed rows received longer ago than this are deleted. */
  retentionMs: number;
  /** Bytes of feed rows held unwritten while PostgreSQL is slow or down; past it the oldest are dropped. */
  bufferBytes: number;
  /**
   * Read the unencrypted feed cursors issued before they were sealed (README decision 98). Every
   * answer carries a sealed one, so once each client has polled (hookstream_events_feed_plain_cursors_total
   * stops growing) turn it off: a client can forge plain ones to probe the platform-wide counters.
   */
  acceptPlainCursors: boolean;
}

/** Quotas per tenant and bounds on what input can make the process hold (README Section B). */
export interface LimitsConfig {
  /** Endpoints one tenant may have. */
  maxEndpointsPerTenant: number;
  /** Events per second one tenant may publish over `POST /v1/events`, per instance. */
  tenantIngestRatePerSec: number;
  /** Events one tenant may publish at once before the rate applies. */
  tenantIngestBurst: number;
  /** Endpoint writes (create, change, delete, secret rotation) per second one tenant may make, per instance. */
  tenantEndpointWriteRatePerSec: number;
  /** Endpoint writes one tenant may make at once before that rate applies. */
  tenantEndpointWriteBurst: number;
  /** Concurrent HTTP attempts one tenant's endpoints may hold, of HOOKSTREAM_MAX_IN_FLIGHT. */
  tenantMaxInFlight: number;
  /** Longest wait for one DNS answer when dialling an endpoint. */
  dnsTimeoutMs: number;
  /** Longest a DNS answer is reused (shorter when the record's TTL says so). */
  dnsCacheTtlMs: number;
  /** Bytes of unwritten attempt-log rows held while PostgreSQL is slow or down. */
  attemptLogBufferBytes: number;
  /** Bytes of record values one consumer holds unfinished; a partition at most a quarter of it. */
  consumerBufferBytes: number;
  /** Bytes of published events this process holds waiting for Kafka; past it, 503 at once. */
  ingestBufferBytes: number;
  /** Longest a publish waits for Kafka's acknowledgement before it is answered 503. */
  ingestTimeoutMs: number;
}

/**
 * What a process runs: `api` the REST API (and the docs and demo pages), `fanout` the input topics'
 * consumer, `delivery` the consumer of the deliveries topic and every retry tier (one group, README
 * decision 36). The operator routes (/health, /metrics, /v1/ops, /dashboard) are served by every
 * process. `retry`, a role of its own before decision 36, is read as `delivery`.
 */
export type Role = 'api' | 'fanout' | 'delivery';
/** More workers than this on one machine is a mistake (a typo, or a count of something else). */
const MAX_WORKERS = 64;
const DAY_MS = 86_400_000;
const ALL_ROLES: Role[] = ['api', 'fanout', 'delivery'];
const LEGACY_ROLES: Record<string, Role> = { retry: 'delivery' };

export interface RetryTier {
  index: number;
  delayMs: number;
  topic: string;
  /** The consumer group the tier had before one group read every tier (its offsets are carried over once). */
  legacyGroupId: string;
}

/**
 * A tier an earlier HOOKSTREAM_RETRY_DELAYS named and this one does not, holding records the
 * delivery group has not read at boot: they are read on, each when due (README Section B).
 */
export type RetiredTier = Pick<RetryTier, 'topic' | 'delayMs'>;

export interface KafkaConfig extends KafkaSecurity {
  brokers: string[];
  clientId: string;
  namespace: string;
  inputTopics: string[];
  /** Which tenants each input topic may carry; null: any tenant on any topic (docs/security.md). */
  inputTopicTenants: TopicTenants | null;
  deliveriesTopic: string;
  dlqTopic: string;
  retryTiers: RetryTier[];
  fanoutGroupId: string;
  deliveryGroupId: string;
  inputPartitions: number;
  deliveryPartitions: number;
  replicationFactor: number;
  connectTimeoutMs: number;
}

export interface DeliveryConfig {
  timeoutMs: number;
  maxEventBytes: number;
  responseBodyLimitBytes: number;
  maxInFlight: number;
  partitionWindow: number;
  /** A lane that starts nothing for this long, all its slots busy, sheds its queue to a retry tier. */
  laneStallAfterMs: number;
  defaultMaxConcurrency: number;
  maxAttemptAgeMs: number;
  retryAfterCapMs: number;
  circuitFailureThreshold: number;
  circuitOpenMs: number;
  disableAfterMs: number;
}

export interface SecurityConfig {
  egressAllowlist: Cidr[];
  httpsOnly: boolean;
  secretKeys: string[];
  /**
   * Take delivery tasks that carry no MAC (written by replicas of a version before task MACs, during
   * a rolling upgrade). A task whose MAC does not verify is refused whatever this says.
   */
  acceptUnsealedTasks: boolean;
  /**
   * Take `hookstream.*` input events that carry no notification mark (published by replicas of a
   * version before the mark, during a rolling upgrade). A mark that does not verify is refused
   * whatever this says.
   */
  acceptUnmarkedNotifications: boolean;
  maxBodyBytes: number;
  /** NODE_ENV=production: demo values and weak credentials refused, HTTPS-only by default. */
  production: boolean;
  /** Failed authentications per client address, and per presented key, in each window. */
  authFailureLimit: number;
  authFailureWindowMs: number;
  /**
   * How long a resolved API key is trusted without asking PostgreSQL again: a key revoked on
   * another replica still works there for up to this long (0: look every key up every time).
   */
  apiKeyCacheTtlMs: number;
  /** Fastify's `trustProxy`: which proxies' X-Forwarded-For names the client; null trusts none. */
  trustProxy: string | null;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid environment:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

/** Reads and validates the environment; throws ConfigError naming every bad variable at once. */
export function loadConfig(env: Env = process.env): AppConfig {
  const problems: string[] = [];
  const read = <T>(name: string, fallback: string | undefined, parse: (raw: string) => T): T => {
    const raw = env[name] === undefined || env[name] === '' ? fallback : env[name];
    if (raw === undefined) {
      problems.push(`${name} is required`);
      return undefined as T;
    }
    try {
      return parse(raw);
    } catch (error) {
      problems.push(`${name}: ${(error as Error).message}`);
      return undefined as T;
    }
  };

  const namespace = read('HOOKSTREAM_TOPIC_NAMESPACE', 'hookstream', (raw) => {
    if (!/^[a-zA-Z0-9._-]{1,100}$/.test(raw))
      throw new Error(`"${raw}" may hold only letters, digits, . _ -`);
    return raw;
  });
  const retryDelays = read('HOOKSTREAM_RETRY_DELAYS', '5s,30s,2m,15m,1h,6h,12h', (raw) => {
    const delays = raw.split(',').map((part) => parseDurationMs(part));
    if (delays.some((ms) => ms <= 0)) throw new Error('every delay must be positive');
    return delays;
  });

  const production = read('NODE_ENV', '', (raw) => raw) === 'production';
  const inputTopics = read('HOOKSTREAM_INPUT_TOPICS', 'platform.events', (raw) =>
    raw.split(',').map((t) => t.trim()),
  );

  const workers = read('HOOKSTREAM_WORKERS', 'auto', (raw) =>
    raw.trim() === 'auto' ? usableCores() : integer(1, MAX_WORKERS)(raw),
  );

  const operatorTokens = readOperatorTokens(read, problems, production);

  const config: AppConfig = {
    port: read('PORT', '3000', integer(0, 65535)),
    host: read('HOST', '0.0.0.0', (raw) => raw),
    logLevel: read(
      'LOG_LEVEL',
      'info',
      oneOf(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const),
    ),
    adminToken: operatorTokens.adminToken,
    previousAdminTokens: operatorTokens.previousAdminTokens,
    databaseUrl: read('DATABASE_URL', 'postgres://hookstream:hookstream@127.0.0.1:5432/hookstream', (raw) => {
      const url = new URL(raw);
      if (!['postgres:', 'postgresql:'].includes(url.protocol)) throw new Error('must be a postgres:// URL');
      return raw;
    }),
    runMigrations: read('HOOKSTREAM_RUN_MIGRATIONS', 'true', boolean),
    migrationLockWaitMs: read('HOOKSTREAM_MIGRATION_LOCK_WAIT', '10m', durationBetween(1_000, DAY_MS)),
    roles: read('HOOKSTREAM_ROLES', ALL_ROLES.join(','), (raw) => {
      const roles = raw.split(',').map((role) => LEGACY_ROLES[role.trim()] ?? role.trim());
      const unknown = roles.filter((role) => !ALL_ROLES.includes(role));
      if (unknown.length)
        throw new Error(`unknown role(s) ${unknown.join(', ')}; use ${ALL_ROLES.join(', ')}`);
      return new Set(roles);
    }),
    workers,
    httpWorkers: read('HOOKSTREAM_HTTP_WORKERS', 'auto', (raw) => {
      if (raw.trim() === 'auto') return Math.ceil(workers / 2);
      return raw.trim() === 'all' ? workers : integer(1, workers ?? MAX_WORKERS)(raw);
    }),
    replicaName: read('HOOKSTREAM_REPLICA_NAME', hostname(), (raw) => {
      if (!/^[a-zA-Z0-9._-]{1,64}$/.test(raw))
        throw new Error(`"${raw}" may hold only letters, digits, . _ - (64 at most)`);
      return raw;
    }),
    kafka: {
      brokers: read('KAFKA_BROKERS', '127.0.0.1:9092', (raw) => {
        const brokers = raw.split(',').map((broker) => broker.trim());
        for (const broker of brokers) {
          if (!/^[^\s:]+:\d{1,5}$/.test(broker)) throw new Error(`"${broker}" is not host:port`);
        }
        return brokers;
      }),
      clientId: read('KAFKA_CLIENT_ID', 'hookstream', (raw) => raw),
      namespace,
      inputTopics,
      inputTopicTenants: read('HOOKSTREAM_INPUT_TOPIC_TENANTS', '', (raw) =>
        // Unchecked against a list that failed to parse: that problem is reported already.
        inputTopics === undefined ? null : parseTopicTenants(raw, inputTopics),
      ),
      deliveriesTopic: `${namespace}.deliveries`,
      dlqTopic: `${namespace}.dlq`,
      retryTiers: (retryDelays ?? []).map((delayMs, index) => ({
        index,
        delayMs,
        topic: retryTierTopic(namespace, index, delayMs),
        legacyGroupId: `${namespace}-retry-${index + 1}`,
      })),
      fanoutGroupId: `${namespace}-fanout`,
      deliveryGroupId: `${namespace}-delivery`,
      inputPartitions: read('HOOKSTREAM_INPUT_PARTITIONS', '6', integer(1, 10_000)),
      deliveryPartitions: read('HOOKSTREAM_DELIVERY_PARTITIONS', '12', integer(1, 10_000)),
      replicationFactor: read('HOOKSTREAM_REPLICATION_FACTOR', '1', integer(1, 10)),
      connectTimeoutMs: read('KAFKA_CONNECT_TIMEOUT', '10s', parseDurationMs),
      ...readKafkaSecurity(env, read, problems),
    },
    delivery: {
      timeoutMs: read('HOOKSTREAM_DELIVERY_TIMEOUT', '15s', parseDurationMs),
      maxEventBytes: read('HOOKSTREAM_MAX_EVENT_BYTES', '256KiB', parseSizeBytes),
      responseBodyLimitBytes: read('HOOKSTREAM_RESPONSE_BODY_LIMIT', '64KiB', parseSizeBytes),
      maxInFlight: read('HOOKSTREAM_MAX_IN_FLIGHT', '512', integer(1, 100_000)),
      partitionWindow: read('HOOKSTREAM_PARTITION_WINDOW', '1000', integer(1, 1_000_000)),
      laneStallAfterMs: read('HOOKSTREAM_LANE_STALL_AFTER', '1s', parseDurationMs),
      // At most what the API accepts, so an endpoint created with the default can be PATCHed with it.
      defaultMaxConcurrency: read(
        'HOOKSTREAM_ENDPOINT_MAX_CONCURRENCY',
        '1',
        integer(1, MAX_ENDPOINT_CONCURRENCY),
      ),
      maxAttemptAgeMs: read('HOOKSTREAM_MAX_ATTEMPT_AGE', '2d', parseDurationMs),
      retryAfterCapMs: read('HOOKSTREAM_RETRY_AFTER_CAP', '1h', parseDurationMs),
      // 10, not 5: an endpoint failing 30 % of requests at random runs 5 failures in a row about
      // every 590 attempts and 10 about every 240,000 (README, decision 21).
      circuitFailureThreshold: read('HOOKSTREAM_CIRCUIT_FAILURE_THRESHOLD', '10', integer(1, 10_000)),
      circuitOpenMs: read('HOOKSTREAM_CIRCUIT_OPEN_FOR', '30s', parseDurationMs),
      disableAfterMs: read('HOOKSTREAM_DISABLE_AFTER', '5d', parseDurationMs),
    },
    security: {
      egressAllowlist: read('HOOKSTREAM_EGRESS_ALLOWLIST', '', (raw) => parseCidrList(raw)),
      httpsOnly: read('HOOKSTREAM_HTTPS_ONLY', production ? 'true' : 'false', boolean),
      secretKeys: read('HOOKSTREAM_SECRET_KEY', undefined, (raw) => {
        const keys = [raw, ...(env.HOOKSTREAM_SECRET_KEY_PREVIOUS ?? '').split(',')].filter(
          (key) => key !== '',
        );
        if (keys.some((key) => key.length < 32)) throw new Error('each key must be at least 32 characters');
        return keys;
      }),
      acceptUnsealedTasks: read('HOOKSTREAM_ACCEPT_UNSEALED_TASKS', 'false', boolean),
      acceptUnmarkedNotifications: read('HOOKSTREAM_ACCEPT_UNMARKED_NOTIFICATIONS', 'false', boolean),
      maxBodyBytes: read('HOOKSTREAM_MAX_BODY_BYTES', '1MiB', parseSizeBytes),
      production,
      authFailureLimit: read('HOOKSTREAM_AUTH_FAILURE_LIMIT', '20', integer(1, 1_000_000)),
      authFailureWindowMs: read('HOOKSTREAM_AUTH_FAILURE_WINDOW', '1m', durationAtLeast(1_000)),
      apiKeyCacheTtlMs: read('HOOKSTREAM_API_KEY_CACHE_TTL', '30s', durationAtMost(5 * 60_000)),
      trustProxy: read('HOOKSTREAM_TRUST_PROXY', '', trustedProxies),
    },
    limits: {
      maxEndpointsPerTenant: read('HOOKSTREAM_MAX_ENDPOINTS_PER_TENANT', '100', integer(1, 1_000_000)),
      tenantIngestRatePerSec: read('HOOKSTREAM_TENANT_INGEST_RATE', '1000', integer(1, 10_000_000)),
      tenantIngestBurst: read(
        'HOOKSTREAM_TENANT_INGEST_BURST',
        env.HOOKSTREAM_TENANT_INGEST_RATE || '1000',
        integer(1, 10_000_000),
      ),
      tenantEndpointWriteRatePerSec: read('HOOKSTREAM_TENANT_ENDPOINT_WRITE_RATE', '10', integer(1, 100_000)),
      tenantEndpointWriteBurst: read('HOOKSTREAM_TENANT_ENDPOINT_WRITE_BURST', '100', integer(1, 100_000)),
      tenantMaxInFlight: read('HOOKSTREAM_TENANT_MAX_IN_FLIGHT', '128', integer(1, 100_000)),
      dnsTimeoutMs: read('HOOKSTREAM_DNS_TIMEOUT', '2s', durationAtLeast(100)),
      dnsCacheTtlMs: read('HOOKSTREAM_DNS_CACHE_TTL', '60s', durationAtLeast(1_000)),
      attemptLogBufferBytes: read('HOOKSTREAM_ATTEMPT_LOG_BUFFER', '16MiB', parseSizeBytes),
      consumerBufferBytes: read('HOOKSTREAM_CONSUMER_BUFFER', '8MiB', parseSizeBytes),
      ingestBufferBytes: read('HOOKSTREAM_INGEST_BUFFER', '32MiB', parseSizeBytes),
      // Below ABANDONED_CLAIM_AFTER_MS (src/domain/idempotency.ts): a keyed publish answered 503 is
      // still claimed by its write, so a retry waits (409) rather than publishing a copy.
      ingestTimeoutMs: read('HOOKSTREAM_INGEST_TIMEOUT', '30s', durationBetween(1_000, 50_000)),
    },
    shutdownTimeoutMs: read('HOOKSTREAM_SHUTDOWN_TIMEOUT', '10s', parseDurationMs),
    // Bounded both ways: Node runs a timer of 0 ms, or past 2^31-1 ms (about 24.8 days), after 1 ms,
    // which made "0s" or "30d" a full reload of every endpoint each millisecond.
    endpointCacheRefreshMs: read('HOOKSTREAM_ENDPOINT_CACHE_REFRESH', '30s', durationBetween(100, DAY_MS)),
    fanoutDatabaseTimeoutMs: read('HOOKSTREAM_FANOUT_DB_TIMEOUT', '5s', durationBetween(100, 5 * 60_000)),
    catalogueRefreshMs: read('HOOKSTREAM_CATALOGUE_REFRESH', '30s', durationBetween(1_000, DAY_MS)),
    attemptRetentionMs: read('HOOKSTREAM_ATTEMPT_RETENTION', '7d', parseDurationMs),
    deadLetterRetentionMs: read('HOOKSTREAM_DEAD_LETTER_RETENTION', '28d', durationAtLeast(1_000)),
    idempotencyWindowMs: read('HOOKSTREAM_IDEMPOTENCY_WINDOW', '24h', durationAtLeast(1_000)),
    events: {
      retentionMs: read('HOOKSTREAM_EVENTS_RETENTION', '7d', durationAtLeast(1_000)),
      bufferBytes: read('HOOKSTREAM_EVENTS_BUFFER', '16MiB', parseSizeBytes),
      acceptPlainCursors: read('HOOKSTREAM_ACCEPT_PLAIN_CURSORS', 'true', boolean),
    },
    ops: {
      port: read('OPS_PORT', '', (raw) => (raw === '' ? null : integer(0, 65535)(raw))),
      host: read('OPS_HOST', '127.0.0.1', (raw) => raw),
      auth: read('HOOKSTREAM_OPS_AUTH', production ? 'admin' : 'none', oneOf(['none', 'admin'] as const)),
      tokens: operatorTokens.opsTokens,
      gaugeRefreshMs: read('HOOKSTREAM_GAUGE_REFRESH', '15s', durationAtLeast(1_000)),
    },
    notificationIntervalMs: read('HOOKSTREAM_NOTIFICATION_INTERVAL', '15m', durationAtLeast(1_000)),
    portal: {
      linkTtlMs: read('HOOKSTREAM_PORTAL_LINK_TTL', '15m', durationAtLeast(10_000)),
      linkMaxTtlMs: read('HOOKSTREAM_PORTAL_LINK_MAX_TTL', '1h', durationAtLeast(10_000)),
    },
    replayJobs: {
      perProcess: read('HOOKSTREAM_REPLAY_JOBS_PER_PROCESS', '2', integer(0, 100)),
      chunkRecords: read('HOOKSTREAM_REPLAY_CHUNK', '1000', integer(1, 100_000)),
      leaseMs: read('HOOKSTREAM_REPLAY_JOB_LEASE', '30s', durationAtLeast(1_000)),
    },
  };
  if (production) problems.push(...secretKeyProblems(env.HOOKSTREAM_SECRET_KEY));

  if (config.portal.linkTtlMs > config.portal.linkMaxTtlMs) {
    problems.push('HOOKSTREAM_PORTAL_LINK_TTL must not be longer than HOOKSTREAM_PORTAL_LINK_MAX_TTL');
  }
  if (problems.length) throw new ConfigError(problems);
  return config;
}
