import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import { decodeTask, type DeliveryTask } from '../domain/delivery-task';
import { endpointsWithTask } from './held-deliveries';

export type ParkResult = 'parked' | 'is-blocker' | 'not-blocked';

/**
 * The state of strict-ordering endpoints, in PostgreSQL so it holds across restarts, rebalances and
 * instances: which delivery blocks an endpoint, and the deliveries parked behind it, in order.
 * Every change for one endpoint runs under a transaction-scoped advisory lock on that endpoint, so
 * a delivery being parked and the block being lifted can never interleave and orphan a parked row.
 */
@Injectable()
export class StrictParking {
  constructor(private readonly dataSource: DataSource) {}

  /**
   * Parks `task` if its endpoint is blocked by another delivery. `encoded`: its bytes as read, MAC
   * and all, so the delivery engine verifies them again when the row comes back through a tier.
   */
  park(task: DeliveryTask, encoded: Buffer): Promise<ParkResult> {
    return this.locked(task.endpointId, async (manager) => {
      const [block] = await manager.query<Array<{ delivery_id: string }>>(
        `SELECT delivery_id FROM endpoint_blocks WHERE endpoint_id = $1`,
        [task.endpointId],
      );
      if (!block) return 'not-blocked';
      if (block.delivery_id === task.deliveryId) return 'is-blocker';
      await manager.query(
        `INSERT INTO parked_deliveries (endpoint_id, delivery_id, task) VALUES ($1, $2, $3)`,
        [task.endpointId, task.deliveryId, encoded],
      );
      return 'parked';
    });
  }

  /** Marks `deliveryId` as the delivery every later one of the endpoint waits behind. */
  async block(endpointId: string, deliveryId: string): Promise<void> {
    await this.locked(endpointId, (manager) =>
      manager.query(
        `INSERT INTO endpoint_blocks (endpoint_id, delivery_id) VALUES ($1, $2)
         ON CONFLICT (endpoint_id) DO UPDATE SET delivery_id = EXCLUDED.delivery_id, blocked_at = now()`,
        [endpointId, deliveryId],
      ),
    );
  }

  async blocker(endpointId: string): Promise<string | null> {
    const [row] = await this.dataSource.query<Array<{ delivery_id: string }>>(
      `SELECT delivery_id FROM endpoint_blocks WHERE endpoint_id = $1`,
      [endpointId],
    );
    return row?.delivery_id ?? null;
  }

  /**
   * The blocker finished (delivered or dead-lettered): returns the oldest parked delivery, which
   * becomes the new blocker and is removed from the parking lot by `unpark` once it is handed on;
   * or lifts the block and returns null when nothing is parked.
   */
  nextParked(
    endpointId: string,
    finishedDeliveryId: string,
  ): Promise<{ id: string; task: DeliveryTask; encoded: Buffer } | null> {
    return this.locked(endpointId, async (manager) => {
      const [block] = await manager.query<Array<{ delivery_id: string }>>(
        `SELECT delivery_id FROM endpoint_blocks WHERE endpoint_id = $1`,
        [endpointId],
      );
      if (!block || block.delivery_id !== finishedDeliveryId) return null;
      const [next] = await manager.query<Array<{ id: string; task: Buffer }>>(
        `SELECT id, task FROM parked_deliveries WHERE endpoint_id = $1 ORDER BY id LIMIT 1`,
        [endpointId],
      );
      if (!next) {
        await manager.query(`DELETE FROM endpoint_blocks WHERE endpoint_id = $1`, [endpointId]);
        return null;
      }
      const task = decodeTask(next.task);
      await manager.query(
        `UPDATE endpoint_blocks SET delivery_id = $2, blocked_at = now() WHERE endpoint_id = $1`,
        [endpointId, task.deliveryId],
      );
      return { id: String(next.id), task, encoded: next.task };
    });
  }

  async unpark(id: string): Promise<void> {
    await this.dataSource.query(`DELETE FROM parked_deliveries WHERE id = $1`, [id]);
  }

  /** Which of `endpointIds` have a delivery of event `eventId` parked (`GET /v1/events/:id`). */
  endpointsParking(endpointIds: string[], eventId: string): Promise<Set<string>> {
    return endpointsWithTask(this.dataSource, 'parked_deliveries', endpointIds, eventId);
  }

  async parkedCount(endpointId?: string): Promise<number> {
    const [row] = await this.dataSource.query<Array<{ count: string }>>(
      endpointId
        ? `SELECT count(*) FROM parked_deliveries WHERE endpoint_id = $1`
        : `SELECT count(*) FROM parked_deliveries`,
      endpointId ? [endpointId] : [],
    );
    return Number(row.count);
  }

  private locked<T>(endpointId: string, work: (manager: EntityManager) => Promise<T>): Promise<T> {
    return this.dataSource.transaction(async (manager) => {
      await manager.query(`SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, [endpointId]);
      return work(manager);
    });
  }
}
