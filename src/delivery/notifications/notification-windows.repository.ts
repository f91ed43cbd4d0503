import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import { decideWindow, mergeTallies, type Tally, type TalliedType } from '../../domain/notifications';

/** One endpoint's window for one tallied notification type. */
export interface WindowKey {
  endpointId: string;
  tenantId: string;
  type: TalliedType;
}

/**
 * How long a settle's claim on a due window lasts. Past it (its process died, or the publish still
 * runs) another settle takes the claim over and sends the same notification again: a duplicate
 * with the same event id, never none. Well above a Kafka write that retries (about 30 s), so a slow
 * one is not doubled.
 */
export const WINDOW_CLAIM_LEASE_MS = 120_000;

/**
 * A settle failed after the window took its `added` in: the window keeps it (pending again, or in
 * a claim that another settle takes over once it runs out), so the caller must not keep it too.
 */
export class TallyKeptError extends Error {
  constructor(cause: unknown) {
    super(`${cause instanceof Error ? cause.message : String(cause)} (the window keeps the tally)`, {
      cause,
    });
    this.name = 'TallyKeptError';
  }
}

type WindowRow = {
  sent_at: Date | null;
  pending: Tally | null;
  sending: Tally | null;
  sending_at_ms: string | null;
  claimed: boolean;
  claim_live: boolean;
};

/** A due window claimed for its publish: the tally and the moment it is about (its event id). */
interface ClaimedWindow {
  claim: string;
  tally: Tally;
  atMs: number;
}

const WINDOW = `endpoint_id = $1 AND type = $2`;

/**
 * The only owner of `notification_windows`. A due window is claimed (`claim`, with a lease) with
 * the tally it sends, in a short transaction under its row lock; the publish then runs with no
 * transaction open, whose xid would hold the events feed's horizon back for every tenant (README
 * decision 40); the window is marked sent afterwards. While a claim is live, other settles only add
 * to what is pending, so every replica together sends at most one notification per endpoint, type
 * and interval (README decision 49). A failed publish puts its tally back in front of what came
 * meanwhile; a claim its process never finished is taken over once its lease runs out.
 */
@Injectable()
export class NotificationWindows {
  constructor(private readonly dataSource: DataSource) {}

  /**
   * Adds `added` (null: nothing new) to the window and, if it is due, hands everything pending to
   * `publish` with the moment it is about (a claim taken over keeps its first moment, so the same
   * event id). Resolves with what was published, or null (not due, nothing pending, another
   * settle's claim is live, or the endpoint no longer exists). Rejects with a {@link TallyKeptError}
   * once `added` is stored; with any other error, nothing was stored.
   */
  async settle(
    key: WindowKey,
    added: Tally | null,
    nowMs: number,
    intervalMs: number,
    publish: (tally: Tally, atMs: number) => Promise<void>,
  ): Promise<Tally | null> {
    const claimed = await this.claim(key, added, nowMs, intervalMs);
    if (claimed === null) return null;
    try {
      await publish(claimed.tally, claimed.atMs);
    } catch (error) {
      // The publish's failure is what the caller reports; a claim not given back runs out and is
      // taken over, so the tally is sent then.
      await this.giveBack(key, claimed).catch(() => undefined);
      throw new TallyKeptError(error);
    }
    try {
      // Only under this claim: one taken over meanwhile is the taker's to mark.
      await this.dataSource.query(
        `UPDATE notification_windows
            SET sent_at = to_timestamp(sending_at_ms / 1000.0), sending = NULL, sending_at_ms = NULL,
                claim = NULL, claimed_until = NULL, updated_at = now()
          WHERE ${WINDOW} AND claim = $3`,
        [key.endpointId, key.type, claimed.claim],
      );
    } catch (error) {
      throw new TallyKeptError(error);
    }
    return claimed.tally;
  }

  /**
   * Adds `added` to the window and claims it if it is due (or its claim ran out); null when there
   * is nothing to publish. One short transaction under the window's row lock.
   */
  private claim(
    key: WindowKey,
    added: Tally | null,
    nowMs: number,
    intervalMs: number,
  ): Promise<ClaimedWindow | null> {
    return this.dataSource.transaction(async (manager) => {
      // Only for an endpoint that still exists: a deleted one's tally has no one to tell.
      await manager.query(
        `INSERT INTO notification_windows (endpoint_id, type, tenant_id)
         SELECT id, $2, tenant_id FROM endpoints WHERE id = $1
         ON CONFLICT (endpoint_id, type) DO NOTHING`,
        [key.endpointId, key.type],
      );
      const [row] = await manager.query<WindowRow[]>(
        `SELECT sent_at, pending, sending, sending_at_ms::text,
                claim IS NOT NULL AS claimed, claim IS NOT NULL AND claimed_until >= now() AS claim_live
           FROM notification_windows WHERE ${WINDOW} FOR UPDATE`,
        [key.endpointId, key.type],
      );
      if (row === undefined) return null;
      if (row.claimed && row.sending !== null && row.sending_at_ms !== null) {
        // Another settle is publishing: what came meanwhile waits behind it.
        const pending = mergeTallies(row.pending, added);
        if (row.claim_live) {
          if (added !== null) await this.write(manager, key, { pending });
          return null;
        }
        // Its process died (or is past its lease): the same notification again, same moment.
        const taken = { claim: randomUUID(), tally: row.sending, atMs: Number(row.sending_at_ms) };
        await this.write(manager, key, { pending, claimed: taken });
        return taken;
      }
      const window = { sentAtMs: row.sent_at?.getTime() ?? null, pending: row.pending };
      const decision = decideWindow(window, added, nowMs, intervalMs);
      if (decision.send === null) {
        if (added !== null) await this.write(manager, key, { pending: decision.next.pending });
        return null;
      }
      const claimed = { claim: randomUUID(), tally: decision.send, atMs: nowMs };
      await this.write(manager, key, { pending: null, claimed });
      return claimed;
    });
  }

  /** Ends a claim whose publish failed: its tally goes back in front of what came meanwhile. */
  private giveBack(key: WindowKey, claimed: ClaimedWindow): Promise<void> {
    return this.dataSource.transaction(async (manager) => {
      const [row] = await manager.query<Array<{ pending: Tally | null }>>(
        `SELECT pending FROM notification_windows WHERE ${WINDOW} AND claim = $3 FOR UPDATE`,
        [key.endpointId, key.type, claimed.claim],
      );
      // Taken over meanwhile: the taker sends the tally.
      if (row === undefined) return;
      await this.write(manager, key, { pending: mergeTallies(claimed.tally, row.pending), claimed: null });
    });
  }

  /** Sets what is pending and, if given, the claim (null: none). */
  private async write(
    manager: EntityManager,
    key: WindowKey,
    change: { pending: Tally | null; claimed?: ClaimedWindow | null },
  ): Promise<void> {
    const pending = change.pending === null ? null : JSON.stringify(change.pending);
    if (change.claimed === undefined) {
      await manager.query(
        `UPDATE notification_windows SET pending = $3::jsonb, updated_at = now() WHERE ${WINDOW}`,
        [key.endpointId, key.type, pending],
      );
      return;
    }
    const claimed = change.claimed;
    await manager.query(
      `UPDATE notification_windows
          SET pending = $3::jsonb, sending = $4::jsonb, sending_at_ms = $5::bigint, claim = $6::uuid,
              claimed_until = CASE WHEN $6::uuid IS NULL THEN NULL
                                   ELSE now() + $7::bigint * interval '1 millisecond' END,
              updated_at = now()
        WHERE ${WINDOW}`,
      [
        key.endpointId,
        key.type,
        pending,
        claimed === null ? null : JSON.stringify(claimed.tally),
        claimed?.atMs ?? null,
        claimed?.claim ?? null,
        WINDOW_CLAIM_LEASE_MS,
      ],
    );
  }

  /**
   * Windows whose pending tally may go out now (never sent, or its interval has passed since the
   * last one, and no live claim), never-sent ones first, then the longest waiting; and claims whose
   * lease ran out (sent again). Never-sent and sent windows are two branches, each reading at most
   * `limit` rows of `notification_windows_pending`: one `sent_at IS NULL OR sent_at <= …` ordered
   * NULLS FIRST, an order that index (NULLS LAST) cannot give, read and sorted every due window on
   * each flush (80,000 due of 100,000 pending: 1,857 buffers and about 30 ms, now 19 and 1-2 ms).
   */
  async due(nowMs: number, intervalMs: number, limit: number): Promise<WindowKey[]> {
    const rows = await this.dataSource.query<{ endpoint_id: string; tenant_id: string; type: TalliedType }[]>(
      `SELECT endpoint_id, tenant_id, type FROM (
         (SELECT endpoint_id, tenant_id, type, sent_at FROM notification_windows
           WHERE pending IS NOT NULL AND sent_at IS NULL AND (claim IS NULL OR claimed_until < now())
           LIMIT $2)
         UNION
         (SELECT endpoint_id, tenant_id, type, sent_at FROM notification_windows
           WHERE pending IS NOT NULL AND sent_at <= to_timestamp($1::bigint / 1000.0)
             AND (claim IS NULL OR claimed_until < now())
           ORDER BY sent_at LIMIT $2)
         UNION
         (SELECT endpoint_id, tenant_id, type, sent_at FROM notification_windows
           WHERE claim IS NOT NULL AND claimed_until < now() ORDER BY claimed_until LIMIT $2)
       ) due
       ORDER BY sent_at NULLS FIRST LIMIT $2`,
      [nowMs - intervalMs, limit],
    );
    return rows.map((row) => ({ endpointId: row.endpoint_id, tenantId: row.tenant_id, type: row.type }));
  }
}
