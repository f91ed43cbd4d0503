import { PublishError } from '../errors';
import type { RelayOptions } from './relay';

/** The relay process's settings, read once from the environment; a bad value names its variable. */
export function relayOptionsFromEnv(env: NodeJS.ProcessEnv): RelayOptions {
  const databaseUrl = env.OUTBOX_DATABASE_URL ?? env.DATABASE_URL;
  if (databaseUrl === undefined || databaseUrl === '') {
    throw new PublishError('invalid_config', 'OUTBOX_DATABASE_URL (or DATABASE_URL) is required', false);
  }
  const int = (name: string, fallback: number, min: number): number => {
    const raw = env[name];
    if (raw === undefined || raw === '') return fallback;
    const value = Number(raw);
    if (!Number.isInteger(value) || value < min) {
      throw new PublishError(
        'invalid_config',
        `${name} must be an integer of at least ${min}, got ${JSON.stringify(raw)}`,
        false,
      );
    }
    return value;
  };
  const metricsPort = env.OUTBOX_METRICS_PORT;
  return {
    databaseUrl,
    brokers: (env.KAFKA_BROKERS ?? '127.0.0.1:9092')
      .split(',')
      .map((broker) => broker.trim())
      .filter(Boolean),
    table: env.OUTBOX_TABLE || undefined,
    topic: env.OUTBOX_TOPIC || 'platform.events',
    batchSize: int('OUTBOX_BATCH_SIZE', 500, 1),
    tenantsPerBatch: int('OUTBOX_TENANTS_PER_BATCH', 64, 1),
    pollMs: int('OUTBOX_POLL_MS', 50, 1),
    retentionMs: int('OUTBOX_RETENTION_HOURS', 24, 0) * 3_600_000,
    metricsPort:
      metricsPort === undefined || metricsPort === '' ? undefined : int('OUTBOX_METRICS_PORT', 0, 0),
    metricsHost: env.OUTBOX_METRICS_HOST || undefined,
  };
}
