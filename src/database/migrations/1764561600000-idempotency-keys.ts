import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Issue 17, durable idempotency on ingest. `idempotency_keys`: one row per tenant and key
 * (`Idempotency-Key` header, else the event id) claimed by `POST /v1/events` within
 * HOOKSTREAM_IDEMPOTENCY_WINDOW, with the event id it was answered with and a hash of the body.
 * No foreign key to `tenants`: it would take a KEY SHARE lock on the tenant's row on every POST.
 * The `created_at` index makes the periodic sweep of expired rows an index range scan.
 */
export class IdempotencyKeys1764561600000 implements MigrationInterface {
  name = 'IdempotencyKeys1764561600000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE idempotency_keys (
        tenant_id uuid NOT NULL,
        key text NOT NULL,
        event_id text NOT NULL,
        body_hash text NOT NULL,
        state text NOT NULL CHECK (state IN ('pending', 'published', 'failed')),
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (tenant_id, key)
      )`);
    await queryRunner.query(`CREATE INDEX idempotency_keys_created_at ON idempotency_keys (created_at)`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE idempotency_keys`);
  }
}
