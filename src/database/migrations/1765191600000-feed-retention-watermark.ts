import type { MigrationInterface, QueryRunner } from 'typeorm';
import { createIndexConcurrently } from './concurrent-index';

/**
 * The events feed's retention and its restore into another cluster (README decision 98):
 * - `events_received_at_idx`: retention deletes by `received_at` alone. It took the oldest rows by
 *   seq and stopped at the first one not yet expired, so one row received with a clock in the
 *   future stalled it for good.
 * - `events_retention`: per tenant, the largest (txid, seq) retention deleted. A cursor behind it
 *   has lost events to retention, and its next page says so (`gap`).
 * - `events_feed_state`: the cluster whose transaction counter the feed's txids come from. A dump
 *   restored into another cluster carries txids far ahead of the new counter; the service finds the
 *   identifier changed at boot and moves those rows to txid 1 (EventsRepository.rehome).
 * The index is built CONCURRENTLY, outside a transaction: built in one, it blocked the feed's
 * inserts for the whole build, and the feed writer's buffer dropped rows meanwhile. Every step may
 * run again after a failed run.
 */
export class FeedRetentionWatermark1765191600000 implements MigrationInterface {
  name = 'FeedRetentionWatermark1765191600000';
  transaction = false;

  async up(queryRunner: QueryRunner): Promise<void> {
    await createIndexConcurrently(queryRunner, 'events_received_at_idx', 'events (received_at)');
    await queryRunner.query(`
      CREATE TABLE IF NOT EXISTS events_retention (
        tenant_id uuid PRIMARY KEY,
        txid xid8 NOT NULL,
        seq bigint NOT NULL
      )`);
    await queryRunner.query(`
      CREATE TABLE IF NOT EXISTS events_feed_state (
        singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
        system_identifier text NOT NULL
      )`);
    // A host that refuses pg_control_system() (some managed services) leaves it unrecorded: the
    // service then checks for a restore at each boot and says it could not (EventLog).
    await queryRunner.query(`
      DO $$ BEGIN
        INSERT INTO events_feed_state (system_identifier)
          SELECT system_identifier::text FROM pg_control_system()
          ON CONFLICT (singleton) DO NOTHING;
      EXCEPTION WHEN insufficient_privilege THEN NULL;
      END $$`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE events_feed_state`);
    await queryRunner.query(`DROP TABLE events_retention`);
    await queryRunner.query(`DROP INDEX IF EXISTS events_received_at_idx`);
  }
}
