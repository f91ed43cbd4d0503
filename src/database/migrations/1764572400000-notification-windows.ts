import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Issue 17, operational notifications. `notification_windows`: one row per endpoint and tallied
 * notification type (`hookstream.endpoint.failing`, `hookstream.dead_letter.created`) with when
 * one was last sent and what has come since, claimed under a row lock so that every replica
 * together sends at most one per HOOKSTREAM_NOTIFICATION_INTERVAL (README decision 49). Deleted
 * with its endpoint. The partial index finds the rows whose pending tally is waiting for its turn.
 */
export class NotificationWindows1764572400000 implements MigrationInterface {
  name = 'NotificationWindows1764572400000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE notification_windows (
        endpoint_id uuid NOT NULL REFERENCES endpoints (id) ON DELETE CASCADE,
        type text NOT NULL,
        tenant_id uuid NOT NULL,
        sent_at timestamptz,
        pending jsonb,
        updated_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (endpoint_id, type)
      )`);
    await queryRunner.query(
      `CREATE INDEX notification_windows_pending ON notification_windows (sent_at) WHERE pending IS NOT NULL`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE notification_windows`);
  }
}
