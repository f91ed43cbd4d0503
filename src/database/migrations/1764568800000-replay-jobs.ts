import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Issue 17 item 3, replay and backfill as jobs. `replay_jobs` (owner: src/replay `ReplayJobs`): one
 * row per window or dead-letter replay, with its progress and resume point, run by any api replica
 * that holds its lease. The partial unique index keeps at most one running job per tenant across
 * every replica (the per-tenant limit `replay_leases` kept before, which this replaces).
 * No foreign keys: a job outlives its endpoint as a record of what was replayed.
 */
export class ReplayJobs1764568800000 implements MigrationInterface {
  name = 'ReplayJobs1764568800000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE replay_jobs (
        id uuid PRIMARY KEY,
        tenant_id uuid NOT NULL,
        endpoint_id uuid NOT NULL,
        kind text NOT NULL CHECK (kind IN ('window', 'dead_letters')),
        since_at timestamptz,
        until_at timestamptz,
        up_to timestamptz,
        state text NOT NULL CHECK (state IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
        cancel_requested boolean NOT NULL DEFAULT false,
        read_count bigint NOT NULL DEFAULT 0,
        matched_count bigint NOT NULL DEFAULT 0,
        replayed_count bigint NOT NULL DEFAULT 0,
        resume_point jsonb NOT NULL,
        error text,
        claims integer NOT NULL DEFAULT 0,
        created_at timestamptz NOT NULL DEFAULT now(),
        started_at timestamptz,
        finished_at timestamptz,
        lease_holder text,
        lease_expires_at timestamptz
      )`);
    await queryRunner.query(
      `CREATE INDEX replay_jobs_tenant_page ON replay_jobs (tenant_id, created_at DESC, id DESC)`,
    );
    await queryRunner.query(
      `CREATE INDEX replay_jobs_runnable ON replay_jobs (created_at, id) WHERE state IN ('queued', 'running')`,
    );
    await queryRunner.query(
      `CREATE UNIQUE INDEX replay_jobs_one_running_per_tenant ON replay_jobs (tenant_id) WHERE state = 'running'`,
    );
    await queryRunner.query(`DROP TABLE replay_leases`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE replay_jobs`);
    await queryRunner.query(`
      CREATE TABLE replay_leases (
        tenant_id uuid PRIMARY KEY,
        holder text NOT NULL,
        expires_at timestamptz NOT NULL
      )`);
  }
}
