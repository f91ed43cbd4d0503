import type { DataSource } from 'typeorm';
import type { TaskSeal } from '../domain/task-seal';

/** The tables whose rows hold a sealed task that waits in PostgreSQL (strict parking, held deliveries). */
const TABLES = ['parked_deliveries', 'held_deliveries'] as const;
const PAGE = 500;

/** What resealing the waiting tasks came to, per table. */
export interface ResealTally {
  table: (typeof TABLES)[number];
  resealed: number;
  current: number;
  /** Rows whose task verifies under no configured key: released, each would be dead-lettered as task_unauthenticated. */
  unverified: string[];
}

/**
 * Seals every task waiting in PostgreSQL under the current key, so that a key rotation can retire
 * the previous key once this has run (a parked delivery can wait behind several blockers, each up
 * to HOOKSTREAM_MAX_ATTEMPT_AGE, far longer than a task in a retry tier). Each row is updated only
 * if it still holds the bytes read, so a row released or re-parked meanwhile is left to its new
 * state. `dryRun` counts without writing.
 */
export async function resealWaitingTasks(
  dataSource: DataSource,
  seal: Pick<TaskSeal, 'reseal'>,
  dryRun: boolean,
): Promise<ResealTally[]> {
  const tallies: ResealTally[] = [];
  for (const table of TABLES) {
    const tally: ResealTally = { table, resealed: 0, current: 0, unverified: [] };
    let after = '0';
    for (;;) {
      const rows = await dataSource.query<Array<{ id: string; task: Buffer }>>(
        `SELECT id::text AS id, task FROM ${table} WHERE id > $1 ORDER BY id LIMIT ${PAGE}`,
        [after],
      );
      if (rows.length === 0) break;
      after = rows[rows.length - 1].id;
      for (const row of rows) {
        let resealed: Buffer | null;
        try {
          resealed = seal.reseal(row.task);
        } catch {
          tally.unverified.push(row.id);
          continue;
        }
        if (resealed === null) {
          tally.current += 1;
          continue;
        }
        if (!dryRun) {
          await dataSource.query(`UPDATE ${table} SET task = $2 WHERE id = $1 AND task = $3`, [
            row.id,
            resealed,
            row.task,
          ]);
        }
        tally.resealed += 1;
      }
    }
    tallies.push(tally);
  }
  return tallies;
}
