import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Issue 17: the events feed. Every event the fan-out accepts for a known tenant, written behind in
 * batches (README decision 40). The feed is read oldest first by (txid, seq): `txid` is the
 * inserting transaction's id, and a reader only returns rows whose transaction is older than every
 * one still running, so a row can never appear behind a cursor a client already holds (a bigserial
 * alone can: ids are taken at insert and committed out of order across replicas).
 * `data` is the bytes of the event's data as delivered, never jsonb (it refuses some valid JSON).
 * Also an index on the attempt log and the dead letters by event, for `GET /v1/events/:id`.
 */
export class EventsFeed1764565200000 implements MigrationInterface {
  name = 'EventsFeed1764565200000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE events (
        seq bigserial PRIMARY KEY,
        txid xid8 NOT NULL DEFAULT pg_current_xact_id(),
        tenant_id uuid NOT NULL,
        event_id text NOT NULL,
        type text NOT NULL,
        source text NOT NULL,
        subject text,
        time text NOT NULL,
        received_at timestamptz NOT NULL,
        data bytea,
        UNIQUE (tenant_id, event_id)
      )`);
    await queryRunner.query(`CREATE INDEX events_feed_idx ON events (tenant_id, txid, seq)`);
    await queryRunner.query(`CREATE INDEX events_received_idx ON events (tenant_id, received_at)`);
    await queryRunner.query(
      `CREATE INDEX delivery_attempts_event_idx ON delivery_attempts (tenant_id, event_id)`,
    );
    await queryRunner.query(`CREATE INDEX dead_letters_event_idx ON dead_letters (tenant_id, event_id)`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX dead_letters_event_idx`);
    await queryRunner.query(`DROP INDEX delivery_attempts_event_idx`);
    await queryRunner.query(`DROP TABLE events`);
  }
}
