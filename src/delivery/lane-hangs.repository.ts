import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';

/**
 * The only owner of `endpoint_lane_hangs`: one row per endpoint whose lane hangs on the process
 * that owns it, written by that process (HangingLanes) and read by the fan-out of every process
 * (RemoteRefusals). Times are PostgreSQL's, so processes with skewed clocks agree on a row's age.
 */
@Injectable()
export class LaneHangsRepository {
  constructor(private readonly dataSource: DataSource) {}

  /** Marks these endpoints hanging for `forMs` from now and forgets `recovered`, in one statement each. */
  async save(hanging: string[], forMs: number, recovered: string[]): Promise<void> {
    if (hanging.length > 0) {
      // Only for endpoints that still exist: one deleted meanwhile has no row to keep.
      await this.dataSource.query(
        `INSERT INTO endpoint_lane_hangs (endpoint_id, hanging_until)
         SELECT e.id, now() + $2 * interval '1 millisecond'
           FROM endpoints e WHERE e.id = ANY($1::uuid[])
         ON CONFLICT (endpoint_id) DO UPDATE SET hanging_until = EXCLUDED.hanging_until`,
        [hanging, forMs],
      );
    }
    if (recovered.length > 0) {
      await this.dataSource.query(`DELETE FROM endpoint_lane_hangs WHERE endpoint_id = ANY($1::uuid[])`, [
        recovered,
      ]);
    }
  }

  /** The endpoints whose lane hangs now, each with how many more ms its owner vouched for. */
  async hanging(): Promise<Map<string, number>> {
    const rows = await this.dataSource.query<Array<{ endpoint_id: string; left_ms: string }>>(
      `SELECT endpoint_id, ceil(extract(epoch FROM hanging_until - now()) * 1000)::bigint AS left_ms
         FROM endpoint_lane_hangs WHERE hanging_until > now()`,
    );
    return new Map(rows.map((row) => [row.endpoint_id, Number(row.left_ms)]));
  }
}
