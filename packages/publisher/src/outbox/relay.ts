import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Kafka, logLevel, type Producer } from 'kafkajs';
import { Pool } from 'pg';
import type { EventRecord } from '../cloud-event-builder';
import { createIdempotentProducer, sendRecords } from '../publisher';
import { outboxPayloadTextDdl, outboxTable, type OutboxTable } from './outbox-table';
import { relayClaimSql } from './relay-claim';
import { RelayMetrics, type OutboxBacklog } from './relay-metrics';

export interface RelayOptions {
  /** A pool on the platform service's database, or a connection string for the relay's own. */
  pool?: Pool;
  databaseUrl?: string;
  kafka?: Kafka;
  brokers?: string[];
  table?: string;
  topic?: string;
  /** Rows per claim (default 500). */
  batchSize?: number;
  /**
   * Most tenants per claim (default 64): the tenants with the oldest unsent rows that no other relay
   * holds, no more than the batch's rows cover.
   */
  tenantsPerBatch?: number;
  /** How long an idle relay waits before looking again (default 50 ms). */
  pollMs?: number;
  /** Sent rows older than this are deleted (default 24 h; 0 keeps them). */
  retentionMs?: number;
  retentionIntervalMs?: number;
  /** Serve GET /metrics on this port (0: any free port); absent: no HTTP server. */
  metricsPort?: number;
  /** The metrics server's address (default 0.0.0.0: scraped from outside the container). */
  metricsHost?: string;
  log?: (message: string) => void;
}

/**
 * Publishes committed outbox rows and marks them sent. Each claim is one transaction: lock the
 * tenants with the oldest unsent rows (transaction advisory locks, skipping tenants another relay
 * holds, and only as many tenants as the batch's rows cover: see relay-claim.ts), take their unsent
 * rows in sequence order FOR UPDATE SKIP LOCKED, produce them with acks=all,
 * mark them sent, commit. Several relays are safe at once: a tenant's rows go through one relay at
 * a time, in order. A crash before the commit leaves the rows unsent, so they are published again
 * (at least once, with the same event ids, which Hookstream and receivers deduplicate by).
 */
export class OutboxRelay {
  readonly metrics: RelayMetrics;
  private readonly pool: Pool;
  private readonly ownsPool: boolean;
  private readonly kafka: Kafka;
  private readonly table: OutboxTable;
  private readonly topic: string;
  private readonly claimSql: string;
  private producer: Producer | null = null;
  private running = false;
  private loop: Promise<void> | null = null;
  private wake: (() => void) | null = null;
  private server: Server | null = null;
  private lastRetention = 0;
  private payloadTypeChecked = false;

  constructor(private readonly options: RelayOptions) {
    this.ownsPool = options.pool === undefined;
    this.pool = options.pool ?? new Pool({ connectionString: options.databaseUrl, max: 2 });
    this.kafka =
      options.kafka ??
      new Kafka({
        clientId: 'hookstream-outbox-relay',
        brokers: options.brokers ?? ['127.0.0.1:9092'],
        logLevel: logLevel.NOTHING,
      });
    this.table = outboxTable(options.table);
    this.topic = options.topic ?? 'platform.events';
    this.claimSql = relayClaimSql(this.table);
    this.metrics = new RelayMetrics(() => this.backlog());
  }

  /** Starts the loop (and the metrics server when configured); resolves once it runs. */
  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    if (this.options.metricsPort !== undefined) await this.serveMetrics(this.options.metricsPort);
    this.loop = this.run();
  }

  /** Finishes the claim in progress, then stops. */
  async stop(): Promise<void> {
    this.running = false;
    this.wake?.();
    await this.loop;
    this.loop = null;
    await this.producer?.disconnect().catch(() => undefined);
    this.producer = null;
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    this.server = null;
    if (this.ownsPool) await this.pool.end();
  }

  /** The metrics server's port, once started with `metricsPort`. */
  metricsPort(): number | undefined {
    return (this.server?.address() as AddressInfo | null)?.port;
  }

  /** Claims, publishes and marks one batch; the number of rows published. */
  async publishBatch(): Promise<number> {
    const producer = await this.connectedProducer();
    const client = await this.pool.connect();
    let published = 0;
    try {
      await client.query('BEGIN');
      const { rows } = await client.query<{ sequence: string; tenant_id: string; payload: string }>(
        this.claimSql,
        [this.options.tenantsPerBatch ?? 64, this.options.batchSize ?? 500],
      );
      if (rows.length > 0) {
        const records: EventRecord[] = rows.map((row) => ({
          key: row.tenant_id,
          value: Buffer.from(row.payload, 'utf8'),
          headers: { 'content-type': 'application/cloudevents+json' },
        }));
        await sendRecords(producer, this.topic, records);
        await client.query(
          `UPDATE ${this.table.sql} SET sent_at = clock_timestamp() WHERE sequence = ANY($1::bigint[])`,
          [rows.map((row) => row.sequence)],
        );
        published = rows.length;
      }
      await client.query('COMMIT');
      this.metrics.published.inc(published);
      return published;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  }

  /** Deletes sent rows past the retention, in slices; the number deleted. */
  async applyRetention(): Promise<number> {
    const retentionMs = this.options.retentionMs ?? 24 * 3_600_000;
    if (retentionMs <= 0) return 0;
    let deleted = 0;
    for (;;) {
      const result = await this.pool.query(
        `DELETE FROM ${this.table.sql} WHERE sequence IN (
           SELECT sequence FROM ${this.table.sql}
           WHERE sent_at IS NOT NULL AND sent_at < clock_timestamp() - $1::bigint * interval '1 millisecond' LIMIT 5000)`,
        [retentionMs],
      );
      deleted += result.rowCount ?? 0;
      if ((result.rowCount ?? 0) < 5000) break;
    }
    this.metrics.retained.inc(deleted);
    return deleted;
  }

  async backlog(): Promise<OutboxBacklog> {
    const { rows } = await this.pool.query<{ unsent: number; age: number | null }>(
      `SELECT count(*)::int AS unsent, extract(epoch FROM clock_timestamp() - min(created_at))::float8 AS age
       FROM ${this.table.sql} WHERE sent_at IS NULL`,
    );
    return { unsent: rows[0].unsent, oldestUnsentAgeSeconds: Math.max(0, rows[0].age ?? 0) };
  }

  private async run(): Promise<void> {
    let failures = 0;
    while (this.running) {
      try {
        if (!this.payloadTypeChecked) await this.warnIfPayloadJsonb();
        const published = await this.publishBatch();
        await this.maybeApplyRetention();
        failures = 0;
        if (published < (this.options.batchSize ?? 500)) await this.idle(this.options.pollMs ?? 50);
      } catch (error) {
        failures += 1;
        this.metrics.failures.inc();
        this.options.log?.(
          `outbox relay: ${error instanceof Error ? error.message : String(error)}; retrying`,
        );
        // A fresh producer after a failed send: a new producer id, no sequence numbers left over.
        await this.producer?.disconnect().catch(() => undefined);
        this.producer = null;
        await this.idle(Math.min(5_000, 250 * 2 ** Math.min(failures, 5)));
      }
    }
  }

  /** Once per relay: a `payload jsonb` table changes what is sent, so the operator should hear of it. */
  private async warnIfPayloadJsonb(): Promise<void> {
    const { rows } = await this.pool.query<{ type: string }>(
      `SELECT format_type(atttypid, atttypmod) AS type FROM pg_attribute
       WHERE attrelid = $1::regclass AND attname = 'payload' AND NOT attisdropped`,
      [this.table.sql],
    );
    this.payloadTypeChecked = true;
    if (rows[0]?.type === 'jsonb') {
      this.options.log?.(
        `outbox relay: ${this.table.sql}.payload is jsonb, so events are sent as PostgreSQL renders them ` +
          `(keys reordered, numbers rewritten) and events holding \\u0000 cannot be enqueued; ` +
          `run: ${outboxPayloadTextDdl(this.options.table)[0]}`,
      );
    }
  }

  private async maybeApplyRetention(): Promise<void> {
    const now = Date.now();
    if (now - this.lastRetention < (this.options.retentionIntervalMs ?? 60_000)) return;
    this.lastRetention = now;
    await this.applyRetention();
  }

  /** Waits `ms`, or less when stop() wakes it. */
  private idle(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wake = null;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wake = done;
    });
  }

  private async connectedProducer(): Promise<Producer> {
    if (this.producer === null) {
      const producer = createIdempotentProducer(this.kafka);
      await producer.connect();
      this.producer = producer;
    }
    return this.producer;
  }

  private async serveMetrics(port: number): Promise<void> {
    const registry = this.metrics.registry;
    this.server = createServer((req, res) => {
      if (req.url !== '/metrics') return void res.writeHead(404).end();
      registry
        .metrics()
        .then((text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text))
        .catch((error: Error) => res.writeHead(500).end(error.message));
    });
    await new Promise<void>((resolve) =>
      this.server!.listen(port, this.options.metricsHost ?? '0.0.0.0', resolve),
    );
  }
}
