import type { QueryRunner } from 'typeorm';

/**
 * Builds an index without blocking writes to its table (CREATE INDEX CONCURRENTLY), for a migration
 * run outside a transaction (`transaction = false`). A build an earlier run left invalid (it failed
 * or was interrupted) is dropped first, so running the migration again finishes the job.
 */
export async function createIndexConcurrently(
  queryRunner: QueryRunner,
  name: string,
  definition: string,
): Promise<void> {
  const [left] = (await queryRunner.query(
    `SELECT i.indisvalid AS valid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
      WHERE c.relname = $1 AND pg_table_is_visible(c.oid)`,
    [name],
  )) as Array<{ valid: boolean }>;
  if (left?.valid === true) return;
  if (left) await queryRunner.query(`DROP INDEX CONCURRENTLY IF EXISTS ${name}`);
  await queryRunner.query(`CREATE INDEX CONCURRENTLY ${name} ON ${definition}`);
}
