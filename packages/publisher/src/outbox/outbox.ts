import { buildCloudEvent, type BuildOptions } from '../cloud-event-builder';
import type { PlatformEvent } from '../contract';
import { PublishError } from '../errors';
import type { EventInput, EventMap } from '../event-types';
import {
  DEFAULT_OUTBOX_TABLE,
  outboxTable,
  WRITER_LOCK_KEY,
  type OutboxTable,
  type SqlExecutor,
} from './outbox-table';

export interface OutboxOptions extends Omit<BuildOptions, 'mode'> {
  /** `name` or `schema.name` (default `hookstream_outbox`). */
  table?: string;
  /** Hookstream's input topic, stored as `aggregatetype` so Debezium's router can route by it. */
  topic?: string;
  /**
   * Take a per-tenant transaction lock before the row gets its sequence number (default true):
   * concurrent transactions of one tenant then commit in sequence order, so the relay never sees
   * a later row before an earlier one commits. Off: order per tenant only holds if the service
   * already writes one tenant from one transaction at a time.
   */
  orderPerTenant?: boolean;
}

/** Writes events into the outbox table inside the caller's transaction; the relay publishes them. */
export class Outbox<M extends EventMap> {
  private readonly table: OutboxTable;
  private readonly insertSql: string;
  private readonly topic: string;

  constructor(private readonly options: OutboxOptions) {
    this.table = outboxTable(options.table);
    this.topic = options.topic ?? 'platform.events';
    const lock =
      options.orderPerTenant === false
        ? ''
        : `, (SELECT pg_advisory_xact_lock(${WRITER_LOCK_KEY}, hashtext($2))) AS ordering`;
    // $5 has no cast: PostgreSQL types it as the column, `text`, or `jsonb` in a table created by
    // an earlier version of this library, so one statement serves both.
    this.insertSql = `INSERT INTO ${this.table.sql} (id, tenant_id, aggregatetype, aggregateid, type, payload)
      SELECT $1, $2, $3, $2, $4, $5 FROM (SELECT 1) AS one${lock}
      RETURNING sequence`;
  }

  /**
   * Validates `event` against Hookstream's contract (throws InvalidEventError) and inserts it with
   * `tx`: a TypeORM EntityManager or QueryRunner inside a transaction, or a pg client after BEGIN.
   * Throws PublishError `not_in_transaction` if `tx` is not in a transaction, because the event
   * would then be committed whether or not the caller's change is.
   */
  async enqueue(tx: SqlExecutor, event: EventInput<M>): Promise<PlatformEvent> {
    if (!inTransaction(tx)) {
      throw new PublishError(
        'not_in_transaction',
        'outbox.enqueue needs the transaction of the change it announces (BEGIN first, or pass the transactional EntityManager)',
        false,
      );
    }
    const built = buildCloudEvent(event, { ...this.options, mode: 'structured' });
    try {
      await tx.query(this.insertSql, [
        built.event.id,
        built.event.tenantId,
        this.topic,
        built.event.type,
        built.record.value.toString('utf8'),
      ]);
    } catch (error) {
      throw jsonbPayloadError(error, this.options.table) ?? error;
    }
    return built.event;
  }
}

/**
 * A `payload jsonb` column (a table created by an earlier version of this library) refuses valid
 * JSON that holds `\u0000` (22P05) or a lone surrogate (22P02); a `text` column never raises
 * either. Named, so the operator learns which migration lets such events through.
 */
function jsonbPayloadError(error: unknown, table: string | undefined): PublishError | null {
  const code = (error as { code?: unknown } | null)?.code;
  if (code !== '22P05' && code !== '22P02') return null;
  const name = table ?? DEFAULT_OUTBOX_TABLE;
  return new PublishError(
    'invalid_config',
    `the payload column of outbox table ${name} is jsonb, which cannot hold this event ` +
      `(${(error as Error).message}); convert it to text with outboxPayloadTextDdl(${JSON.stringify(name)})`,
    false,
    { cause: error },
  );
}

/**
 * Whether `tx` is inside a transaction, as far as its client can tell without a round trip: a pg
 * client reports the status of its last ReadyForQuery ('T'), TypeORM its query runner's flag.
 * An executor that tells neither is trusted.
 */
export function inTransaction(tx: SqlExecutor): boolean {
  const candidate = tx as {
    getTransactionStatus?: () => string | null;
    isTransactionActive?: boolean;
    queryRunner?: { isTransactionActive?: boolean };
    connection?: unknown;
  };
  if (typeof candidate.getTransactionStatus === 'function') return candidate.getTransactionStatus() === 'T';
  if (typeof candidate.isTransactionActive === 'boolean') return candidate.isTransactionActive;
  // A TypeORM EntityManager: the transactional one has a query runner in a transaction.
  if ('queryRunner' in candidate || 'connection' in candidate)
    return candidate.queryRunner?.isTransactionActive === true;
  return true;
}
