import type { MigrationInterface, QueryRunner } from 'typeorm';

/** The attempt log (written in batches off the hot path) and dead letters (mirrored from the DLQ topic). */
export class DeliveryState1764540000000 implements MigrationInterface {
  name = 'DeliveryState1764540000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE delivery_attempts (
        id bigserial PRIMARY KEY,
        endpoint_id uuid NOT NULL,
        tenant_id uuid NOT NULL,
        event_id text NOT NULL,
        delivery_id uuid NOT NULL,
        attempt integer NOT NULL,
        status_code integer,
        error text,
        outcome text NOT NULL,
        latency_ms integer NOT NULL,
        response_body text,
        attempted_at timestamptz NOT NULL
      )`);
    // No foreign key: attempts of a deleted endpoint are kept until retention removes them.
    await queryRunner.query(
      `CREATE INDEX delivery_attempts_endpoint_idx ON delivery_attempts (endpoint_id, attempted_at DESC, id DESC)`,
    );
    await queryRunner.query(`CREATE INDEX delivery_attempts_time_idx ON delivery_attempts (attempted_at)`);
    await queryRunner.query(`
      CREATE TABLE dead_letters (
        id uuid PRIMARY KEY,
        tenant_id uuid,
        endpoint_id uuid,
        delivery_id uuid,
        event_id text,
        event_type text,
        reason text NOT NULL,
        last_error text,
        attempts integer NOT NULL DEFAULT 0,
        dlq_topic text NOT NULL,
        dlq_partition integer NOT NULL,
        dlq_offset bigint NOT NULL,
        task jsonb,
        replayed_at timestamptz,
        created_at timestamptz NOT NULL DEFAULT now(),
        UNIQUE (dlq_topic, dlq_partition, dlq_offset)
      )`);
    await queryRunner.query(
      `CREATE INDEX dead_letters_tenant_idx ON dead_letters (tenant_id, endpoint_id, created_at DESC, id DESC)`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE dead_letters`);
    await queryRunner.query(`DROP TABLE delivery_attempts`);
  }
}
