import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Issue 16, many replicas. `replicas`: every running process, its heartbeat and what it reports of
 * itself (the ops views list them all). `delivery_partitions`: which replica owns each partition
 * index of the delivery consumer group, and whether it has released it, so a partition moves
 * between replicas without two of them attempting its endpoints at once. `endpoint_health`: the
 * failing streak and circuit of each failing endpoint, so the replica that takes an endpoint over,
 * or the same one after a restart, goes on from there (README decisions 36 and 37).
 */
export class ReplicasAndEndpointHealth1764558000000 implements MigrationInterface {
  name = 'ReplicasAndEndpointHealth1764558000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE replicas (
        id text PRIMARY KEY,
        host text NOT NULL,
        pid integer NOT NULL,
        roles text[] NOT NULL,
        started_at timestamptz NOT NULL DEFAULT now(),
        heartbeat_at timestamptz NOT NULL DEFAULT now(),
        status jsonb NOT NULL DEFAULT '{}'
      )`);
    await queryRunner.query(`
      CREATE TABLE delivery_partitions (
        consumer_group text NOT NULL,
        partition integer NOT NULL,
        owner text NOT NULL,
        released boolean NOT NULL DEFAULT false,
        changed_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (consumer_group, partition)
      )`);
    await queryRunner.query(`
      CREATE TABLE endpoint_health (
        endpoint_id uuid PRIMARY KEY REFERENCES endpoints (id) ON DELETE CASCADE,
        consecutive_failures integer NOT NULL,
        failing_since timestamptz NOT NULL,
        last_failure_at timestamptz NOT NULL,
        circuit_opened_at timestamptz,
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE endpoint_health`);
    await queryRunner.query(`DROP TABLE delivery_partitions`);
    await queryRunner.query(`DROP TABLE replicas`);
  }
}
