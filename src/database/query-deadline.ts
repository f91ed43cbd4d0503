import type { DataSource, EntityManager } from 'typeorm';

/**
 * When the caller of a query stops waiting for it, on the monotonic clock (`performance.now()`
 * ms); null: it waits as long as PostgreSQL takes.
 */
export type QueryDeadline = number | null;

/** The deadline `ms` from now. */
export function deadlineIn(ms: number): number {
  return performance.now() + ms;
}

/**
 * The deadline of one query that answers several callers (a batched or coalesced read, a group
 * commit): it is given up only once none of them waits, so none if one of them has none, else
 * the latest of theirs.
 */
export function sharedDeadline(deadlines: Iterable<QueryDeadline>): QueryDeadline {
  let latest = Number.NEGATIVE_INFINITY;
  for (const deadline of deadlines) {
    if (deadline === null) return null;
    latest = Math.max(latest, deadline);
  }
  return latest === Number.NEGATIVE_INFINITY ? null : latest;
}

export class QueryDeadlinePassed extends Error {
  constructor() {
    super('the deadline passed before a connection was free; the query was not sent');
    this.name = 'QueryDeadlinePassed';
  }
}

/** What a pooled pg client exposes of its socket (the pool ends a connect that takes too long the same way). */
interface PgClientSocket {
  connection: { stream: { destroy(): void } };
}

/**
 * Runs `work` on a connection of its own that is destroyed once `deadline` passes: a query PostgreSQL
 * does not answer (a failover, dropped packets) gives its pool slot back at the deadline instead of
 * when TCP keepalive finds the connection dead, minutes later. pg errors the query ("Connection
 * terminated unexpectedly"), TypeORM releases the client with that error and the pool drops it; the
 * server rolls back what was uncommitted once it sees the connection closed. With no deadline,
 * `work` runs on the data source's manager, as any query does.
 */
export async function beforeDeadline<T>(
  dataSource: DataSource,
  deadline: QueryDeadline,
  work: (manager: EntityManager) => Promise<T>,
): Promise<T> {
  if (deadline === null) return work(dataSource.manager);
  const runner = dataSource.createQueryRunner();
  try {
    // Waits for a pool slot (bounded by the pool's connectionTimeoutMillis): past the deadline
    // nobody waits for the answer, so nothing is sent and the connection goes back unharmed.
    const client = (await runner.connect()) as PgClientSocket;
    const left = deadline - performance.now();
    if (left <= 0) throw new QueryDeadlinePassed();
    const timer = setTimeout(() => client.connection.stream.destroy(), left);
    try {
      return await work(runner.manager);
    } finally {
      clearTimeout(timer);
    }
  } finally {
    await runner.release();
  }
}
