import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { decideWindow, type Tally, type TalliedType } from '../../domain/notifications';

/** One endpoint's window for one tallied notification type. */
export interface WindowKey {
  endpointId: string;
  tenantId: string;
  type: TalliedType;
}

type WindowRow = { sent_at: Date | null; pending: Tally | null };

/**
 * The only owner of `notification_windows`. A window is changed under its row lock, and a due
 * tally is published while the lock is held: a replica that claims a window sends, the others
 * wait and then find it sent, so every replica together sends at most one notification per
 * endpoint, type and interval (README decision 49). A publish that fails rolls the claim back,
 * so its tally stays pending for the next try.
 */
@Injectable()
export class NotificationWindows {
  constructor(private readonly dataSource: DataSource) {}

  /**
   * Adds `added` (null: nothing new) to the window and, if it is due, hands everything pending to
   * `publish`. Resolves with what was published, or null (not due, nothing pending, or the
   * endpoint no longer exists).
   */
  settle(
    key: WindowKey,
    added: Tally | null,
    nowMs: number,
    intervalMs: number,
    publish: (tally: Tally) => Promise<void>,
  ): Promise<Tally | null> {
    return this.dataSource.transaction(async (manager) => {
      // Only for an endpoint that still exists: a deleted one's tally has no one to tell.
      await manager.query(
        `INSERT INTO notification_windows (endpoint_id, type, tenant_id)
         SELECT id, $2, tenant_id FROM endpoints WHERE id = $1
         ON CONFLICT (endpoint_id, type) DO NOTHING`,
        [key.endpointId, key.type],
      );
      const rows = await manager.query<WindowRow[]>(
        `SELECT sent_at, pending FROM notification_windows WHERE endpoint_id = $1 AND type = $2 FOR UPDATE`,
        [key.endpointId, key.type],
      );
      if (rows.length === 0) return null;
      const window = { sentAtMs: rows[0].sent_at?.getTime() ?? null, pending: rows[0].pending };
      const decision = decideWindow(window, added, nowMs, intervalMs);
      if (decision.send === null && added === null) return null;
      if (decision.send !== null) await publish(decision.send);
      await manager.query(
        `UPDATE notification_windows
            SET sent_at = to_timestamp($3::bigint / 1000.0), pending = $4::jsonb, updated_at = now()
          WHERE endpoint_id = $1 AND type = $2`,
        [
          key.endpointId,
          key.type,
          decision.next.sentAtMs,
          decision.next.pending === null ? null : JSON.stringify(decision.next.pending),
        ],
      );
      return decision.send;
    });
  }

  /** Windows whose pending tally may go out now (its interval has passed since the last one). */
  async due(nowMs: number, intervalMs: number, limit: number): Promise<WindowKey[]> {
    const rows = await this.dataSource.query<{ endpoint_id: string; tenant_id: string; type: TalliedType }[]>(
      `SELECT endpoint_id, tenant_id, type FROM notification_windows
        WHERE pending IS NOT NULL AND sent_at <= to_timestamp($1::bigint / 1000.0)
        ORDER BY sent_at LIMIT $2`,
      [nowMs - intervalMs, limit],
    );
    return rows.map((row) => ({ endpointId: row.endpoint_id, tenantId: row.tenant_id, type: row.type }));
  }
}
