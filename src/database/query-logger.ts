import type { Logger as PinoLogger } from 'pino';
import type { Logger as TypeOrmLogger } from 'typeorm';

const MAX_QUERY_CHARS = 2000;
const MIN_SCRUBBED_CHARS = 4;

/**
 * TypeORM's log lines through pino, with no query parameter in them: parameters are rows' values
 * (ciphertexts, key hashes, tenants' own data) and a position says nothing of which is a secret, so
 * none is logged, only their count. PostgreSQL's own message can quote a value ("invalid input
 * syntax for type uuid: ..."), so every parameter's text is cut out of it too; `detail`, which
 * quotes whole keys, is dropped. The query text holds placeholders, not values.
 */
export class PinoQueryLogger implements TypeOrmLogger {
  constructor(private readonly logger: PinoLogger) {}

  logQuery(): void {
    // Every query at debug would be the hot path's volume; `logging: ['error']` never calls this.
  }

  logQueryError(error: string | Error, query: string, parameters?: unknown[]): void {
    this.logger.error(queryFailure(error, query, parameters), 'query failed');
  }

  logQuerySlow(time: number, query: string, parameters?: unknown[]): void {
    this.logger.warn(
      { durationMs: time, query: cut(query), parameterCount: parameters?.length ?? 0 },
      'slow query',
    );
  }

  logSchemaBuild(message: string): void {
    this.logger.debug({ component: 'typeorm' }, message);
  }

  logMigration(message: string): void {
    this.logger.info({ component: 'typeorm' }, message);
  }

  log(level: 'log' | 'info' | 'warn', message: unknown): void {
    this.logger[level === 'warn' ? 'warn' : 'info']({ component: 'typeorm' }, String(message));
  }
}

/** What a failed query's log line holds: the statement, the error's code and scrubbed message. */
export function queryFailure(
  error: string | Error,
  query: string,
  parameters: unknown[] = [],
): Record<string, unknown> {
  const driver = error instanceof Error ? (error as Error & { code?: unknown }) : null;
  return {
    component: 'typeorm',
    query: cut(query),
    parameterCount: parameters.length,
    error: {
      code: typeof driver?.code === 'string' ? driver.code : undefined,
      message: scrub(error instanceof Error ? error.message : String(error), parameters),
    },
  };
}

function scrub(message: string, parameters: unknown[]): string {
  let scrubbed = message;
  for (const parameter of parameters) {
    const text = parameterText(parameter);
    // Very short values (true, 1, 'a') would cut words out of the message and hide nothing.
    if (text !== null && text.length >= MIN_SCRUBBED_CHARS)
      scrubbed = scrubbed.split(text).join('[parameter]');
  }
  return scrubbed;
}

function parameterText(parameter: unknown): string | null {
  if (parameter === null || parameter === undefined) return null;
  if (typeof parameter === 'string') return parameter;
  if (Buffer.isBuffer(parameter)) return null;
  if (typeof parameter === 'object') {
    try {
      return JSON.stringify(parameter);
    } catch {
      return null;
    }
  }
  if (typeof parameter === 'number' || typeof parameter === 'boolean' || typeof parameter === 'bigint') {
    return String(parameter);
  }
  return null;
}

function cut(query: string): string {
  return query.length > MAX_QUERY_CHARS ? `${query.slice(0, MAX_QUERY_CHARS)}...` : query;
}
