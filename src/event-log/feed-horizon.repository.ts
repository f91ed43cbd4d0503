import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import type { HorizonHolder } from '../domain/feed-horizon';

/**
 * Which transaction holds the events feed's horizon back: of every session on the cluster holding
 * an xid (any database, any role) and every prepared transaction, the one with the oldest xid, so
 * the one the feed's `pg_snapshot_xmin` stops at. A read of pg_stat_activity, one row per session:
 * nothing here costs anything per event.
 */
@Injectable()
export class FeedHorizonRepository {
  constructor(private readonly dataSource: DataSource) {}

  async holder(): Promise<HorizonHolder | null> {
    const rows = await this.dataSource.query<
      Array<{ xid: string | null; age_seconds: number | null; read_at_seconds: number }>
    >(
      `SELECT h.xid::text AS xid,
              extract(epoch FROM now() - h.since)::float8 AS age_seconds,
              extract(epoch FROM now())::float8 AS read_at_seconds
         FROM (SELECT 1) AS one
         LEFT JOIN LATERAL (
           SELECT xid, since FROM (
             SELECT backend_xid AS xid, xact_start AS since FROM pg_stat_activity
              WHERE backend_xid IS NOT NULL
             UNION ALL
             SELECT transaction, prepared FROM pg_prepared_xacts) holders
            ORDER BY age(xid) DESC LIMIT 1) h ON true`,
    );
    const [row] = rows;
    if (row?.xid === null || row === undefined) return null;
    return { xid: row.xid, ageSeconds: row.age_seconds, readAtSeconds: row.read_at_seconds };
  }
}
