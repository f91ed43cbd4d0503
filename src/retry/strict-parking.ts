import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import { beforeDeadline, type QueryDeadline } from '../database/query-deadline';
import { decodeTask, type DeliveryTask } from '../domain/delivery-task';
import { blocksToRead, parkingLot } from '../domain/ordering-key';
import { endpointsWithTask } from './held-deliveries';

export type ParkResult = 'parked' | 'is-blocker' | 'not-blocked';

/** A row of the parking lot: its id (for `unpark`), the task, and its bytes as read (MAC and all). */
export interface ParkedDelivery {
  id: string;
  task: DeliveryTask;
  encoded: Buffer;
}

/**
 * The state of strict-ordering endpoints, in PostgreSQL so it holds across restarts, rebalances and
 * instances: which delivery blocks an order key of an endpoint (src/domain/ordering-key.ts; '' is
 * the whole stream), and the deliveries parked behind it, in order. Every change for one key runs
 * under a transaction-scoped advisory lock on (endpoint, key), so a delivery being parked and the
 * block being lifted can never interleave and orphan a parked row. A park that reads several keys'
 * blocks (decision 74) takes their locks in one order, '' first, as no other change takes two.
 */
@Injectable()
export class StrictParking {
  constructor(private readonly dataSource: DataSource) {}

  /**
   * Parks `task` if its endpoint is blocked by another delivery it must wait behind (`parkingLot`):
   * `key` is its lane key, `wholeStream` whether the endpoint runs one delivery at a time (so that
   * key is the whole stream). `encoded`: its bytes as read, MAC and all, so the delivery engine
   * verifies them again when the row comes back through a tier. `deadline`: past it the transaction's
   * connection is destroyed, so it cannot commit once its caller has stopped waiting.
   */
  park(
    task: DeliveryTask,
    key: string,
    encoded: Buffer,
    wholeStream: boolean,
    deadline: QueryDeadline = null,
  ): Promise<ParkResult> {
    const keys = blocksToRead(key, wholeStream, task.orderingKey);
    return this.locked(task.endpointId, keys, deadline, async (manager) => {
      const blocks = await manager.query<
        Array<{ ordering_key: string; delivery_id: string; whole_stream: boolean }>
      >(
        `SELECT ordering_key, delivery_id, whole_stream FROM endpoint_blocks
          WHERE endpoint_id = $1 AND ordering_key = ANY($2)`,
        [task.endpointId, keys],
      );
      if (blocks.some((block) => block.delivery_id === task.deliveryId)) return 'is-blocker';
      const lot = parkingLot(
        key,
        wholeStream,
        task.orderingKey,
        blocks.map((block) => ({ key: block.ordering_key, wholeStream: block.whole_stream })),
      );
      if (lot === null) return 'not-blocked';
      // Parked once whatever arrives twice (a fan-out redone after a crash, a record read again
      // before its offset was committed): a second row outlived the first's promotion, and the
      // recovery then took the promoted blocker for one never handed on and sent a second copy.
      await manager.query(
        `INSERT INTO parked_deliveries (endpoint_id, ordering_key, delivery_id, task)
         SELECT $1, $2, $3, $4
          WHERE NOT EXISTS (SELECT 1 FROM parked_deliveries WHERE endpoint_id = $1 AND delivery_id = $3)`,
        [task.endpointId, lot, task.deliveryId, encoded],
      );
      return 'parked';
    });
  }

  /**
   * Marks `deliveryId` as the delivery every later one of the endpoint's `key` waits behind, made
   * under the whole-stream rule or not (`wholeStream`, kept by the block for as long as it lasts).
   * A delivery that already blocks a key of the endpoint (one promoted from a lot) keeps blocking
   * that key, whatever its lane key is now: a second block would never be lifted.
   */
  async block(endpointId: string, key: string, deliveryId: string, wholeStream: boolean): Promise<void> {
    await this.locked(endpointId, [key], null, async (manager) => {
      // Its own block, if it has one, is refreshed (the conflict below keeps its rule).
      const held = await this.blockedKey(manager, endpointId, deliveryId);
      await manager.query(
        `INSERT INTO endpoint_blocks (endpoint_id, ordering_key, delivery_id, whole_stream) VALUES ($1, $2, $3, $4)
         ON CONFLICT (endpoint_id, ordering_key)
         DO UPDATE SET delivery_id = EXCLUDED.delivery_id, blocked_at = now()`,
        [endpointId, held ?? key, deliveryId, wholeStream],
      );
    });
  }

  /** Whether the delivery blocks a key of its endpoint; the read's connection is destroyed if `deadline` passes first. */
  async isBlocking(endpointId: string, deliveryId: string, deadline: QueryDeadline = null): Promise<boolean> {
    const key = await beforeDeadline(this.dataSource, deadline, (manager) =>
      this.blockedKey(manager, endpointId, deliveryId),
    );
    return key !== null;
  }

  /**
   * The blocker finished (delivered or dead-lettered): returns the oldest parked delivery, which
   * becomes the new blocker and is removed from the parking lot by `unpark` once it is handed on;
   * or lifts the block and returns null when nothing is parked.
   */
  nextParked(endpointId: string, finishedDeliveryId: string): Promise<ParkedDelivery | null> {
    return this.dataSource.transaction(async (manager) => {
      const key = await this.blockedKey(manager, endpointId, finishedDeliveryId);
      if (key === null) return null;
      await lockKey(manager, endpointId, key);
      // Read again under the lock: the block may have moved on since.
      if ((await this.blockedKey(manager, endpointId, finishedDeliveryId)) !== key) return null;
      // Its own parked row, if it was promoted and handed on but not unparked (a crash in between).
      await manager.query(`DELETE FROM parked_deliveries WHERE endpoint_id = $1 AND delivery_id = $2`, [
        endpointId,
        finishedDeliveryId,
      ]);
      const [next] = await manager.query<Array<{ id: string; task: Buffer }>>(
        `SELECT id, task FROM parked_deliveries WHERE endpoint_id = $1 AND ordering_key = $2
         ORDER BY id LIMIT 1`,
        [endpointId, key],
      );
      if (!next) {
        await manager.query(`DELETE FROM endpoint_blocks WHERE endpoint_id = $1 AND ordering_key = $2`, [
          endpointId,
          key,
        ]);
        return null;
      }
      const task = decodeTask(next.task);
      await manager.query(
        `UPDATE endpoint_blocks SET delivery_id = $3, blocked_at = now()
         WHERE endpoint_id = $1 AND ordering_key = $2`,
        [endpointId, key, task.deliveryId],
      );
      return { id: String(next.id), task, encoded: next.task };
    });
  }

  /**
   * Blocks whose blocker was promoted from the parking lot (`nextParked`) and still has its parked
   * row `graceMs` after the promotion: the process handing it on died between the two steps (a
   * SIGKILL while Kafka was down, in the chaos run), so no tier record of it exists and nothing
   * would ever lift the block. Each such block is claimed (its `blocked_at` moved to now, so one
   * replica takes it per grace period) and its blocker returned, to be handed on again and unparked.
   */
  async unreleased(graceMs: number, limit: number): Promise<ParkedDelivery[]> {
    const [rows] = await this.dataSource.query<[Array<{ id: string; task: Buffer }>, number]>(
      `WITH stuck AS (
         SELECT b.endpoint_id, b.ordering_key, p.id, p.task
           FROM endpoint_blocks b
           JOIN parked_deliveries p ON p.endpoint_id = b.endpoint_id AND p.delivery_id = b.delivery_id
          WHERE b.blocked_at < now() - $1 * interval '1 millisecond'
          ORDER BY b.blocked_at
          LIMIT $2
            FOR UPDATE OF b SKIP LOCKED)
       UPDATE endpoint_blocks b SET blocked_at = now()
         FROM stuck
        WHERE b.endpoint_id = stuck.endpoint_id AND b.ordering_key = stuck.ordering_key
       RETURNING stuck.id, stuck.task`,
      [graceMs, limit],
    );
    return rows.map((row) => ({ id: String(row.id), task: decodeTask(row.task), encoded: row.task }));
  }

  /**
   * Deliveries parked behind endpoints that are no longer `strict` (switched to `none` while blocked)
   * or no longer exist: nothing would ever lift their blocks, since a delivery of a `none` endpoint
   * never hands on and one of a deleted endpoint is never made. Lifts those blocks and returns up to
   * `limit` of the parked deliveries, oldest first, to be handed on as ordinary deliveries (a deleted
   * endpoint's are then dropped and counted as `endpoint_deleted`, as its held ones are) and then
   * unparked. An endpoint made `strict` again waits for them first (EndpointsService).
   */
  async parkedOfUnordered(limit: number): Promise<ParkedDelivery[]> {
    await this.dataSource.query(
      `DELETE FROM endpoint_blocks b
        WHERE NOT EXISTS (SELECT 1 FROM endpoints e WHERE e.id = b.endpoint_id AND e.ordering = 'strict')`,
    );
    const rows = await this.dataSource.query<Array<{ id: string; task: Buffer }>>(
      `SELECT p.id, p.task FROM parked_deliveries p LEFT JOIN endpoints e ON e.id = p.endpoint_id
        WHERE e.id IS NULL OR e.ordering <> 'strict'
        ORDER BY p.id LIMIT $1`,
      [limit],
    );
    return rows.map((row) => ({ id: String(row.id), task: decodeTask(row.task), encoded: row.task }));
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

  /** The key `deliveryId` blocks on its endpoint, or null when it blocks none. */
  private async blockedKey(
    manager: EntityManager,
    endpointId: string,
    deliveryId: string,
  ): Promise<string | null> {
    const [row] = await manager.query<Array<{ ordering_key: string }>>(
      `SELECT ordering_key FROM endpoint_blocks WHERE endpoint_id = $1 AND delivery_id = $2`,
      [endpointId, deliveryId],
    );
    return row?.ordering_key ?? null;
  }

  /** Runs `work` in a transaction holding the locks of `keys`, taken in one order ('' first) everywhere. */
  private locked<T>(
    endpointId: string,
    keys: string[],
    deadline: QueryDeadline,
    work: (manager: EntityManager) => Promise<T>,
  ): Promise<T> {
    return beforeDeadline(this.dataSource, deadline, (connection) =>
      connection.transaction(async (manager) => {
        for (const key of [...keys].sort()) await lockKey(manager, endpointId, key);
        return work(manager);
      }),
    );
  }
}

/** The whole stream ('') locks on the endpoint id alone, as before keys existed; a uuid is fixed-length, so '/' cannot collide. */
async function lockKey(manager: EntityManager, endpointId: string, key: string): Promise<void> {
  const name = key === '' ? endpointId : `${endpointId}/${key}`;
  await manager.query(`SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, [name]);
}
